"""bench serve --endpoint against a small fake OpenAI-compatible server on loopback (tests/fake_openai.py):
errors are counted and the run completes; the API key goes to the endpoint only and is written nowhere.
No vllm needed."""

import json
import math
import secrets
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from fake_openai import FakeOpenAI

WORKLOAD = ["--model", "tiny-qwen2", "--input-len", "16", "--output-len", "8"]


def serve(tmp_path, server, *args):
    out = tmp_path / "serve.csv"
    code = main(["serve", *WORKLOAD, "--endpoint", server.url, "--out", str(out), *args])
    rows = pd.read_csv(out) if out.exists() else None
    return code, out, rows


def record_of(out: Path, run_id: str) -> dict:
    return json.loads((out.with_suffix("") / f"{run_id}.json").read_text())


FAULTS = {3: "429", 4: "500", 5: "drop", 6: "noend"}  # requests 0-1 are the warm-up


def test_errors_are_counted_and_the_run_completes(tmp_path):
    # 4 of 10 fail: within a rule of 50% the level is ok (the default rule, 1%, fails it: test_serve_faults.py)
    with FakeOpenAI(mode=lambda i: FAULTS.get(i, "ok")) as server:
        code, out, rows = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "10", "--max-failure-rate", "0.5")
    assert code == 0 and len(rows) == 1
    row = rows.iloc[0]
    assert row["status"] == "ok" and row["completed"] == 6 and row["failed"] == 4
    assert row["output_tokens"] == 6 * 8 and row["input_tokens"] == 6 * 16  # from the stream's usage
    rec = record_of(out, row["run_id"])
    errors = sorted(r["error"].split(":")[0] for r in rec["requests"] if not r["success"])
    assert errors == ["ClientPayloadError", "HTTP 429 Too Many Requests", "HTTP 500 Internal Server Error",
                      "the stream ended early (no [DONE] or finish_reason) after 4 chunks"]
    assert {r["http_status"] for r in rec["requests"]} == {200, 429, 500}
    assert len(rec["warmup"]) == 2 and all(r["success"] for r in rec["warmup"])
    ok = [r for r in rec["requests"] if r["success"]]
    # per-token ITL: 8 tokens, one gap each after the first delivery (events read together merge into one)
    assert all(r["output_tokens_source"] == "usage" and sum(r["chunk_tokens"]) == 8
               and len(r["itl_s"]) == 8 - r["chunk_tokens"][0] for r in ok)
    assert row["engine"] == "openai-endpoint" and row["endpoint"] == server.url + "/v1/completions"
    assert row["vllm_version"] == "fake-1.0"  # a loopback server's /version


def test_every_request_failing_is_a_failed_row(tmp_path):
    with FakeOpenAI(mode=lambda i: "ok" if i < 2 else "500") as server:
        code, out, rows = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "4")
    assert code == 3
    assert rows.iloc[0]["status"] == "failed" and "HTTP 500" in rows.iloc[0]["error"]


def test_nothing_answers_the_warmup_is_bad_input(tmp_path, capsys):
    # nothing listens: the endpoint given is wrong (a 429 or a 500 at the warm-up is the server's failure instead:
    # a failed row, exit 3, tests/test_serve_faults.py)
    with FakeOpenAI() as server:
        pass
    code, out, rows = serve(tmp_path, server, "--num-prompts", "4")
    err = capsys.readouterr().err
    assert code == 2 and f"nothing answers at {server.url}/v1/completions: 2 of 2 warm-up requests failed" in err
    assert "check --endpoint and that the server is running" in err
    assert err.count("\n") == 1 and not out.exists()


def test_rate_sweep_and_server_metrics(tmp_path):
    with FakeOpenAI(token_delay_s=0.1) as server:  # 0.8 s a request: the 0.5 s /metrics sampler sees it
        code, out, rows = serve(tmp_path, server, "--rates", "40,inf", "--num-prompts", "16", "--burstiness", "0.5",
                                "--slo-ttft-ms", "1000", "--slo-tpot-ms", "1000", "--hardware", "H100-SXM")
    assert code == 0 and list(rows["load_mode"]) == ["rate", "rate"]
    assert rows["request_rate"].iloc[0] == 40 and math.isinf(rows["request_rate"].iloc[1])
    assert list(rows["burstiness"]) == [0.5, 0.5] and rows["completed"].tolist() == [16, 16]
    assert rows["meets_slo"].tolist() == [True, True] and rows["goodput_req_s"].iloc[0] > 0
    assert (rows["cny_per_m_blended"] > 0).all() and (rows["hardware"] == "H100-SXM").all()
    assert rows["sweep_id"].nunique() == 1
    assert rows["mean_concurrency"].iloc[1] > rows["mean_concurrency"].iloc[0]  # all at once vs 40/s
    rec = record_of(out, rows["run_id"].iloc[1])
    assert rec["server_metrics"]["before"]["vllm:num_requests_running"] == 0
    assert rows["server_running_max"].iloc[1] >= 1  # sampled during the level
    assert rec["config"]["request_rates"] == [40.0, "inf"]  # strict JSON: no Infinity
    json.loads((out.with_suffix("") / f"{rows['run_id'].iloc[1]}.json").read_text(), parse_constant=pytest.fail)
    sweep = json.loads((out.with_suffix("") / f"{rows['sweep_id'].iloc[0]}.sweep.json").read_text())
    cheapest = rows.loc[rows["cny_per_m_blended"].idxmin(), "run_id"]
    assert sweep["cheapest_meeting_slo"] == cheapest and len(sweep["levels"]) == 2


