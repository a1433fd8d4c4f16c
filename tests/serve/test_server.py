"""The local server's lifecycle without vLLM: tests/fake_vllm_server.py stands in for vLLM's OpenAI
server (same options, /health, a child process like vLLM's engine core). The server must be stopped,
its whole process group, however the sweep ends."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from bench.cli import main
from bench.serve import server as vllm_server
from bench.serve import session as sweep
TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
ARGS = ["serve", "--model", "tiny-qwen2", "--input-len", "16", "--output-len", "8", "--num-prompts", "4"]


@pytest.fixture
def fake_vllm(monkeypatch, tmp_path):
    monkeypatch.setattr(vllm_server, "SERVER_MODULE", "fake_vllm_server")
    monkeypatch.setattr(sweep, "installed_vllm_device", lambda: "cpu")  # the fake stands in for the CPU build
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), str(REPO), os.environ.get("PYTHONPATH", "")]))
    pids = tmp_path / "pids"
    monkeypatch.setenv("FAKE_SERVER_PIDS", str(pids))
    return pids


def server_pids(pids_file: Path) -> list[int]:
    return [int(p) for p in pids_file.read_text().split()]


def all_gone(pids: list[int], wait_s: float = 10.0) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return True
        time.sleep(0.2)
    return False


def test_local_sweep_starts_measures_and_stops_the_server(fake_vllm, tmp_path):
    out = tmp_path / "serve.csv"
    assert main([*ARGS, "--concurrencies", "1,2", "--api-model", "my-name", "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert rows["status"].tolist() == ["ok", "ok"] and rows["completed"].tolist() == [4, 4]
    assert (rows["engine"] == "vllm-server").all() and (rows["device"] == "cpu").all()
    assert (rows["kv_capacity_tokens"] == 1024).all() and rows["endpoint"].isna().all()
    assert rows["engine_start_s"].iloc[0] > 0 and rows["peak_memory_gb"].iloc[0] > 0
    sweep_id = rows["sweep_id"].iloc[0]
    log = tmp_path / "serve" / f"{sweep_id}.log"
    assert log.exists() and "device_config=cpu" in log.read_text()
    record = json.loads((tmp_path / "serve" / f"{rows['run_id'].iloc[0]}.json").read_text())
    cmd = record["server"]["command"]
    assert cmd[1:3] == ["-m", "fake_vllm_server"] and record["log"] == log.name
    for flag in ("--skip-tokenizer-init", "--no-enable-prefix-caching", "--enforce-eager"):
        assert flag in cmd
    assert cmd[cmd.index("--served-model-name") + 1] == "my-name" and cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert (rows["api_model"] == "my-name").all() and (rows["model"] == "tiny-qwen2").all()
    assert all_gone(server_pids(fake_vllm))


def test_the_server_leads_its_own_group_in_benchs_session(fake_vllm, tmp_path, monkeypatch):
    """The server's process group is its own (stop() reaches its children: the test above) and its session is
    bench's: a session of its own would get a CPU share of its own under Linux's autogroup, and on 2 cores its
    streams then came all at once (docs/serve.md, "Streams that come all at once")."""
    where = tmp_path / "session"
    monkeypatch.setenv("FAKE_SERVER_SESSION", str(where))
    assert main([*ARGS, "--concurrency", "1", "--out", str(tmp_path / "serve.csv")]) == 0
    sid, pgid = map(int, where.read_text().split())
    server = server_pids(fake_vllm)[0]
    assert pgid == server and sid == os.getsid(0)
    assert all_gone(server_pids(fake_vllm))


def test_an_in_process_engine_setting_for_offline_runs_does_not_reach_the_server(fake_vllm, tmp_path, monkeypatch):
    """VLLM_ENABLE_V1_MULTIPROCESSING=0 (vLLM's engine core in the caller's process: faster offline start-ups,
    the engine tests set it) makes vLLM's server crash at start-up; bench starts its server without it."""
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    out = tmp_path / "serve.csv"
    assert main([*ARGS, "--out", str(out)]) == 0
    assert pd.read_csv(out)["status"].tolist() == ["ok"]
    assert "VLLM_ENABLE_V1_MULTIPROCESSING" not in vllm_server.VllmServer(lambda port: [], None, 1.0, env={
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0", "PATH": "/bin"}).env
    assert all_gone(server_pids(fake_vllm))


def test_client_error_still_stops_the_server(fake_vllm, tmp_path, monkeypatch):
    def broken(target, plan):
        raise RuntimeError("a bug in the client")

    monkeypatch.setattr(sweep, "measure_level", broken)
    with pytest.raises(RuntimeError, match="a bug in the client"):
        main([*ARGS, "--out", str(tmp_path / "serve.csv")])
    assert all_gone(server_pids(fake_vllm))


def test_ctrl_c_stops_the_server(fake_vllm, tmp_path, monkeypatch, capsys):
    def interrupted(target, plan):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "measure_level", interrupted)
    out = tmp_path / "serve.csv"
    assert main([*ARGS, "--concurrencies", "1,2", "--out", str(out)]) == 130
    assert "interrupted (SIGINT)" in capsys.readouterr().err
    assert all_gone(server_pids(fake_vllm))
    rows = pd.read_csv(out)  # the level stopped is recorded; the level after it never started
    assert rows["status"].tolist() == ["interrupted"] and rows["error"].tolist() == ["stopped by SIGINT"]
    assert rows["concurrency"].tolist() == [1]


def sigterm_serve_after(delay_s: float, pids: Path, out: Path) -> tuple[int, str]:
    """`bench serve` in its own process on the fake server, SIGTERM `delay_s` after the server started."""
    env = dict(os.environ, FAKE_TOKEN_DELAY="1")
    args = [*ARGS, "--num-prompts", "200", "--out", str(out)]
    code = ("import sys, bench.serve.server as v, bench.serve.session as s; v.SERVER_MODULE = 'fake_vllm_server'; "
            f"s.installed_vllm_device = lambda: 'cpu'; from bench.cli import main; sys.exit(main({args!r}))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not pids.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(delay_s)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_sigterm_stops_the_sweep_and_the_server_with_an_interrupted_row_naming_sigterm(fake_vllm, tmp_path):
    """One signals module: SIGTERM in `bench serve` is Interrupted('SIGTERM'), as in bench run and sweep."""
    out = tmp_path / "serve.csv"
    code, err = sigterm_serve_after(3, fake_vllm, out)  # healthy and sending
    assert code == 130 and "interrupted (SIGTERM)" in err, err
    rows = pd.read_csv(out)
    assert rows["status"].tolist() == ["interrupted"] and rows["error"].tolist() == ["stopped by SIGTERM"]
    assert rows["engine"].tolist() == ["vllm-server"] and rows["device"].tolist() == ["cpu"]
    record = json.loads((tmp_path / "serve" / f"{rows['run_id'].iloc[0]}.json").read_text())
    assert record["row"]["status"] == "interrupted" and record["requests"] == []
    sweep_record = json.loads((tmp_path / "serve" / f"{rows['sweep_id'].iloc[0]}.sweep.json").read_text())
    assert [lv["status"] for lv in sweep_record["levels"]] == ["interrupted"]
    assert all_gone(server_pids(fake_vllm))


def test_server_that_exits_gives_failed_rows_with_its_root_cause(fake_vllm, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_SERVER_MODE", "exit")
    out = tmp_path / "serve.csv"
    assert main([*ARGS, "--concurrencies", "1,4", "--out", str(out)]) == 3
    rows = pd.read_csv(out)
    assert rows["status"].tolist() == ["failed", "failed"]
    assert rows["error"].iloc[0].startswith("ValueError: the fake engine cannot start (as asked) (the server exited")
    assert (tmp_path / "serve" / f"{rows['sweep_id'].iloc[0]}.log").exists()
    assert all_gone(server_pids(fake_vllm))


def test_server_not_healthy_by_the_deadline(fake_vllm, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_SERVER_MODE", "hang")
    out = tmp_path / "serve.csv"
    assert main([*ARGS, "--server-timeout", "3", "--out", str(out)]) == 3
    row = pd.read_csv(out).iloc[0]
    assert row["status"] == "timeout" and "not healthy within 3 s" in row["error"]
    assert all_gone(server_pids(fake_vllm))


def test_each_level_samples_the_servers_gpus_over_its_measured_window(fake_vllm, monkeypatch, tmp_path):
    """The GPU build (stood in for), read through tests/fake_nvml.py: a GPU drawing 300 W whose energy counter grows
    at 300 J/s, so each level's energy is 300 W x its measured window (elapsed_s), the counter read at its ends."""
    from bench.serve import energy
    from fake_nvml import FakeGpu, FakeNvml

    monkeypatch.setattr(sweep, "installed_vllm_device", lambda: "cuda")
    monkeypatch.setenv("FAKE_SERVER_DEVICE", "cuda")
    monkeypatch.setattr(energy, "NVML", FakeNvml([FakeGpu(power_w=300.0)]))
    out = tmp_path / "serve.csv"
    assert main([*ARGS, "--concurrencies", "1,2", "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert (rows["device"] == "cuda").all() and (rows["energy_source"] == "nvml-counter").all()
    # rel 1e-3: the counter is read just after each sample's time stamp and counts whole mJ
    for _, r in rows.iterrows():
        assert r["energy_j"] == pytest.approx(300.0 * r["elapsed_s"], rel=1e-3)
        assert r["avg_power_w"] == pytest.approx(300.0, rel=1e-3) and r["energy_coverage"] == 1.0
        # 4 requests x 8 output tokens = 32; x (16 + 8) tokens = 96
        assert r["joules_per_output_token"] == pytest.approx(r["energy_j"] / 32, rel=1e-5)
        assert r["joules_per_total_token"] == pytest.approx(r["energy_j"] / 96, rel=1e-5)
        assert r["gpu_util_pct"] == 90.0


def test_a_cpu_server_says_why_its_energy_columns_are_empty(fake_vllm, tmp_path):
    out = tmp_path / "serve.csv"
    assert main([*ARGS, "--out", str(out)]) == 0
    row = pd.read_csv(out).iloc[0]
    assert pd.isna(row["energy_j"]) and row["energy_note"].startswith("the server runs on the CPU: no GPU to sample")


def test_a_model_the_cpu_build_cannot_run_is_refused_before_the_server_starts(fake_vllm, tmp_path, capsys):
    out = tmp_path / "serve.csv"
    code = main(["serve", "--model", "tiny-deepseek-v32", "--input-len", "16", "--output-len", "8", "--num-prompts",
                 "4", "--concurrency", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and not out.exists() and not fake_vllm.exists()  # no server started
    assert "DeepseekV32ForCausalLM: vLLM's CPU build cannot run it" in err and "--engine sim" in err
