"""The engine boundary: the worker gets a validated RunConfig and the case's requests (built once, by the parent);
one engine table answers every question about an engine by name; no code outside bench/engines compares names."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from bench.cli import main
from bench.config import engines as table
from bench.config.catalog import choose_weights
from bench.config.run import RunConfig, parse, resolve
from bench.engines.base import EngineSpec
from bench.execution import worker
from bench.execution.case import engine_spec, prepare_case
from bench.execution.process import spawn_worker
from bench.workload import source
from bench.workload.source import Workload
from bench.workload.synthetic import Request

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "workloads"

# A plugin engine that reports what the worker handed it.
TYPED_ENGINE = '''
from bench.engines.base import KVCacheInfo
from bench.measure.metrics import RequestResult


class TypedEngine:
    device = "cpu"

    def __init__(self, spec):
        self.spec = spec
        self.timed = []

    def check(self):
        pass

    def start(self):
        pass

    def generate(self, requests):
        self.timed = requests
        return [RequestResult(prompt_len=r.prompt_len, output_len=r.output_len, ttft_s=0.01, tpot_s=0.001,
                              e2e_s=0.1) for r in requests], 0.1

    def kv_cache_info(self):
        return KVCacheInfo()

    def info(self):
        run = self.spec.run
        return {"device": "cpu", "run_type": f"{type(run).__module__}.{type(run).__qualname__}",
                "max_num_seqs": run.max_num_seqs, "workload_type": type(self.spec.workload).__name__,
                "timed_ids": [r.prompt_token_ids for r in self.timed]}

    def stop(self):
        pass
'''


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def plug_in(monkeypatch, tmp_path: Path, name: str, module: str, text: str, cls: str) -> None:
    """A plugin engine in tmp_path, importable here (the parent's checks) and in the worker's process."""
    (tmp_path / f"{module}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), str(REPO),
                                                                   os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv(table.PLUGIN_ENV, f"{name}={module}:{cls}")


# --- the worker gets a RunConfig and the parent's requests ----------------------------------------------------

def test_the_worker_process_gets_a_validated_runconfig_and_the_parents_requests(monkeypatch, tmp_path):
    plug_in(monkeypatch, tmp_path, "typed", "typed_engine", TYPED_ENGINE, "TypedEngine")
    cfg, model = resolve(parse({"model": "tiny-qwen2", "engine": "typed", "num_prompts": 3, "input_len": 8,
                                "output_len": 4, "max_num_seqs": 2}))
    spec = engine_spec(cfg, model, choose_weights(model, "dummy"))
    out = spawn_worker(spec, timeout_s=120, log_path=None)
    assert out["status"] == "ok", out
    info = out["engine_info"]
    assert info["run_type"] == "bench.config.run.RunConfig" and info["max_num_seqs"] == 2
    assert info["workload_type"] == "Workload"
    # the timed requests are the 3 requests of 8 token ids the parent built, id for id
    assert info["timed_ids"] == [r.prompt_token_ids for r in spec.workload.requests]
    assert [len(ids) for ids in info["timed_ids"]] == [8, 8, 8]


def test_the_spec_round_trips_and_a_run_that_is_not_a_runconfig_is_refused():
    cfg, model = resolve(parse({"model": "tiny-qwen2", "engine": "sim", "hardware": "H100-SXM", "num_prompts": 2,
                                "input_len": 8, "output_len": 4}))
    spec = engine_spec(cfg, model, choose_weights(model, "dummy"))
    back = EngineSpec.from_json(spec.to_json())
    assert isinstance(back.run, RunConfig) and back.run == cfg
    assert back.workload == spec.workload and back.model_config == model.config
    assert (back.load_path, back.load_format) == (spec.load_path, spec.load_format)
    text = spec.to_json().replace('"max_num_seqs": null', '"max_num_seqs": null, "max_num_sequences": 4')
    with pytest.raises(ValidationError, match="max_num_sequences"):
        EngineSpec.from_json(text)


def test_a_workload_round_trips_request_for_request():
    work = Workload("trace", [Request([5, 6, 7], 3, arrival_s=0.5), Request([8], 1, text="hi", after=0)],
                    file="t.jsonl", sha256="ab" * 8, skipped=2, notes=["n"])
    assert Workload.from_dict(work.to_dict()) == work
    assert work.max_lengths() == (3, 3)  # the longest prompt (3 ids), the longest output (3)


# --- the workload is built once per case ----------------------------------------------------------------------

def count_builds(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = source.build

    def counted(run, model_config):
        calls.append(run["dataset"].partition(":")[0])
        return real(run, model_config)

    monkeypatch.setattr(source, "build", counted)
    return calls


def test_a_generated_workload_is_built_once_in_the_parent_and_never_in_the_worker(monkeypatch, tmp_path):
    calls = count_builds(monkeypatch)
    cfg, model = resolve(parse({"model": "tiny-qwen2", "engine": "sim", "hardware": "H100-SXM", "num_prompts": 4,
                                "input_len": 16, "output_len": 4, "max_num_seqs": 2}))
    assert calls == []  # resolve checks a generator's lengths by arithmetic
    prep = prepare_case(cfg, model, tmp_path / "r.csv")
    assert calls == ["random"] and prep.workload["num_prompts"] == 4
    monkeypatch.setattr(source, "build", lambda *a: pytest.fail("the worker built the workload again"))
    timed, warmup = worker.case_requests(prep.spec)
    assert timed is prep.spec.workload.requests
    assert [r.prompt_len for r in warmup] == [16, 16]  # min(4 prompts, batch 2) at the median prompt length


def test_a_dataset_file_is_read_once_to_check_it_and_once_for_the_case(monkeypatch, tmp_path):
    calls = count_builds(monkeypatch)
    cfg, model = resolve(parse({"model": "tiny-qwen2", "engine": "sim", "hardware": "H100-SXM", "num_prompts": 3,
                                "dataset": f"sharegpt:{DATA / 'sharegpt.json'}", "tokenizer": str(DATA / "tokenizer")}))
    assert calls == ["sharegpt"]  # resolve: a bad file fails here, before any case starts
    prepare_case(cfg, model, tmp_path / "r.csv")
    assert calls == ["sharegpt", "sharegpt"]


def test_a_bad_dataset_file_fails_before_any_case_starts(capsys, tmp_path):
    bad = tmp_path / "empty.json"
    bad.write_text("[]")
    out = tmp_path / "r.csv"
    code = main(["run", "--model", "tiny-qwen2", "--engine", "sim", "--hardware", "H100-SXM", "--dataset",
                 f"sharegpt:{bad}", "--tokenizer", str(DATA / "tokenizer"), "--out", str(out)])
    assert code == 2 and "no prompts in the file" in one_line(capsys.readouterr().err) and not out.exists()


# --- the engine table -----------------------------------------------------------------------------------------

def test_what_bench_asks_of_an_engine_derives_from_the_table():
    assert RunConfig.model_fields["engine"].description == table.engines_help() == (
        "vllm; sim: the roofline's prediction for --hardware, no GPU needed; hf: transformers generate, static "
        "batches; hf-cb: transformers continuous batching (when the installed transformers has it); see "
        "docs/engines.md")
    assert table.gpu_engines() == ("vllm", "hf", "hf-cb")
    assert [name for name in table.ENGINE_TABLE if table.is_predicted(name)] == ["sim"]
    assert not any(table.is_predicted(n) for n in ("vllm", "hf", "fault-ok", "vllm-server", "", None))
    assert (table.modelled_engine("sim"), table.modelled_engine("hf"), table.modelled_engine(None)) == ("vllm", "hf",
                                                                                                          None)
    assert table.engine_version("sim") == table.SIM_MODEL_VERSION == "roofline-3"
    assert table.engine_version("fault-ok") == "unknown"
    assert table.ENGINE_PACKAGES == {"vllm": "vllm", "hf": "transformers", "hf-cb": "transformers"}


def test_an_engine_entered_without_an_install_hint_is_one_line(capsys, monkeypatch, tmp_path):
    """An engine whose package had no entry in the install hints failed with KeyError."""
    monkeypatch.setitem(table.ENGINE_TABLE, "new", table.EngineEntry("bench.engines.sim:SimEngine", "measured",
                                                                      package="bench_no_such_package"))
    monkeypatch.setitem(table.ENGINES, "new", "bench.engines.sim:SimEngine")
    out = tmp_path / "r.csv"
    code = main(["run", "--model", "tiny-qwen2", "--engine", "new", "--out", str(out)])
    err = one_line(capsys.readouterr().err)
    assert code == 2 and "bench_no_such_package is not installed in this Python" in err
    assert "pip install bench_no_such_package" in err and not out.exists()


def test_a_plugin_that_needs_a_missing_package_is_one_line(capsys, monkeypatch, tmp_path):
    """Its import failed in the worker: a traceback in a failed row."""
    plug_in(monkeypatch, tmp_path, "needy", "needy_engine", "import bench_missing_dependency_xyz  # noqa\n\n\n"
                                                            "class NeedyEngine:\n    pass\n", "NeedyEngine")
    out = tmp_path / "r.csv"
    code = main(["run", "--model", "tiny-qwen2", "--engine", "needy", "--out", str(out)])
    err = one_line(capsys.readouterr().err)
    assert code == 2 and "bench_missing_dependency_xyz is not installed in this Python" in err
    assert "pip install bench_missing_dependency_xyz" in err and not out.exists()


# --- no engine-name checks outside bench/engines --------------------------------------------------------------

def sim_comparisons(text: str) -> list[str]:
    """Comparisons with the literal "sim" (==, !=, in, not in; alone or in a tuple, list or set)."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            literals = [c for o in operands for c in ([o] if isinstance(o, ast.Constant) else
                                                      getattr(o, "elts", []) if isinstance(o, (ast.Tuple, ast.List,
                                                                                               ast.Set)) else [])]
            if any(isinstance(c, ast.Constant) and c.value == "sim" for c in literals):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("startswith", "endswith") and \
                any(isinstance(a, ast.Constant) and a.value == "sim" for a in node.args):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_check_finds_each_form_of_a_sim_comparison():
    code = ('a = r.engine == "sim"\nb = row.get("engine") != "sim"\nc = e in ("sim", "", None)\nd = "sim" in names\n'
            'f = name.startswith("sim")\ng = r.engine == "vllm"\nh = {"engine": "sim"}\n')
    assert [x.split(":")[0] for x in sim_comparisons(code)] == ["line 1", "line 2", "line 3", "line 4", "line 5"]


def test_no_code_outside_the_engines_compares_an_engine_name_with_sim():
    allowed = {REPO / "bench" / "config" / "engines.py"}
    found = [f"{p.relative_to(REPO)} {hit}" for p in sorted((REPO / "bench").rglob("*.py"))
             if "engines" not in p.relative_to(REPO / "bench").parts[:1] and p not in allowed
             for hit in sim_comparisons(p.read_text())]
    assert found == []


def run_key_reads(text: str) -> list[str]:
    """run["x"] and run.get("x") on the case's config (run, self.run, spec.run)."""
    names = {"run", "self.run", "spec.run"}
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) in names and \
                isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and \
                ast.unparse(node.func.value) in names and node.args and isinstance(node.args[0], ast.Constant):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_engines_and_the_worker_read_the_config_by_attribute():
    assert len(run_key_reads('x = self.run["seed"]\ny = spec.run.get("device")\nz = run.seed\n')) == 2
    found = [f"{p.relative_to(REPO)} {hit}" for folder in ("engines", "execution")
             for p in sorted((REPO / "bench" / folder).rglob("*.py")) for hit in run_key_reads(p.read_text())]
    assert found == []
