"""Tier 2: bench serve on vLLM's real OpenAI server (the CPU build is enough), tiny Qwen2 architecture.

Two server starts (about 30 s each on 2 cores, more on a busy machine): `bench serve` starting its own
server for a concurrency run, and one server this module starts (with a tokenizer, tests/interop_model.py) for
`bench serve --endpoint`'s short rate sweep and for `vllm bench serve`, whose result `bench import` reads."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.config import run as runconfig
from bench.config.catalog import choose_weights
from bench.cli import main
from bench.engines.vllm_build import installed_vllm_build
from bench.serve.server import VllmServer, server_args
from interop_model import write_model_dir

pytestmark = pytest.mark.engine

WORKLOAD = ["--model", "tiny-qwen2", "--input-len", "32", "--output-len", "16", "--num-prompts", "8"]
KV_TOKENS_1GIB = 2**30 // 2048  # tiny-qwen2: 2,048 KV bytes per token


def port_closed(base_url: str) -> bool:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) != 0


def check_level(row, concurrency=None):
    assert row["status"] == "ok", row["error"]
    assert row["completed"] == 8 and row["failed"] == 0
    assert row["input_tokens"] == 8 * 32 and row["output_tokens"] == 8 * 16  # ignore_eos: exact lengths
    assert row["server_preemptions"] == 0
    assert 0 < row["ttft_p50_ms"] <= row["ttft_p90_ms"] <= row["ttft_p99_ms"]
    if row["tpot_unmeasured"] < row["completed"]:  # on a loaded machine a whole stream may come in one read
        assert 0 < row["tpot_p50_ms"] <= row["tpot_p99_ms"] and row["itl_p99_ms"] > 0
    else:  # then it has no TPOT, never a TPOT of 0
        assert pd.isna(row["tpot_p50_ms"]) and pd.isna(row["itl_p50_ms"]) and row["tokens_per_chunk_max"] == 16
    assert 1 <= row["tokens_per_chunk_mean"] <= row["tokens_per_chunk_max"] <= 16
    assert row["e2e_p50_ms"] >= row["ttft_p50_ms"]  # equal when most streams came at once
    assert row["output_tok_s"] == pytest.approx(128 / row["elapsed_s"], rel=1e-3)
    assert row["vllm_version"] and row["engine_version"] == row["vllm_version"]


def test_local_server_concurrency_run(tmp_path, capsys):
    out = tmp_path / "serve.csv"
    code = main(["serve", *WORKLOAD, "--concurrencies", "1,4", "--cpu-kv-cache-gb", "1", "--max-model-len", "256",
                 "--hardware", "cpu-server", "--slo-ttft-ms", "5000", "--slo-tpot-ms", "1000", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    rows = pd.read_csv(out)
    assert rows["concurrency"].tolist() == [1, 4]
    for _, row in rows.iterrows():
        check_level(row)
        assert row["device"] == "cpu" and row["engine"] == "vllm-server" and row["weights"] == "dummy"
        # bench started the server: what else the machine ran over the level is read (bench.measure.hostload)
        assert 0 <= row["host_other_cpu_pct"] <= 100 and 0 <= row["host_steal_pct"] <= 100
        assert row["kv_capacity_tokens"] == KV_TOKENS_1GIB and row["kv_bytes_per_token_analytic"] == 2048
        # the SLO is generous: every request with a TPOT meets it; one whose tokens all came at once (a busy
        # machine makes vLLM's server merge its outputs) has none and cannot count as good
        assert row["slo_attainment"] == pytest.approx((8 - row["tpot_unmeasured"]) / 8)
        assert row["meets_slo"] == (row["tpot_unmeasured"] == 0) and row["cny_per_m_total"] > 0
        if row["tpot_unmeasured"] < 8:  # the TPOT split prices input and output apart
            assert row["cny_per_m_blended"] > 0
        else:  # no request's decode was timed (every stream came in one read): no split, so no blended price
            assert pd.isna(row["cny_per_m_blended"])
    assert rows["mean_concurrency"].iloc[1] > rows["mean_concurrency"].iloc[0]
    records = [json.loads((tmp_path / "serve" / f"{r}.json").read_text()) for r in rows["run_id"]]
    for rec in records:
        assert len(rec["requests"]) == 8 and len(rec["warmup"]) == 2
        for r in rec["requests"]:  # a busy server may put several tokens in one chunk: usage has the count
            assert r["output_len"] == 16 and r["output_tokens_source"] == "usage"
            assert 1 <= r["chunks"] <= 16 and sum(r["chunk_tokens"]) == 16
            assert len(r["itl_s"]) == 16 - r["chunk_tokens"][0]  # per token, after the first delivery
            assert sum(r["itl_s"]) == pytest.approx(r["e2e_s"] - r["ttft_s"])
        # the server's own counters agree with the client (warm-up excluded)
        assert rec["server_metrics"]["server_generation_tokens"] == 8 * 16
        assert rec["server_metrics"]["server_prompt_tokens"] == 8 * 32
    assert "conc. 1" in printed
    assert "cheapest level meeting the SLO" in printed or rows["tpot_unmeasured"].sum() > 0
    log = tmp_path / "serve" / f"{rows['sweep_id'].iloc[0]}.log"
    assert log.exists() and "--no-enable-prefix-caching" in " ".join(records[0]["server"]["command"])
    assert port_closed(records[0]["server"]["base_url"])  # stopped


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One vLLM server for the module, tiny-qwen2 with dummy weights and a tokenizer of its vocabulary (so that
    `vllm bench serve`, which sends text, runs against it too); stopped, and its port closed, at the end."""
    tmp = tmp_path_factory.mktemp("server")
    cfg, model = runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "max_model_len": 256,
                                                    "cpu_kv_cache_gb": 1}))
    choice = choose_weights(model, "dummy")
    device = installed_vllm_build()[0] or "cpu"
    _, tokenizer = write_model_dir(tmp / "tiny")

    def args(port):
        return [*server_args(cfg, choice.load_path, choice.load_format, "tiny-qwen2", device, port,
                             token_prompts=False), "--tokenizer", str(tokenizer)]

    with VllmServer(args, tmp / "server.log", start_timeout_s=900) as running:
        running.tokenizer = tokenizer
        yield running
    assert port_closed(running.base_url)


