"""Bad input: one line naming the problem and the fix, exit 2, no traceback, results untouched."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.execution import case as runner
from bench.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def kept(tmp_path):
    """A results file with one earlier row that must survive every failure byte for byte."""
    path = tmp_path / "runs.csv"
    from bench.results import store as results
    results.append_row(path, {"schema_version": 1, "run_id": "earlier", "model": "m", "status": "ok"})
    return path, path.read_bytes()


def run_cli(capsys, *args):
    code = main(list(args))
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("args,needle", [
    (["--model", "qwen-7b"], "qwen2.5-7b-instruct?"),
    (["--model", "tiny-qwen2", "--input-len", "2000", "--output-len", "100"], "exceeds max_model_len 2048"),
    (["--model", "tiny-qwen2", "--max-model-len", "99999"], "exceeds the model's max_position_embeddings"),
    (["--model", "tiny-qwen2", "--input-len", "0"], "--input-len: Input should be greater than or equal to 1 (got 0)"),
    (["--model", "tiny-qwen2", "--max-num-seqs", "4,x"], "expected integers"),
    (["--model", "tiny-qwen2", "--kv-cache-dtype", "int4"], "invalid choice"),
    (["--model", "tiny-qwen2", "--engine", "vlm"], "did you mean vllm"),
    (["--model", "tiny-qwen2", "--weights", "/nonexistent/dir"], "not a directory with a config.json"),
])
def test_bad_run_input(capsys, kept, args, needle):
    path, before = kept
    code, err = run_cli(capsys, "run", *args, "--out", str(path))
    assert code == 2
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert path.read_bytes() == before


def test_directory_without_config_json(capsys, kept, tmp_path):
    path, before = kept
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = run_cli(capsys, "run", "--model", str(empty), "--out", str(path))
    assert code == 2 and "has no config.json" in err and path.read_bytes() == before


def test_vllm_not_installed(capsys, kept, monkeypatch):
    path, before = kept
    real = runner.importlib.util.find_spec
    monkeypatch.setattr(runner.importlib.util, "find_spec", lambda n, *a: None if n == "vllm" else real(n, *a))
    code, err = run_cli(capsys, "run", "--model", "tiny-qwen2", "--out", str(path))
    assert code == 2 and "vllm is not installed" in err and "scripts/setup.sh" in err
    assert path.read_bytes() == before


def test_malformed_results_file_is_refused_before_running(capsys, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("not,a,bench\nfile\n")
    code, err = run_cli(capsys, "run", "--model", "tiny-qwen2", "--out", str(path))
    assert code == 2 and "not a bench results CSV" in err
    assert path.read_text() == "not,a,bench\nfile\n"


def test_unknown_subcommand_is_one_line(capsys):
    code, err = run_cli(capsys, "rnu")
    assert code == 2 and "invalid choice" in err and err.count("\n") == 1


def test_models_lists_the_catalog(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "qwen2.5-7b-instruct" in out and "57,344" in out and "tiny-qwen2" not in out


def test_importing_the_cli_and_library_never_imports_vllm_or_torch():
    code = ("import sys, bench.cli, bench.execution.case, bench.execution.worker, bench.engines, bench.results.store, bench.model.modelmath, "
            "bench.measure.telemetry, bench.engines.hf, bench.engines.hf_cb, bench.engines.static_batch; "
            "print(json.dumps([m for m in ('vllm', 'torch', 'transformers') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
