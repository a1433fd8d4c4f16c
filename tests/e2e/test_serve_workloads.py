"""bench serve with workloads and coalesced streams, against the fake OpenAI server (tests/fake_openai.py):
a server that puts several tokens in a chunk, trace replay, a text dataset sent as chat. No vllm needed."""

import json
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from fake_openai import FakeOpenAI

DATA = Path(__file__).resolve().parents[1] / "data" / "workloads"


def serve(tmp_path, server, *args):
    out = tmp_path / "serve.csv"
    code = main(["serve", "--model", "tiny-qwen2", "--endpoint", server.url, "--out", str(out), *args])
    rows = pd.read_csv(out) if out.exists() else None
    return code, out, rows


def records(out: Path, run_id: str) -> list[dict]:
    return json.loads((out.with_suffix("") / f"{run_id}.json").read_text())["requests"]


def test_a_server_that_sends_four_tokens_a_chunk_is_timed_per_token(tmp_path):
    with FakeOpenAI(tokens_per_chunk=4) as server:
        code, out, rows = serve(tmp_path, server, "--input-len", "16", "--output-len", "8", "--num-prompts", "3",
                                "--concurrency", "1")
    assert code == 0
    row = rows.iloc[0]
    # 8 tokens in chunks of 4 (the running usage counts them): reads of 4 or, if both chunks came in one read, 8
    assert row["tokens_per_chunk_max"] in (4, 8) and row["tokens_per_chunk_mean"] >= 4
    for r in records(out, row["run_id"]):
        assert sum(r["chunk_tokens"]) == 8 and all(k % 4 == 0 for k in r["chunk_tokens"])
        assert len(r["itl_s"]) == 8 - r["chunk_tokens"][0]  # the second chunk's 4 tokens: 4 gaps of a quarter
        if len(r["chunk_tokens"]) == 2:
            assert r["itl_s"] == pytest.approx([(r["e2e_s"] - r["ttft_s"]) / 4] * 4)
    sent = [s["body"] for s in server.seen if s["path"] == "/v1/completions"]
    assert all(b["stream_options"] == {"include_usage": True, "continuous_usage_stats": True} for b in sent)


def test_trace_replay_at_the_recorded_times(tmp_path):
    with FakeOpenAI() as server:
        code, out, rows = serve(tmp_path, server, "--dataset", f"trace:{DATA / 'trace.csv'}", "--time-scale", "0.2",
                                "--no-warmup")
    assert code == 0 and len(rows) == 1
    row = rows.iloc[0]
    assert row["load_mode"] == "trace" and pd.isna(row["request_rate"]) and pd.isna(row["concurrency"])
    assert row["dataset"] == "trace" and row["dataset_file"] == "trace.csv" and row["completed"] == 4
    # the 4 requests that fit (one asks for 0 output tokens); the fake's usage counts the ids sent
    assert row["input_tokens"] == 40 + 64 + 32 + 48 and row["output_tokens"] == 8 + 16 + 4 + 12
    assert (row["input_len"], row["output_len"]) == (46, 10)  # the dataset's means
    # recorded arrivals 0, 0.5, 0.5, 3.25 s x 0.2: no request is sent before its time
    starts = [r["start_s"] for r in records(out, row["run_id"])]
    assert all(s >= t - 1e-6 for s, t in zip(starts, [0.0, 0.1, 0.1, 0.65]))


def test_a_text_dataset_goes_out_as_its_own_text(tmp_path):
    with FakeOpenAI() as server:
        code, out, rows = serve(tmp_path, server, "--api", "chat", "--no-ignore-eos", "--num-prompts", "5",
                                "--dataset", f"jsonl:{DATA / 'prompts.jsonl'}", "--tokenizer", str(DATA / "tokenizer"),
                                "--warmup-requests", "0")
    assert code == 0
    sent = {s["body"]["messages"][0]["content"] for s in server.seen if s["path"] == "/v1/chat/completions"}
    lines = [json.loads(x) for x in (DATA / "prompts.jsonl").read_text().splitlines()]
    assert {x["prompt"] for x in lines if "prompt" in x} <= sent and len(sent) == 5
    assert rows.iloc[0]["dataset"] == "jsonl" and rows.iloc[0]["output_tokens"] == 24 + 64 + 16 + 8 + 12