def test_endpoint_mode_rate_sweep_against_a_running_server(tmp_path, server):
    out = tmp_path / "serve.csv"
    code = main(["serve", *WORKLOAD, "--endpoint", server.base_url, "--rates", "4,inf", "--out", str(out)])
    assert code == 0
    rows = pd.read_csv(out)
    assert rows["request_rate"].iloc[0] == 4 and rows["request_rate"].iloc[1] == float("inf")
    for _, row in rows.iterrows():
        check_level(row)
        assert row["engine"] == "openai-endpoint" and row["api_model"] == "tiny-qwen2"
        assert row["endpoint"] == server.base_url + "/v1/completions"
        assert row["server_kv_cache_usage_max"] >= 0  # a loopback server's /metrics is scraped
        # a server bench did not start is "elsewhere": the host columns are not read, never 0
        assert pd.isna(row["host_other_cpu_pct"]) and pd.isna(row["host_steal_pct"])
    rec = json.loads((tmp_path / "serve" / f"{rows['run_id'].iloc[1]}.json").read_text())
    assert rec["server_metrics"]["server_generation_tokens"] == 8 * 16


def test_vllm_bench_serve_result_is_imported_and_recomputed(tmp_path, server, capsys):
    """`vllm bench serve --save-result --save-detailed` (vLLM's own client) against the same server, then `bench
    import`: its per-request arrays recomputed by bench agree with vLLM's summary where the definitions are the
    same, and the file prices."""
    subprocess.run([sys.executable, str(Path(__file__).resolve().parents[2] / "scripts" / "vllm_bench.py"), "serve",
                    "--backend", "vllm", "--base-url", server.base_url, "--model", "tiny-qwen2", "--tokenizer",
                    str(server.tokenizer), "--dataset-name", "random", "--random-input-len", "32",
                    "--random-output-len", "16", "--num-prompts", "8", "--max-concurrency", "4", "--ignore-eos",
                    "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,90,99",
                    "--save-result", "--save-detailed", "--result-dir", str(tmp_path), "--result-filename",
                    "vllm.json"], check=True, capture_output=True, timeout=600)
    doc = json.loads((tmp_path / "vllm.json").read_text())
    out = tmp_path / "imported.csv"
    assert main(["import", str(tmp_path / "vllm.json"), "--out", str(out), "--hardware", "cpu-server"]) == 0
    row = pd.read_csv(out).iloc[0]
    assert row["source_format"] == "vllm-bench-serve" and row["recomputed_from"] == 8
    assert row["completed"] == doc["completed"] == 8 and row["output_tokens"] == doc["total_output_tokens"] == 8 * 16
    assert row["model"] == "tiny-qwen2" and row["concurrency"] == 4 and row["given_columns"] == "hardware"
    for ours, theirs in (("ttft_p50_ms", "p50_ttft_ms"), ("ttft_p99_ms", "p99_ttft_ms"), ("tpot_mean_ms",
                         "mean_tpot_ms"), ("e2e_p99_ms", "p99_e2el_ms"), ("output_tok_s", "output_throughput")):
        assert row[ours] == pytest.approx(doc[theirs], rel=1e-6), ours
    capsys.readouterr()
    assert main(["cost", str(tmp_path / "vllm.json"), "--hardware", "cpu-server"]) == 0
    assert "measured by vllm bench serve" in capsys.readouterr().out
