"""A case's requests are built once, by the parent (bench/execution/case.py's engine_spec), and handed to the
worker; a --dataset file is read once more before any case starts, so a bad file fails first."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main
from bench.config.run import parse, resolve
from bench.execution import worker
from bench.execution.case import prepare_case
from bench.workload import source

DATA = Path(__file__).resolve().parents[1] / "data" / "workloads"


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
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no prompts in the file" in err and not out.exists()


# --- a predicted case runs in the calling process (worker.runs_here) ---------------------------------------------

def sim_case(tmp_path, **kw):
    cfg, model = resolve(parse({"model": "tiny-qwen2", "engine": "sim", "hardware": "H100-SXM", "num_prompts": 4,
                                "input_len": 16, "output_len": 4, "max_num_seqs": 2, **kw}))
    return prepare_case(cfg, model, tmp_path / "r.csv")


def test_a_predicted_case_runs_here_and_gives_what_its_own_worker_process_gives(monkeypatch, tmp_path):
    """The sim is arithmetic: the same spec gives the same figures in a worker process (as every case ran before)
    and in the calling process, where no process is started."""
    from bench.execution import case
    from bench.execution.process import spawn_worker

    prep = sim_case(tmp_path)
    apart = spawn_worker(prep.spec, 600, tmp_path / "worker.log")
    monkeypatch.setattr(case, "spawn_worker", lambda *a, **k: pytest.fail("a predicted case started a process"))
    here = case.execute(prep.spec, 600, tmp_path / "here.log").out
    assert here["status"] == apart["status"] == "ok"
    for key in ("metrics", "kv", "engine_info", "peak_memory_bytes", "peak_memory_source", "requests",
                "engine_version", "gpu_env"):
        assert here[key] == apart[key], key
    assert here["metrics"]["output_tokens"] == 4 * 4
    assert not (tmp_path / "here.log").exists()  # nothing ran that writes an engine log


def test_only_a_predicted_case_in_the_main_thread_runs_here(tmp_path):
    import threading

    prep = sim_case(tmp_path)
    in_thread: list[bool] = []
    t = threading.Thread(target=lambda: in_thread.append(worker.runs_here(prep.spec)))
    t.start()
    t.join()
    assert worker.runs_here(prep.spec) and in_thread == [False]  # no timer outside the main thread: a process
    import dataclasses

    for engine in ("vllm", "hf", "fault-die"):  # measured, and a plugin bench does not know: a process each
        other = dataclasses.replace(prep.spec, run=prep.spec.run.model_copy(update={"engine": engine}))
        assert not worker.runs_here(other), engine


def test_a_predicted_case_past_its_timeout_is_a_timeout_and_the_timer_is_put_back(monkeypatch, tmp_path):
    import signal
    import time

    from bench.engines.sim import SimEngine
    from bench.execution import case

    prep = sim_case(tmp_path)
    monkeypatch.setattr(SimEngine, "generate", lambda self, requests: time.sleep(60))
    before = signal.getsignal(signal.SIGALRM)
    t0 = time.monotonic()
    out = case.execute(prep.spec, 0.5, None).out
    assert out == {"status": "timeout", "error": "case exceeded its timeout of 0.5 s"}
    assert time.monotonic() - t0 < 30  # the timer stopped it, not the 60 s sleep's end
    assert signal.getsignal(signal.SIGALRM) is before and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_predicted_case_that_raises_is_a_failure_as_data(monkeypatch, tmp_path):
    from bench.core.errors import BenchError
    from bench.engines.sim import SimEngine
    from bench.execution import case

    prep = sim_case(tmp_path)

    def refuse(self):
        raise BenchError("no such card here")

    monkeypatch.setattr(SimEngine, "check", refuse)
    out = case.execute(prep.spec, 600, None).out
    assert out["status"] == "bad_input" and out["error"] == "no such card here" and "Traceback" in out["traceback"]
    assert out["engine_version"] and "worker_started_at" in out
