"""Tokens counted per token, not per chunk: deliveries of several tokens, per-token ITL, and a request whose tokens
all arrived at once never passing as TPOT 0; the server's usage checked against the stream; Retry-After. Pure: no
network."""

import datetime as dt
import json

import pytest

from bench.measure.streaming import (Slo, StreamedRequest, coalescing_warning, compute_serve_metrics, deliveries,
                                     itl_per_token_s)
from bench.serve.client import Target, _Stream, retry_after_s
from bench.serve.security import parse_endpoint


def test_events_read_together_merge_and_unknown_counts_share_the_usage_total():
    # three events without counts, the first two in one read; usage says 6 tokens -> 2 each
    assert deliveries([(0.1, None), (0.1, None), (0.3, None)], 6) == [(0.1, 4), (0.3, 2)]
    # 7 tokens over 3 uncounted events: 7 = 3 x 2 + 1, the earliest gets the extra one
    assert deliveries([(0.1, None), (0.2, None), (0.3, None)], 7) == [(0.1, 3), (0.2, 2), (0.3, 2)]
    # counted events keep their count; without a total an uncounted event is one token
    assert deliveries([(0.1, 1), (0.2, None), (0.3, 4)], None) == [(0.1, 1), (0.2, 1), (0.3, 4)]
    # a usage total below the chunk count (odd server): at least one token per chunk
    assert deliveries([(0.1, None), (0.2, None)], 1) == [(0.1, 1), (0.2, 1)]


def test_itl_is_per_token():
    # 0.10 s: 1 token; 0.14 s: 2 tokens (40 ms -> 2 x 20 ms); 0.20 s: 3 tokens (60 ms -> 3 x 20 ms)
    gaps = itl_per_token_s([(0.10, 1), (0.14, 2), (0.20, 3)])
    assert gaps == pytest.approx([0.02] * 5)
    assert sum(gaps) == pytest.approx(0.20 - 0.10)  # sum(ITL) = E2E - TTFT
    # the extra tokens of the first delivery have no gap: 4 tokens at 0.1 s, 2 at 0.3 s -> 2 x 100 ms
    assert itl_per_token_s([(0.1, 4), (0.3, 2)]) == pytest.approx([0.1, 0.1])
    assert itl_per_token_s([(0.1, 6)]) == []


def _chunk(text_tokens: int | None, cumulative: int | None = None, finish: str | None = None) -> str:
    d: dict = {"choices": [{"index": 0, "text": "x", "finish_reason": finish}]}
    if cumulative is not None:
        d["usage"] = {"prompt_tokens": 5, "completion_tokens": cumulative}
    return json.dumps(d)


def _stream() -> tuple[StreamedRequest, _Stream]:
    rec = StreamedRequest(prompt_len=5, output_len=0, output_len_asked=6)
    return rec, _Stream(rec, "completions", sent_at=100.0)


def test_the_servers_running_usage_counts_each_chunk():
    rec, s = _stream()
    s.feed(_chunk(1, cumulative=1), 100.10)  # TTFT 100 ms, 1 token
    s.feed(_chunk(2, cumulative=3), 100.14)  # 2 tokens, 40 ms later
    s.feed(_chunk(3, cumulative=6, finish="length"), 100.20)  # 3 tokens, 60 ms later
    s.feed(json.dumps({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 6}}), 100.21)
    s.feed("[DONE]", 100.21)
    s.settle()
    assert rec.success and rec.output_len == 6 and rec.chunks == 3
    assert rec.chunk_tokens == [1, 2, 3]
    assert rec.itl_s == pytest.approx([0.02] * 5)
    assert rec.ttft_s == pytest.approx(0.10) and rec.e2e_s == pytest.approx(0.20)
    assert rec.tpot_s == pytest.approx(0.10 / 5)  # (E2E - TTFT) / (tokens - 1), vLLM's definition


