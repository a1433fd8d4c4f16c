"""bench serve --endpoint against a misbehaving server (tests/fault_server.py): each fault gives a row whose status,
counts, error classes and exit code say what happened, within a generous time bound; no measured request is
dropped. No vllm needed.

The rule (bench/serve/verdict.py): failed requests other than cancelled ones above --max-failure-rate (default
0.01) of those sent make the level `failed`, exit 3. Requests 0 and 1 are the warm-up (the server numbers
requests in the order they arrive).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from fault_server import FaultServer, every

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = ["--model", "tiny-qwen2", "--input-len", "16", "--output-len", "8"]
CLASSES = ("errors_http", "errors_connection", "errors_timeout", "errors_stream", "cancelled")
BOUND_S = 60  # generous: each run below takes a few seconds; the bound catches a hang, not a slow machine


def serve(tmp_path, server, *args):
    out = tmp_path / "serve.csv"
    t = time.monotonic()
    code = main(["serve", *WORKLOAD, "--endpoint", server.url, "--out", str(out), *args])
    elapsed = time.monotonic() - t
    rows = pd.read_csv(out) if out.exists() else None
    return code, rows, elapsed, out


def record_of(out: Path, run_id: str) -> dict:
    return json.loads((out.with_suffix("") / f"{run_id}.json").read_text())


def classes(row) -> dict:
    return {c: int(row[c]) for c in CLASSES}


def no_errors(**some) -> dict:
    return {**dict.fromkeys(CLASSES, 0), **some}


def test_500s_at_a_rate_fail_the_level(tmp_path, capsys):
    with FaultServer(every(3, "500")) as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "12")
    assert "conc. 2: failed 8 ok / 4 failed (4 http), 0 not sent: failure rate 33.3%" in capsys.readouterr().out
    row = rows.iloc[0]
    # 12 measured requests, every third a 500: 4 failed, 4 / 12 = 0.333 > 0.01
    assert code == 3 and row["status"] == "failed" and elapsed < BOUND_S
    assert row["completed"] == 8 and row["failed"] == 4 and classes(row) == no_errors(errors_http=4)
    assert row["failure_rate"] == pytest.approx(4 / 12) and row["max_failure_rate"] == 0.01
    assert row["error"].startswith("failure rate 33.3% > --max-failure-rate 0.01: 4 of 12 requests sent failed "
                                   "(4 http; most often: HTTP 500 Internal Server Error: internal error (4))")
    assert row["output_tokens"] == 8 * 8  # figures over the completed requests only
    assert len(record_of(out, row["run_id"])["requests"]) == 12


def test_a_failure_rate_within_the_rule_is_ok_and_warned(tmp_path, capsys):
    with FaultServer(every(3, "500")) as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "12",
                                         "--max-failure-rate", "0.34")
    row = rows.iloc[0]
    assert code == 0 and row["status"] == "ok" and row["errors_http"] == 4 and row["max_failure_rate"] == 0.34
    assert "4 of 12 requests sent failed (4 http" in capsys.readouterr().out


def test_429s_say_the_level_was_rate_limited_and_record_retry_after(tmp_path):
    with FaultServer(every(2, "429"), retry_after_s=7) as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "12")
    row = rows.iloc[0]
    # every second measured request: 6 of 12 answered 429
    assert code == 3 and row["status"] == "failed" and elapsed < BOUND_S
    assert row["rate_limited"] == 6 and classes(row) == no_errors(errors_http=6) and row["completed"] == 6
    assert row["error"].startswith("rate-limited: 6 of 12 requests answered HTTP 429, Retry-After up to 7 s "
                                   "(recorded, not waited for); failure rate 50%")
    limited = [r for r in record_of(out, row["run_id"])["requests"] if r["http_status"] == 429]
    assert [r["retry_after_s"] for r in limited] == [7.0] * 6
    assert elapsed < 7 * 6  # recorded, never waited for


def test_streams_dropped_midway_are_connection_failures(tmp_path):
    with FaultServer(every(4, "drop")) as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "12")
    row = rows.iloc[0]
    assert code == 3 and row["status"] == "failed" and elapsed < BOUND_S
    assert row["completed"] == 9 and classes(row) == no_errors(errors_connection=3)
    failed = [r for r in record_of(out, row["run_id"])["requests"] if not r["success"]]
    assert all(r["error_class"] == "connection" and r["http_status"] == 200 for r in failed)


def test_a_stream_that_stalls_after_its_first_token_fails_by_the_stall_timeout(tmp_path):
    with FaultServer(lambda i: "stall" if i == 3 else "ok") as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "8",
                                         "--stall-timeout", "1")
    row = rows.iloc[0]
    assert code == 3 and row["status"] == "failed" and elapsed < BOUND_S
    assert row["completed"] == 7 and classes(row) == no_errors(errors_timeout=1)
    stalled = [r for r in record_of(out, row["run_id"])["requests"] if not r["success"]]
    assert stalled[0]["error"] == "no byte for 1 s after 1 chunk (--stall-timeout)"
    assert stalled[0]["end_s"] - stalled[0]["start_s"] >= 1.0  # the stall timeout, not sooner


def test_malformed_sse_is_a_stream_failure(tmp_path):
    with FaultServer(lambda i: "malformed" if i in (4, 5) else "ok") as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "8")
    row = rows.iloc[0]
    assert code == 3 and row["status"] == "failed" and row["completed"] == 6 and elapsed < BOUND_S
    assert classes(row) == no_errors(errors_stream=2) and "malformed stream chunk" in row["error"]


@pytest.mark.parametrize("fault,reason", [
    ("wrongusage", "11 tokens reported, more than max_tokens 8"),
    ("negusage", "a negative count (-8)"),
    ("decusage", "a decreasing count (6 after 8)"),
    ("10xusage", "80 tokens reported, more than max_tokens 8"),
    ("inflated", "8 tokens reported, more than 2x the 2 streamed"),
])
def test_usage_that_cannot_be_right_is_flagged_and_the_streamed_count_used(tmp_path, capsys, fault, reason):
    with FaultServer(lambda i: fault if i >= 2 else "ok") as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "6")
    row = rows.iloc[0]
    # not a failure: the timings stand, the tokens are those streamed (inflated: 2 of the 8 asked, then stop)
    streamed = 2 if fault == "inflated" else 8
    assert code == 0 and row["status"] == "ok" and elapsed < BOUND_S
    assert row["usage_mismatch"] == 6 and classes(row) == no_errors()
    assert row["output_tokens"] == 6 * streamed
    requests = record_of(out, row["run_id"])["requests"]
    assert {r["usage_mismatch"] for r in requests} == {reason}
    assert all(r["output_tokens_source"] == "chunks" and sum(r["chunk_tokens"]) == streamed for r in requests)
    assert f"6 of 6 completed requests: the server's usage.completion_tokens cannot be right (first: {reason})" \
        in capsys.readouterr().out


def test_no_usage_counts_the_deltas_and_says_so(tmp_path, capsys):
    with FaultServer(lambda i: "nousage") as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "4")
    row = rows.iloc[0]
    assert code == 0 and row["status"] == "ok" and row["output_tokens"] == 4 * 8 and row["usage_mismatch"] == 0
    assert classes(row) == no_errors() and elapsed < BOUND_S
    assert "4 completed requests had no usage.completion_tokens" in capsys.readouterr().out


def test_a_server_killed_mid_level_fails_it_and_the_level_after(tmp_path):
    with FaultServer(kill_after=8, token_delay_s=0.01) as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrencies", "2,4", "--num-prompts", "16")
    assert code == 3 and elapsed < BOUND_S
    first, second = rows.iloc[0], rows.iloc[1]
    # requests 2-7 could complete; from request 8 on the server is gone: cut, then connection refused
    assert first["status"] == "failed" and 1 <= first["completed"] <= 6
    assert first["completed"] + first["failed"] + first["unsent"] == 16 and first["unsent"] == 0
    assert first["errors_connection"] == first["failed"] >= 10
    # the next level's warm-up finds nothing: failed at once, nothing measured sent, and the sweep stops there
    assert second["status"] == "failed" and second["unsent"] == 16 and "the warm-up failed" in second["error"]
    assert len(rows) == 2


def test_a_slow_first_byte_is_measured(tmp_path):
    with FaultServer(lambda i: "slowfirst" if i >= 2 else "ok", first_byte_s=1.0) as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrency", "4", "--num-prompts", "4",
                                         "--stall-timeout", "30")
    row = rows.iloc[0]
    assert code == 0 and row["status"] == "ok" and row["completed"] == 4 and elapsed < BOUND_S
    assert row["ttft_p50_ms"] >= 1000  # the first byte came after 1 s


def test_a_failed_warmup_stops_the_level_before_any_measured_request(tmp_path, capsys):
    with FaultServer(lambda i: "500") as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrencies", "1,2", "--num-prompts", "16")
    assert server.arrived == 2  # the two warm-up requests, nothing measured sent
    assert code == 3 and len(rows) == 1 and elapsed < BOUND_S
    row = rows.iloc[0]
    assert row["status"] == "failed" and row["unsent"] == 16 and row["completed"] == 0 and row["failed"] == 0
    assert row["error"] == ("the warm-up failed (2 of 2 warm-up requests failed (2 http; most often: HTTP 500 Internal "
                            "Server Error: internal error (2)), more than --max-failure-rate 0.01); no measured request "
                            "was sent, and the levels after it were not run")
    assert "check --endpoint" not in capsys.readouterr().err
    record = record_of(out, row["run_id"])
    assert record["requests"] == [] and [r["http_status"] for r in record["warmup"]] == [500, 500]


def test_a_rate_limited_warmup_says_so(tmp_path):
    with FaultServer(lambda i: "429", retry_after_s=30) as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--num-prompts", "4")
    row = rows.iloc[0]
    assert code == 3 and row["status"] == "failed" and server.arrived == 2 and elapsed < BOUND_S
    assert row["rate_limited"] == 0 and row["unsent"] == 4  # the warm-up's 429s: no measured request was sent
    assert row["error"].startswith("rate-limited: 2 of 2 requests answered HTTP 429, Retry-After up to 30 s")


def test_a_key_the_endpoint_refuses_is_bad_input(tmp_path, capsys):
    with FaultServer(lambda i: "401") as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--num-prompts", "4")
    err = capsys.readouterr().err
    assert code == 2 and rows is None and not out.exists() and server.arrived == 2 and elapsed < BOUND_S
    assert "answered 2 of 2 warm-up requests with HTTP 401 Unauthorized" in err
    assert "the endpoint refused the key: check --api-key-env" in err and err.count("\n") == 1


def test_the_time_limit_bounds_a_stalled_warmup(tmp_path):
    with FaultServer(lambda i: "stall") as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--num-prompts", "4", "--timeout", "2")
    row = rows.iloc[0]
    # the stall timeout (300 s) never comes: the level's 2 s limit covers the warm-up
    assert code == 3 and row["status"] == "timeout" and row["unsent"] == 4 and elapsed < BOUND_S
    assert row["error"].startswith("the level's time limit of 2 s came during the warm-up (2 of 2 warm-up requests "
                                   "failed (2 cancelled")


def test_a_time_limit_counts_the_requests_never_sent(tmp_path):
    with FaultServer(token_delay_s=0.05) as server:  # 8 tokens: 0.4 s a request
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "20", "--timeout",
                                         "1", "--no-warmup")
    row = rows.iloc[0]
    sent = row["completed"] + row["failed"]
    assert code == 3 and row["status"] == "timeout" and sent + row["unsent"] == 20 and elapsed < BOUND_S
    assert row["cancelled"] == row["failed"] and row["failure_rate"] == 0  # the time limit's doing, not the server's
    assert f"{row['failed']} of {sent} requests sent failed" in row["error"]
    assert row["error"].endswith(f"; {row['unsent']} never sent")


def bench_in_a_process(server, out: Path, extra: list[str]) -> subprocess.Popen:
    args = ["serve", *WORKLOAD, "--endpoint", server.url, "--out", str(out), *extra]
    # Ctrl-C as a terminal sends it, whatever a test runner's worker did with SIGINT (a child inherits SIG_IGN)
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); from bench.cli import main; "
            f"sys.exit(main({args!r}))")
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_level_keeps_what_was_measured(tmp_path, sig):
    out = tmp_path / "serve.csv"
    with FaultServer(token_delay_s=0.05) as server:  # 0.4 s a request
        proc = bench_in_a_process(server, out, ["--concurrency", "2", "--num-prompts", "100"])
        deadline = time.monotonic() + BOUND_S
        while server.completed < 2 + 4 and time.monotonic() < deadline:  # the warm-up, then 4 measured requests
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=BOUND_S)
    assert proc.returncode == 130, err
    row = pd.read_csv(out).iloc[0]
    assert row["status"] == "interrupted" and row["error"] == f"stopped by {signal.Signals(sig).name}"
    assert row["completed"] >= 4 and row["output_tokens"] == 8 * row["completed"] and row["output_tok_s"] > 0
    requests = record_of(out, row["run_id"])["requests"]
    assert sum(r["success"] for r in requests) == row["completed"] and len(requests) == row["completed"] + row["failed"]
    assert all(r["error"] == f"cancelled: stopped by {signal.Signals(sig).name}" for r in requests if not r["success"])
    assert row["unsent"] == 100 - len(requests)


def test_burstiness_inf_sends_at_constant_gaps(tmp_path):
    with FaultServer() as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--request-rate", "20", "--burstiness", "inf",
                                         "--num-prompts", "5")
    row = rows.iloc[0]
    assert code == 0 and row["status"] == "ok" and row["burstiness"] == float("inf")
    starts = sorted(r["start_s"] for r in record_of(out, row["run_id"])["requests"])
    # arrivals at 1/20 s, 2/20 s, ... 5/20 s: gaps of 50 ms, each sent no earlier than its time
    assert all(s >= (i + 1) / 20 - 0.001 for i, s in enumerate(starts))


def test_with_a_local_tokenizer_the_streamed_tokens_are_counted_with_it(tmp_path):
    data = REPO / "tests" / "data" / "workloads"  # a text dataset and its word-level tokenizer: " w<k>" is one token
    with FaultServer(lambda i: "10xusage" if i >= 2 else "ok") as server:
        code, rows, elapsed, out = serve(tmp_path, server, "--concurrency", "2", "--num-prompts", "4",
                                         "--dataset", f"jsonl:{data / 'prompts.jsonl'}", "--dataset-output", "fixed",
                                         "--tokenizer", str(data / "tokenizer"), "--prompt-format", "text")
    row = rows.iloc[0]
    assert code == 0 and row["status"] == "ok" and row["usage_mismatch"] == 4 and elapsed < BOUND_S
    requests = record_of(out, row["run_id"])["requests"]
    assert all(r["output_tokens_source"] == "tokenizer" and r["output_len"] == 8 and r["usage_reported"] == 80
               for r in requests)
    assert row["output_tokens"] == 4 * 8