def test_shared_prefix_hits_show_up_from_the_servers_counters(tmp_path):
    # 4 requests of 16 tokens, 2 system prompts of 8: requests 2 and 3 find their first 8 tokens cached.
    # The fake's counters over the level: 64 tokens queried, 8 + 8 hit -> 16 cached, hit rate 16 / 64 = 0.25
    with FakeOpenAI() as server:
        code, out, rows = serve(tmp_path, server, "--dataset", "shared-prefix", "--input-len", "16", "--prefix-len",
                                "8", "--num-prefixes", "2", "--output-len", "4", "--num-prompts", "4",
                                "--concurrency", "1")
    assert code == 0
    row = rows.iloc[0]
    assert row["dataset"] == "shared-prefix" and row["cached_prompt_tokens"] == 16
    assert row["prefix_cache_hit_rate"] == pytest.approx(0.25)
    assert pd.isna(row["prefix_caching"])  # an endpoint's own setting: not known


def test_an_endpoint_without_a_catalog_model_names_it_from_v1_models(tmp_path, capsys):
    out = tmp_path / "serve.csv"
    with FakeOpenAI(models=("served-llm", "other")) as server:
        code = main(["serve", "--endpoint", server.url, "--num-prompts", "3", "--input-len", "12", "--output-len",
                     "4", "--out", str(out)])
        listed = [s for s in server.seen if s["path"] == "/v1/models"]
        sent = [s["body"] for s in server.seen if s["path"] == "/v1/completions"]
    printed = capsys.readouterr().out
    assert code == 0 and len(listed) == 1
    assert "served-llm (from the endpoint's /v1/models)" in printed and "unavailable: token-id prompts" in printed
    assert all(b["model"] == "served-llm" and isinstance(b["prompt"], str) for b in sent)
    assert len(sent[-1]["prompt"].split()) == 12  # text: one word per token asked
    row = pd.read_csv(out).iloc[0]
    assert row["model"] == "served-llm" and row["api_model"] == "served-llm" and row["status"] == "ok"
    assert row["output_tokens"] == 3 * 4 and row["input_tokens"] == 3 * 7  # counted from the fake's usage
    assert pd.isna(row["kv_bytes_per_token_analytic"]) and pd.isna(row["config_sha"])


@pytest.mark.parametrize("args,needle", [
    (["--api-model", "servd-llm"], "did you mean served-llm?"),
    (["--prompt-format", "tokens"], "--prompt-format tokens needs the model's vocabulary"),
])
def test_endpoint_model_bad_input(tmp_path, capsys, args, needle):
    out = tmp_path / "serve.csv"
    with FakeOpenAI(models=("served-llm",)) as server:
        code = main(["serve", "--endpoint", server.url, *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1 and not out.exists()


def test_no_model_and_no_endpoint_is_bad_input(tmp_path, capsys):
    code = main(["serve", "--out", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "--model is required to start a server" in err


@pytest.mark.parametrize("load", [["--concurrency", "4"], ["--request-rate", "inf"]])
def test_a_sessions_next_turn_waits_for_the_previous_reply(tmp_path, load):
    # 2 sessions x 3 turns, turn by turn: requests 2, 3 continue 0, 1 and requests 4, 5 continue 2, 3
    with FakeOpenAI(token_delay_s=0.01) as server:
        code, out, rows = serve(tmp_path, server, "--dataset", "multi-turn", "--turns", "3", "--input-len", "8",
                                "--output-len", "4", "--num-prompts", "6", "--no-warmup", *load)
    assert code == 0 and rows.iloc[0]["completed"] == 6
    recs = {r["index"]: r for r in records(out, rows.iloc[0]["run_id"])}
    for i, prev in ((2, 0), (3, 1), (4, 2), (5, 3)):
        assert recs[i]["start_s"] >= recs[prev]["end_s"]
    # turn t carries the history: t x 8 + (t - 1) x 4 prompt tokens (the fake's usage counts the ids sent)
    assert [recs[i]["prompt_len"] for i in range(6)] == [8, 8, 20, 20, 32, 32]
