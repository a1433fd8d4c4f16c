"""Injected faults: each failing case is a row and the sweep goes on; signals stop the running case;
`kill -9` of the sweep followed by --resume loses no row and duplicates none; every line parses.

The sweeps run as real `python -m bench sweep` processes; their cases use the fault engine
(tests/fault_engine.py, plugged in through BENCH_ENGINES): one Python process start per case.
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml

import fault_engine
from bench.results import store as results
from bench.config import sweep
from bench.config.engines import ENGINES

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
BASE = {"model": "tiny-qwen2", "input_len": 16, "output_len": 8, "num_prompts": 4}


def fault_env(tmp_path, **extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), str(REPO), env.get("PYTHONPATH", "")) if p)
    env["BENCH_ENGINES"] = fault_engine.BENCH_ENGINES
    env["BENCH_FAULT_PIDFILE"] = str(tmp_path / "pids")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def write_sweep(tmp_path, grid=None, cases=None, base=None) -> Path:
    doc = {"base": {**BASE, **(base or {})}}
    if grid:
        doc["grid"] = grid
    if cases:
        doc["cases"] = cases
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _sigint_as_a_terminal_sends_it() -> None:
    # a suite started in the background (`pytest ... &`) ignores SIGINT, and a child inherits SIG_IGN: Python then
    # raises no KeyboardInterrupt; the sweep is tested as a user's Ctrl-C reaches it
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(tmp_path, sweep_file, *args, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench", "sweep", str(sweep_file), "--out",
                             str(tmp_path / "runs.csv"), *args], cwd=tmp_path, env=fault_env(tmp_path, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=_sigint_as_a_terminal_sends_it)


def finish(proc, timeout=120) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def run_sweep(tmp_path, sweep_file, *args, **env) -> tuple[int, str]:
    return finish(start(tmp_path, sweep_file, *args, **env))


def rows(tmp_path) -> pd.DataFrame:
    """Every line of the results file parses (pandas raises on a bad line), and as many records as lines hold."""
    path = tmp_path / "runs.csv"
    df = pd.read_csv(path)
    assert len(df) == len(results.read_rows(path))
    return df


def wait_for(predicate, timeout=30.0, what="condition"):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def hang_pids(tmp_path) -> tuple[int, int]:
    """(worker, its grandchild) of a fault-hang case, once it is hanging."""
    def read():
        path = tmp_path / "pids"
        text = path.read_text() if path.exists() else ""
        return tuple(int(x) for x in text.split()) if text.endswith("\n") else None

    return wait_for(read, what="the hanging case to start")


def gone(pid: int, timeout: float = 15.0) -> bool:
    def dead():
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    try:
        return wait_for(dead, timeout, f"process {pid} to end")
    except AssertionError:
        return False


def keys_of(sweep_file) -> list[str]:
    env_before = os.environ.get("BENCH_ENGINES")
    os.environ["BENCH_ENGINES"] = fault_engine.BENCH_ENGINES
    try:
        return [c.key for c in sweep.load_plan(sweep_file).cases]
    finally:
        if env_before is None:
            del os.environ["BENCH_ENGINES"]
        else:
            os.environ["BENCH_ENGINES"] = env_before


def test_each_fault_is_a_row_and_the_sweep_goes_on(tmp_path):
    s = write_sweep(tmp_path, grid={"engine": ["fault-ok", "fault-oom", "fault-die", "fault-reject"]},
                    # the hang must start (process start, imports, the RunConfig validated) before its timeout
                    cases=[{"engine": "fault-hang", "timeout_s": 5}, {"engine": "fault-ok", "seed": 1}])
    code, out = run_sweep(tmp_path, s)
    assert code == 3, out
    df = rows(tmp_path)
    assert list(df.engine) == ["fault-ok", "fault-oom", "fault-die", "fault-reject", "fault-hang", "fault-ok"]
    assert list(df.status) == ["ok", "oom", "failed", "failed", "timeout", "ok"]
    err = list(df.error.fillna(""))
    assert "CUDA out of memory" in err[1]
    assert "killed by signal SIGKILL" in err[2]
    assert "architecture Qwen2ForCausalLM is not supported" in err[3]
    assert "exceeded its timeout of 5 s" in err[4]
    assert list(df.config_hash) == keys_of(s)
    assert df.output_tokens[0] == 4 * 8
    assert set(df.engine_version) == {"unknown"}  # filled in every row, killed and timed-out cases included
    worker, grandchild = hang_pids(tmp_path)
    assert gone(worker) and gone(grandchild)  # the timeout took the engine's whole process group down
    for run_id in df.run_id:
        assert (tmp_path / "runs" / f"{run_id}.json").exists()
    assert "6/6" in out and "ETA" in out and "2 ok, 1 oom, 2 failed, 1 timeout" in out


def test_a_child_killed_by_a_signal_is_a_failed_row(tmp_path):
    s = write_sweep(tmp_path, cases=[{"engine": "fault-hang"}, {"engine": "fault-ok"}])
    proc = start(tmp_path, s)
    worker, grandchild = hang_pids(tmp_path)
    os.kill(worker, signal.SIGKILL)
    code, out = finish(proc)
    assert code == 3, out
    df = rows(tmp_path)
    assert list(df.status) == ["failed", "ok"]
    assert "engine process died (killed by signal SIGKILL (9)) without a result" in df.error[0]
    assert gone(grandchild)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_running_case_marks_it_interrupted_and_exits_130(tmp_path, sig):
    s = write_sweep(tmp_path, cases=[{"engine": "fault-ok"}, {"engine": "fault-hang", "timeout_s": 15},
                                     {"engine": "fault-ok", "seed": 2}])
    proc = start(tmp_path, s)
    worker, grandchild = hang_pids(tmp_path)
    t0 = time.monotonic()
    os.kill(proc.pid, sig)
    code, out = finish(proc)
    assert code == 130, out
    assert time.monotonic() - t0 < 12  # SIGTERM to the engine's group, no wait for the case's timeout
    assert gone(worker) and gone(grandchild)
    df = rows(tmp_path)
    assert list(df.status) == ["ok", "interrupted"]  # the third case never started
    assert df.error[1] == f"stopped by {sig.name}"
    assert "--resume" in out
    code, out = run_sweep(tmp_path, s, "--resume")  # the interrupted case runs again (and times out), then #3
    assert code == 3, out
    df = rows(tmp_path)
    assert list(df.status) == ["ok", "interrupted", "timeout", "ok"]
    assert "1 case(s) already ok" in out


def test_bench_run_stopped_by_sigterm_also_records_the_case_as_interrupted(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "bench", "run", "--model", "tiny-qwen2", "--engine", "fault-hang",
                             "--out", str(tmp_path / "runs.csv")], cwd=tmp_path, env=fault_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    worker, grandchild = hang_pids(tmp_path)
    os.kill(proc.pid, signal.SIGTERM)
    code, out = finish(proc)
    assert code == 130 and "interrupted (SIGTERM)" in out
    assert gone(worker) and gone(grandchild)
    df = rows(tmp_path)
    assert list(df.status) == ["interrupted"] and df.error[0] == "stopped by SIGTERM"


def test_resume_skips_ok_cases_and_reruns_the_others(tmp_path):
    s = write_sweep(tmp_path, grid={"engine": ["fault-ok", "fault-oom"], "max_num_seqs": [1, 2]})
    assert run_sweep(tmp_path, s)[0] == 3
    code, out = run_sweep(tmp_path, s, "--resume")
    assert code == 3
    df = rows(tmp_path)
    assert len(df) == 6 and list(df.status[4:]) == ["oom", "oom"]
    assert (df.status == "ok").sum() == 2 and df[df.status == "ok"].config_hash.is_unique


def test_without_resume_a_rerun_says_that_cases_are_already_done(tmp_path):
    s = write_sweep(tmp_path, cases=[{"engine": "fault-ok"}])
    assert run_sweep(tmp_path, s)[0] == 0
    code, out = run_sweep(tmp_path, s)
    assert code == 0 and "1 of these cases already have ok rows" in out and len(rows(tmp_path)) == 2


def test_kill_9_at_random_moments_then_resume_gives_exactly_one_ok_row_per_case(tmp_path):
    s = write_sweep(tmp_path, grid={"engine": ["fault-ok"], "max_num_seqs": list(range(1, 9))})
    keys = keys_of(s)
    rng = random.Random(5)
    children = []
    count = 0
    for attempt in range(3):
        proc = start(tmp_path, s, *(["--resume"] if attempt else []), BENCH_FAULT_SLEEP_S=0.3)
        path = tmp_path / "runs.csv"  # once this run has added a row, kill it at a random moment
        wait_for(lambda: path.exists() and len(results.read_rows(path)) > count, what="a new row")
        time.sleep(rng.uniform(0.0, 0.5))
        try:
            children += psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            pass
        os.kill(proc.pid, signal.SIGKILL)
        assert finish(proc)[0] == -signal.SIGKILL
        count = len(rows(tmp_path))  # parseable after every kill
    assert 3 <= count < 8  # the kills landed mid-sweep
    for child in children:  # the case the sweep was running when killed stops too (parent-death signal)
        assert gone(child.pid)
    code, out = run_sweep(tmp_path, s, "--resume", BENCH_FAULT_SLEEP_S=0.3)
    assert code == 0, out
    df = rows(tmp_path)
    ok = df[df.status == "ok"]
    assert sorted(ok.config_hash) == sorted(keys)  # every case once: none lost, none duplicated
    assert set(df.status) == {"ok"}  # kill -9 leaves no row at all for the case it stopped
    assert not results.torn_path(tmp_path / "runs.csv").exists()


def test_a_torn_last_row_is_moved_aside_and_its_case_rerun_on_resume(tmp_path):
    s = write_sweep(tmp_path, grid={"engine": ["fault-ok"], "max_num_seqs": [1, 2, 3]})
    assert run_sweep(tmp_path, s)[0] == 0
    path = tmp_path / "runs.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # the last row cut short, as by a crash mid-write
    assert len(results.read_rows(path)) == 2  # bench reads only whole rows
    code, out = run_sweep(tmp_path, s, "--resume")
    assert code == 0, out
    df = pd.read_csv(path)
    assert len(df) == 3 and sorted(df.config_hash) == sorted(keys_of(s))
    assert results.torn_path(path).exists() and "torn last row" in out


@pytest.mark.skipif("sim" not in ENGINES, reason="the sim engine is not in this build")
def test_a_sweep_of_sim_cases(tmp_path):
    s = write_sweep(tmp_path, base={"engine": "sim", "hardware": "H100-SXM", "model": "qwen2.5-7b-instruct",
                                    "input_len": 512, "output_len": 128, "num_prompts": 64},
                    grid={"max_num_seqs": [1, 8, 64]})
    code, out = run_sweep(tmp_path, s)
    assert code == 0, out
    df = rows(tmp_path)
    assert list(df.status) == ["ok"] * 3 and df.output_tok_s.is_monotonic_increasing
    assert run_sweep(tmp_path, s, "--resume")[0] == 0 and len(rows(tmp_path)) == 3


@pytest.mark.engine
def test_an_architecture_vllm_rejects_is_a_failed_row_and_resume_reruns_only_it(tmp_path):
    import json

    weird = tmp_path / "weird"
    weird.mkdir()
    (weird / "config.json").write_text(json.dumps({
        "architectures": ["NopeForCausalLM"], "model_type": "nope", "vocab_size": 100, "num_hidden_layers": 1,
        "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 1,
        "max_position_embeddings": 64}))
    s = write_sweep(tmp_path, base={"engine": "vllm", "cpu_kv_cache_gb": 1, "max_num_seqs": 4, "num_prompts": 4,
                                    "input_len": 16, "output_len": 4},
                    cases=[{"model": str(weird), "input_len": 8}, {"model": "tiny-qwen2"}])
    code, out = finish(start(tmp_path, s), timeout=600)
    assert code == 3, out
    df = rows(tmp_path)
    assert list(df.status) == ["failed", "ok"]
    assert "NopeForCausalLM is not supported by vLLM" in df.error[0]
    code, out = finish(start(tmp_path, s, "--resume"), timeout=600)
    assert code == 3, out
    df = rows(tmp_path)
    assert list(df.status) == ["failed", "ok", "failed"] and (df.status == "ok").sum() == 1