def test_a_stream_read_all_at_once_has_no_tpot_and_fails_a_tpot_slo():
    rec, s = _stream()
    for k in range(6):  # every event arrives in one read: one arrival time
        s.feed(_chunk(1, finish="length" if k == 5 else None), 100.3)
    s.feed(json.dumps({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 6}}), 100.3)
    s.feed("[DONE]", 100.3)
    s.settle()
    assert rec.success and rec.output_len == 6 and rec.chunk_tokens == [6]
    assert rec.tpot_s is None and rec.tpot_unmeasured and rec.itl_s == []
    m = compute_serve_metrics([rec], duration_s=1.0, slo=Slo(tpot_ms=1000))
    assert m["tpot_p50_ms"] is None and m["tpot_p99_ms"] is None and m["itl_p50_ms"] is None  # never 0
    assert m["tpot_unmeasured"] == 1 and m["tokens_per_chunk_max"] == 6 and m["tokens_per_chunk_mean"] == 6.0
    assert m["goodput_req_s"] == 0.0 and m["meets_slo"] is False
    assert "1 of 1 requests got all their output tokens at once" in coalescing_warning(m)
    # a TTFT-only SLO does not need the TPOT
    assert compute_serve_metrics([rec], duration_s=1.0, slo=Slo(ttft_ms=1000))["goodput_req_s"] == 1.0


def test_level_chunk_figures_by_hand():
    a, s = _stream()
    for t, cum in ((100.1, 1), (100.2, 2), (100.3, 4), (100.4, 6)):
        s.feed(_chunk(1, cumulative=cum, finish="length" if cum == 6 else None), t)
    s.feed("[DONE]", 100.4)
    s.settle()
    b, s = _stream()
    s.feed(_chunk(1, cumulative=2), 100.1)
    s.feed(_chunk(1, cumulative=6, finish="length"), 100.5)
    s.feed("[DONE]", 100.5)
    s.settle()
    # a: deliveries 1, 1, 2, 2 tokens; b: 2, 4 -> 12 tokens over 6 deliveries, the largest 4
    m = compute_serve_metrics([a, b], duration_s=1.0)
    assert m["tokens_per_chunk_max"] == 4 and m["tokens_per_chunk_mean"] == pytest.approx(12 / 6)
    assert m["tpot_unmeasured"] == 0 and coalescing_warning(m) is None
    # ITL per token. a: +100 ms with 1 token, +100 ms with 2 (2 x 50), +100 ms with 2 (2 x 50)
    assert a.itl_s == pytest.approx([0.1, 0.05, 0.05, 0.05, 0.05])
    assert b.itl_s == pytest.approx([0.1] * 4)  # 400 ms over 4 tokens
    assert m["itl_mean_ms"] == pytest.approx((100 + 4 * 50 + 4 * 100) / 9)


