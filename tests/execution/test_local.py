"""Sweep files: expansion, validation of every case before anything runs, resume keys, the shipped sweeps.
Nothing here starts an engine."""

import sys
from pathlib import Path

import pytest
import yaml

from bench.results import store as results

from bench.config import sweep
from bench.cli import main
from bench.config.engines import ENGINES
from bench.execution.local import split_done

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "sweeps").glob("*.yaml"))


def write(tmp_path, doc, name="s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def run_cli(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_grid_expands_to_its_product_in_file_order_then_the_explicit_cases():
    s = sweep.SweepFile(base={"model": "tiny-qwen2", "input_len": 8},
                        grid={"max_num_seqs": [1, 4], "kv_cache_dtype": ["auto", "fp8"]},
                        cases=[{"model": "tiny-glm"}])
    specs = sweep.expand(s)
    assert [s.own for s in specs] == [
        {"max_num_seqs": 1, "kv_cache_dtype": "auto"}, {"max_num_seqs": 1, "kv_cache_dtype": "fp8"},
        {"max_num_seqs": 4, "kv_cache_dtype": "auto"}, {"max_num_seqs": 4, "kv_cache_dtype": "fp8"},
        {"model": "tiny-glm"}]
    assert specs[4].fields == {"model": "tiny-glm", "input_len": 8} and specs[4].origin == "cases[0]"
    assert [s.index for s in specs] == [1, 2, 3, 4, 5]
    assert specs[1].label == "#2 max_num_seqs=1 kv_cache_dtype=fp8"


def test_base_alone_is_one_case():
    specs = sweep.expand(sweep.SweepFile(base={"model": "tiny-qwen2"}))
    assert len(specs) == 1 and specs[0].label == "#1 base"


def test_plan_resolves_every_case_with_a_stable_key():
    s = sweep.SweepFile(base={"model": "TINY-QWEN2", "input_len": 8, "output_len": 4},
                        grid={"max_num_seqs": [1, 2]})
    a, b = sweep.plan(s), sweep.plan(s)
    assert not a.problems and a.total == 2
    assert [c.cfg.model for c in a.cases] == ["tiny-qwen2", "tiny-qwen2"]  # resolved: catalog spelling
    assert a.cases[0].cfg.max_model_len == 2048  # default filled from models.yaml
    assert [c.key for c in a.cases] == [c.key for c in b.cases]
    assert a.cases[0].key != a.cases[1].key


def test_timeout_is_not_part_of_the_key():
    s = sweep.SweepFile(base={"model": "tiny-qwen2", "input_len": 8, "output_len": 4})
    assert sweep.plan(s, {"timeout_s": 5}).cases[0].key == sweep.plan(s).cases[0].key
    assert sweep.plan(s, {"timeout_s": 5}).cases[0].cfg.timeout_s == 5


BAD = """
base: {model: tiny-qwen2, input_len: 128, output_len: 64, num_prompt: 8}
grid:
  max_num_seqs: [1, 0, 4, 4]
  kv_cache_dtype: [auto, int4]
cases:
  - {model: qwen-7b}
  - {input_len: 4000}
  - {hardware: h100x}
  - {engine: vlm}
  - {device: tpu, max_model_len: 99999}
"""


def test_every_problem_is_reported_at_once_with_its_case_and_field(capsys, tmp_path):
    out = tmp_path / "runs.csv"
    code, stdout, err = run_cli(capsys, "sweep", str(write(tmp_path, BAD)), "--out", str(out))
    assert code == 2 and not out.exists() and "Traceback" not in err
    lines = err.strip().splitlines()
    assert "9 problems in 13 cases; nothing was run" in lines[0]
    expected = [
        "base.num_prompt: not a bench run option; did you mean num_prompts?",
        "cases #2, #4, #6, #8 · kv_cache_dtype: Input should be 'auto', 'fp8', 'fp8_e4m3' or 'fp8_e5m2' (got 'int4')",
        "cases #3, #4 · max_num_seqs: Input should be greater than or equal to 1 (got 0)",
        "case #7 (max_num_seqs=4 kv_cache_dtype=auto): the same case as #5",
        "case #9 (model=qwen-7b) · model: unknown model 'qwen-7b'; did you mean ",
        "case #10 (input_len=4000) · input_len: input 4000 + output 64 tokens = 4064 exceeds max_model_len 2048",
        "case #11 (hardware=h100x) · hardware: unknown hardware 'h100x'; did you mean H100-SXM",
        "case #12 (engine=vlm) · engine: unknown engine 'vlm'; did you mean vllm?",
        "case #13 (device=tpu max_model_len=99999) · device: Input should be 'auto', 'cuda' or 'cpu' (got 'tpu')",
    ]
    for want in expected:
        assert any(want in line for line in lines), want
    assert len(lines) == 10  # the head line and one line per problem


@pytest.mark.parametrize("doc,needle", [
    ("bases: {model: tiny-qwen2}\n", "unknown key 'bases'; did you mean base?"),
    ("base: {model: tiny-qwen2}\ngrid: {max_num_seqs: 4}\n", "every grid option takes a list of values"),
    ("base: {model: tiny-qwen2}\ngrid: {max_num_seqs: []}\n", "grid.max_num_seqs: an empty list makes no cases"),
    ("base: {model: tiny-qwen2}\ncases: {model: x}\n", "cases is a list of mappings"),
    ("- 1\n- 2\n", "a sweep file is a mapping with keys base, grid, cases"),
    ("", "empty sweep file"),
    ("base: {model: [\n", "not valid YAML"),
    ("grid: {max_num_seqs: [1, 2]}\n", "all 2 cases · model: missing field"),
])
def test_malformed_sweep_files(capsys, tmp_path, doc, needle):
    code, _, err = run_cli(capsys, "sweep", str(write(tmp_path, doc)), "--out", str(tmp_path / "o.csv"))
    assert code == 2 and needle in err and "Traceback" not in err


def test_missing_sweep_file(capsys, tmp_path):
    code, _, err = run_cli(capsys, "sweep", str(tmp_path / "nope.yaml"))
    assert code == 2 and "file not found" in err


def test_a_foreign_results_file_is_a_problem_before_anything_runs(capsys, tmp_path):
    out = tmp_path / "x.csv"
    out.write_text("a,b\n1,2\n")
    code, _, err = run_cli(capsys, "sweep", str(write(tmp_path, {"base": {"model": "tiny-qwen2"}})), "--out", str(out))
    assert code == 2 and "--out: " in err and "not a bench results CSV" in err
    assert out.read_text() == "a,b\n1,2\n"


def test_missing_engine_package_is_reported_once_for_its_cases(capsys, tmp_path, monkeypatch):
    from bench.execution import case as runner
    real = runner.importlib.util.find_spec
    monkeypatch.setattr(runner.importlib.util, "find_spec", lambda n, *a: None if n == "vllm" else real(n, *a))
    doc = {"base": {"model": "tiny-qwen2", "engine": "vllm"}, "grid": {"max_num_seqs": [1, 2, 3]}}
    code, _, err = run_cli(capsys, "sweep", str(write(tmp_path, doc)), "--out", str(tmp_path / "o.csv"))
    assert code == 2 and err.count("vllm is not installed") == 1 and "all 3 cases · engine" in err


def test_the_file_is_checked_before_the_engine_packages(capsys, tmp_path, monkeypatch):
    """Problems of the file come first, all at once; which packages are needed is known only after."""
    from bench.execution import case as runner
    real = runner.importlib.util.find_spec
    monkeypatch.setattr(runner.importlib.util, "find_spec", lambda n, *a: None if n == "vllm" else real(n, *a))
    doc = {"base": {"model": "tiny-qwen2", "engine": "vllm"}, "grid": {"max_num_seqs": [1, 0]}}
    code, _, err = run_cli(capsys, "sweep", str(write(tmp_path, doc)), "--out", str(tmp_path / "o.csv"))
    assert code == 2 and "1 problem in 2 cases" in err and "max_num_seqs" in err and "vllm" not in err


def test_dry_run_lists_the_plan_and_notes_a_missing_engine_package(capsys, tmp_path, monkeypatch):
    from bench.execution import case as runner
    real = runner.importlib.util.find_spec
    monkeypatch.setattr(runner.importlib.util, "find_spec", lambda n, *a: None if n == "vllm" else real(n, *a))
    doc = {"base": {"model": "tiny-qwen2", "engine": "vllm"}, "grid": {"max_num_seqs": [1, 2]}}
    out = tmp_path / "o.csv"
    code, stdout, err = run_cli(capsys, "sweep", str(write(tmp_path, doc)), "--out", str(out), "--dry-run")
    assert code == 0 and "2 cases" in stdout and stdout.count(" run") >= 2 and not out.exists()
    assert err.startswith("note: without --dry-run this sweep stops before its first case: ")
    assert "1 problem in 2 cases" in err and "all 2 cases · engine: vllm is not installed" in err


@pytest.mark.parametrize("value", ["0", "-3", "x"])
def test_bad_timeout_per_case(capsys, tmp_path, value):
    code, _, err = run_cli(capsys, "sweep", str(write(tmp_path, {"base": {"model": "tiny-qwen2"}})),
                           "--timeout-per-case", value)
    assert code == 2 and "--timeout-per-case" in err


def test_dry_run_lists_the_cases_and_runs_nothing(capsys, tmp_path):
    out = tmp_path / "o.csv"
    doc = {"base": {"model": "tiny-qwen2", "input_len": 8, "output_len": 4}, "grid": {"max_num_seqs": [1, 4, 16]}}
    code, stdout, _ = run_cli(capsys, "sweep", str(write(tmp_path, doc)), "--out", str(out), "--dry-run")
    assert code == 0 and not out.exists()
    assert "3 cases" in stdout and stdout.count(" run") >= 3 and "max_num_seqs=16" in stdout


def test_dry_run_with_resume_marks_the_cases_already_ok(capsys, tmp_path):
    out = tmp_path / "o.csv"
    doc = {"base": {"model": "tiny-qwen2", "input_len": 8, "output_len": 4}, "grid": {"max_num_seqs": [1, 4]}}
    path = write(tmp_path, doc)
    first = sweep.load_plan(path).cases[0]
    results.append_row(out, {"schema_version": 1, "run_id": "a", "config_hash": first.key, "status": "ok"})
    with out.open("a") as f:
        f.write("1,b,")  # a torn row: not read, and a dry run leaves it where it is
    before = out.read_bytes()
    code, stdout, _ = run_cli(capsys, "sweep", str(path), "--out", str(out), "--dry-run", "--resume")
    assert code == 0 and stdout.count("skip (ok in results)") == 1
    assert out.read_bytes() == before


def test_split_done_skips_only_ok_keys():
    class C:
        def __init__(self, key):
            self.key = key

    cases = [C("a"), C("b"), C("c")]
    run, skip = split_done(cases, {"b", "zzz"})
    assert [c.key for c in run] == ["a", "c"] and [c.key for c in skip] == ["b"]


def test_ray_without_the_package_is_one_line(capsys, tmp_path, monkeypatch):
    from bench.execution import ray_cluster as ray_fanout
    real = ray_fanout.importlib.util.find_spec
    monkeypatch.setattr(ray_fanout.importlib.util, "find_spec", lambda n, *a: None if n == "ray" else real(n, *a))
    code, _, err = run_cli(capsys, "sweep", str(write(tmp_path, {"base": {"model": "tiny-qwen2"}})), "--ray")
    assert code == 2 and "--ray needs the ray package" in err and "bench[ray]" in err and err.count("\n") == 1


def test_task_gpus():
    from bench.execution.ray_cluster import relocate, task_gpus

    def cfg(**kw):
        from bench.config.run import RunConfig

        return RunConfig(model="m", **{"tensor_parallel_size": 1, **kw})

    assert task_gpus(cfg(tensor_parallel_size=4), True) == 4
    assert task_gpus(cfg(tensor_parallel_size=2, pipeline_parallel_size=2), True) == 4
    assert task_gpus(cfg(), False) == 0  # auto device on a cluster without GPUs
    assert task_gpus(cfg(device="cpu"), True) == 0
    assert task_gpus(cfg(engine="sim"), True) == 0
    assert task_gpus(cfg(engine="hf"), True) == 1
    assert task_gpus(cfg(tensor_parallel_size=8, distributed_executor_backend="ray"), True) == 0
    assert relocate("/a/bench/model_configs/x", "/a/bench", "/b/bench") == "/b/bench/model_configs/x"
    assert relocate("/elsewhere/x", "/a/bench", "/b/bench") == "/elsewhere/x"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_sweeps_validate(path):
    data = yaml.safe_load(path.read_text())
    if "sim" in str(data) and "sim" not in ENGINES:
        pytest.skip("this sweep uses --engine sim, not in this build")
    plan = sweep.load_plan(path)
    assert plan.cases and len(plan.cases) == plan.total


def test_the_three_shipped_sweeps_exist():
    assert {p.name for p in SHIPPED} >= {"default-cpu.yaml", "default-gpu.yaml", "kv-dtype.yaml"}


def test_sweep_start_imports_no_heavy_package(tmp_path):
    """Validation and --dry-run never import pandas, vllm or torch."""
    import subprocess

    doc = write(tmp_path, {"base": {"model": "tiny-qwen2"}, "grid": {"max_num_seqs": [1, 2]}})
    code = ("import sys; from bench.cli import main; rc = main(['sweep', sys.argv[1], '--dry-run']); "
            "heavy = sorted(m for m in ('pandas', 'vllm', 'torch', 'ray') if m in sys.modules); "
            "print(heavy); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code, str(doc)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_eta_is_the_mean_case_time_times_the_cases_left():
    from bench.display.sweep import eta_s

    assert eta_s(0.0, 0, 5) is None and eta_s(30.0, 0, 5) is None
    assert eta_s(30.0, 2, 5) == 45.0
    assert eta_s(30.0, 5, 5) == 0.0