def test_chat_api_with_text_prompts_counts_content_chunks_only(tmp_path):
    with FakeOpenAI() as server:
        code, out, rows = serve(tmp_path, server, "--api", "chat", "--no-ignore-eos", "--num-prompts", "3",
                                "--request-rate", "50")
    assert code == 0
    rec = record_of(out, rows["run_id"].iloc[0])
    sent = [s for s in server.seen if s["path"].endswith("/chat/completions")]
    assert all(isinstance(s["body"]["messages"][0]["content"], str) and "ignore_eos" not in s["body"] for s in sent)
    assert len(sent[-1]["body"]["messages"][0]["content"].split()) == 16  # one word per prompt token
    # the opening role-only chunk is not a token: 8 content chunks, a gap per token after the first delivery
    assert all(r["chunks"] == 8 and len(r["itl_s"]) == 8 - r["chunk_tokens"][0] for r in rec["requests"])
    assert rows["input_tokens"].iloc[0] == 3 * 7  # the server's usage.prompt_tokens, not our estimate


def test_time_limit_cuts_the_level(tmp_path):
    with FakeOpenAI(token_delay_s=0.05) as server:  # 8 tokens: 0.4 s a request
        code, out, rows = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "20", "--timeout", "1",
                                "--no-warmup")
    row = rows.iloc[0]
    assert code == 3 and row["status"] == "timeout" and row["unsent"] > 0
    assert 2 <= row["completed"] <= 6 and row["elapsed_s"] == pytest.approx(1.0, abs=0.3)
    rec = record_of(out, row["run_id"])
    assert any(r["error"].startswith("cancelled") for r in rec["requests"])
    assert row["completed"] + row["failed"] + row["unsent"] == 20


def test_api_key_goes_to_the_endpoint_only_and_is_written_nowhere(tmp_path, monkeypatch, capfd):
    key = "sk-bench-" + secrets.token_hex(16)
    monkeypatch.setenv("BENCH_TEST_API_KEY", key)
    # the 500 answer echoes the Authorization header back, as a careless server might
    with FakeOpenAI(mode=lambda i: "500" if i == 4 else "ok") as server:
        code, out, rows = serve(tmp_path, server, "--api-key-env", "BENCH_TEST_API_KEY", "--concurrencies", "1,2",
                                "--num-prompts", "6", "--hardware", "H100-SXM", "--max-failure-rate", "0.5")
    assert code == 0
    for s in server.seen:
        auth = s["headers"].get("Authorization")
        if s["path"].endswith("/completions"):
            assert auth == f"Bearer {key}"
        else:  # /metrics, /version
            assert auth is None
    echoed = [r for r in record_of(out, rows["run_id"].iloc[0])["requests"] if r["http_status"] == 500]
    assert echoed and echoed[0]["error"].endswith("you sent Bearer ***")
    captured = capfd.readouterr()
    assert key not in captured.out and key not in captured.err
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 4  # the CSV, two level JSONs, the sweep JSON (and the lock)
    for p in files:
        assert key.encode() not in p.read_bytes(), p


def test_repeats_interleave_the_levels_one_row_each(tmp_path):
    with FakeOpenAI() as server:
        code, _, rows = serve(tmp_path, server, "--concurrencies", "1,2", "--num-prompts", "4", "--repeats", "2")
    assert code == 0
    # level c1 r0, c2 r0, c1 r1, c2 r1; the repeats of a level share its config_hash
    assert list(zip(rows["concurrency"], rows["repeat_index"])) == [(1, 0), (2, 0), (1, 1), (2, 1)]
    assert rows["config_hash"].iloc[0] == rows["config_hash"].iloc[2] != rows["config_hash"].iloc[1]
    assert rows["ttft_samples"].tolist() == [4, 4, 4, 4] and not rows["ttft_p99_reliable"].any()