def test_vllm_targets_ask_for_a_running_count_and_vendors_do_not():
    ep = parse_endpoint("http://127.0.0.1:8000", "completions")
    assert Target(ep, "m").body([1, 2], 4)["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert Target(ep, "m", ignore_eos=False).body([1, 2], 4)["stream_options"] == {"include_usage": True}


def test_cached_prompt_tokens_from_each_vendors_usage():
    from bench.serve.client import cached_prompt_tokens

    assert cached_prompt_tokens({"prompt_tokens": 90, "prompt_tokens_details": {"cached_tokens": 64}}) == 64  # OpenAI
    assert cached_prompt_tokens({"prompt_cache_hit_tokens": 32, "prompt_cache_miss_tokens": 8}) == 32  # DeepSeek
    assert cached_prompt_tokens({"prompt_tokens": 9}) is None


def test_prefix_cache_figures_prefer_the_requests_own_counts():
    from bench.serve.prometheus import prefix_cache_columns

    a, b = StreamedRequest(prompt_len=100, output_len=2, success=True, cached_tokens=64), \
        StreamedRequest(prompt_len=60, output_len=2, success=True, cached_tokens=0)
    for r in (a, b):
        r.ttft_s, r.e2e_s = 0.1, 0.2
        r.finish()
    m = compute_serve_metrics([a, b], duration_s=1.0)
    # 64 of 160 prompt tokens cached: 0.4
    assert m["cached_prompt_tokens"] == 64 and m["prefix_cache_hit_rate"] == pytest.approx(0.4)
    server = {"server_prefix_cache_hits": 512.0, "server_prefix_cache_queries": 2048.0}
    assert prefix_cache_columns(m, server) == {"cached_prompt_tokens": 64, "prefix_cache_hit_rate": pytest.approx(0.4)}
    # without per-request counts: the server's counters, 512 / 2048 = 0.25
    none = {"cached_prompt_tokens": None, "prefix_cache_hit_rate": None}
    assert prefix_cache_columns(none, server) == {"cached_prompt_tokens": 512, "prefix_cache_hit_rate": 0.25}
    assert prefix_cache_columns(none, {}) == none


# --- the server's usage checked against the stream, with the local tokenizer; Retry-After

def _chat(text: str, usage: int | None = None, finish: str | None = None) -> str:
    d: dict = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
    if usage is not None:
        d["usage"] = {"prompt_tokens": 5, "completion_tokens": usage}
    return json.dumps(d)


def test_the_local_tokenizer_counts_each_delta_and_replaces_a_usage_that_cannot_be_right():
    words = lambda text: len(text.split())  # noqa: E731 - a word-level tokenizer
    rec = StreamedRequest(prompt_len=5, output_len=0, output_len_asked=64)
    s = _Stream(rec, "chat", sent_at=100.0, count_tokens=words)
    s.feed(_chat("one two"), 100.1)  # 2 tokens
    s.feed(_chat("three four five", finish="stop"), 100.2)  # 3 tokens
    s.feed(json.dumps({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 11}}), 100.2)
    s.feed("[DONE]", 100.2)
    s.settle()
    # 11 reported > 2 x the 5 the tokenizer counted in the deltas: the 5 are used, delivered as 2 then 3
    assert rec.usage_mismatch == "11 tokens reported, more than 2x the 5 streamed" and rec.usage_reported == 11
    assert (rec.output_len, rec.output_tokens_source, rec.chunk_tokens) == (5, "tokenizer", [2, 3])
    assert rec.itl_s == pytest.approx([0.1 / 3] * 3)  # 3 tokens 100 ms after the first delivery


def test_the_local_tokenizer_confirms_a_usage_that_can_be_right():
    rec = StreamedRequest(prompt_len=5, output_len=0, output_len_asked=64)
    s = _Stream(rec, "chat", sent_at=100.0, count_tokens=lambda text: len(text.split()))
    s.feed(_chat("one two"), 100.1)
    s.feed(_chat("three", finish="stop"), 100.2)
    s.feed(json.dumps({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 4}}), 100.2)
    s.feed("[DONE]", 100.2)
    s.settle()
    assert rec.usage_mismatch == "" and (rec.output_len, rec.output_tokens_source) == (4, "usage")


def test_a_final_count_the_running_count_never_showed_is_flagged():
    # vLLM's running usage says 1 token a chunk; the final usage then claims 8 for the 2 chunks streamed
    rec = StreamedRequest(prompt_len=5, output_len=0, output_len_asked=8)
    s = _Stream(rec, "completions", sent_at=0.0)
    for k, t in ((1, 0.1), (2, 0.2)):
        s.feed(json.dumps({"choices": [{"text": "x", "finish_reason": "stop" if k == 2 else None}],
                           "usage": {"prompt_tokens": 5, "completion_tokens": k}}), t)
    s.feed(json.dumps({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 8}}), 0.2)
    s.feed("[DONE]", 0.2)
    s.settle()
    assert rec.usage_mismatch == "8 tokens reported, more than 2x the 2 streamed" and rec.output_len == 2


@pytest.mark.parametrize("value,seconds", [("5", 5.0), ("0", 0.0), ("1.5", 1.5), ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
                                           ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0), ("soon", None), ("", None),
                                           (None, None), ("-3", None)])
def test_retry_after(value, seconds):
    now = dt.datetime(2015, 10, 21, 7, 28, 0, tzinfo=dt.timezone.utc)
    assert retry_after_s(value, now) == seconds
