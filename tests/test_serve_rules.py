"""The rules a serving level is judged by, pure: the server's token counts checked against the stream, failures by
class and the failure rate, Retry-After, and the level's status in the stated order. No network."""

import datetime as dt
import json

import pytest

from bench.measure.failures import failure_figures, usage_problem
from bench.measure.streaming import StreamedRequest, compute_serve_metrics
from bench.serve.client import _Stream, retry_after_s
from bench.serve.load import LevelResult
from bench.serve.verdict import level_status


@pytest.mark.parametrize("seen,total,streamed,max_tokens,reason", [
    ([1, 2, 3], 3, 3, 8, ""),  # a running count, each chunk one token
    ([8], 8, 4, 8, ""),  # 8 tokens reported for 4 streamed: exactly 2x, believed
    ([], None, 5, 8, ""),  # no usage: nothing to check
    ([1, 2, -3], -3, 3, 8, "a negative count (-3)"),
    ([1, 3, 2], 2, 3, 8, "a decreasing count (2 after 3)"),
    ([11], 11, 8, 8, "11 tokens reported, more than max_tokens 8"),
    ([80], 80, 8, None, "80 tokens reported, more than 2x the 8 streamed"),  # no max_tokens known: 80 > 2 x 8
    ([17], 17, 8, 64, "17 tokens reported, more than 2x the 8 streamed"),  # 17 > 16
    ([16], 16, 8, 64, ""),  # 16 = 2 x 8: still believed
    ([0], 0, 4, 8, "0 tokens reported, 4 streamed"),
    (["8"], "8", 8, 8, "'8' is not a token count"),
])
def test_usage_problem(seen, total, streamed, max_tokens, reason):
    assert usage_problem(seen, total, streamed, max_tokens) == reason


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


def _req(success=True, cls="", status=200, mismatch="") -> StreamedRequest:
    r = StreamedRequest(prompt_len=4, output_len=8 if success else 0, success=success, error_class=cls,
                        http_status=status, usage_mismatch=mismatch, error="" if success else f"{cls} error")
    if success:
        r.ttft_s, r.e2e_s, r.start_s, r.end_s = 0.1, 0.5, 0.0, 0.5
        r.finish()
    return r


def test_failure_figures_count_each_class_and_leave_cancellations_out_of_the_rate():
    records = ([_req() for _ in range(5)] + [_req(mismatch="a negative count (-8)")]
               + [_req(False, "http", 500), _req(False, "http", 429), _req(False, "http", 429)]
               + [_req(False, "connection", None), _req(False, "timeout"), _req(False, "stream")]
               + [_req(False, "cancelled", None)] * 2)
    f = failure_figures(records)
    assert (f["errors_http"], f["rate_limited"], f["errors_connection"], f["errors_timeout"], f["errors_stream"],
            f["cancelled"], f["usage_mismatch"]) == (3, 2, 1, 1, 1, 2, 1)
    # 14 sent, 2 cancelled: 6 failed of the 12 the server answered -> 0.5
    assert f["failure_rate"] == pytest.approx(6 / 12)
    m = compute_serve_metrics(records, 2.0)
    assert m["failed"] == 8 == sum(m[c] for c in ("errors_http", "errors_connection", "errors_timeout",
                                                  "errors_stream", "cancelled"))


def _level(records, unsent=0, cut=False, warmup=(), warmup_failed=False) -> LevelResult:
    return LevelResult(records=list(records), warmup=list(warmup), duration_s=1.0, unsent=unsent, cut=cut,
                       warmup_failed=warmup_failed)


def _status(res: LevelResult, rule=0.01, cause=None) -> tuple[str, str]:
    return level_status(res, compute_serve_metrics(res.records, res.duration_s, unsent=res.unsent), rule, 60.0, cause)


def test_the_status_rule_in_its_order():
    ok = [_req() for _ in range(99)]
    one_of_100 = ok + [_req(False, "http", 500)]  # 1% failed: at the rule, not above it
    assert _status(_level(one_of_100)) == ("ok", "")
    two_of_100 = ok[:98] + [_req(False, "http", 500)] * 2  # 2% > 1%
    assert _status(_level(two_of_100))[0] == "failed"
    assert _status(_level(two_of_100), rule=0.02) == ("ok", "")
    # a time limit with cancellations only: timeout, the cancelled ones are not the server's failures
    cut = _level(ok[:10] + [_req(False, "cancelled", None)] * 2, unsent=5, cut=True)
    status, error = _status(cut)
    assert status == "timeout" and error.endswith("2 of 12 requests sent failed (2 cancelled; most often: cancelled "
                                                  "error (2)); 5 never sent")
    # above the rule and cut: failed comes first
    assert _status(_level(two_of_100, cut=True))[0] == "failed"
    assert _status(_level([_req(False, "stream")] * 3)) == (
        "failed", "no request completed: 3 of 3 requests sent failed (3 stream; most often: stream error (3))")
    warm = _level([], unsent=10, warmup=[_req(False, "http", 500)] * 2, warmup_failed=True)
    assert _status(warm)[1].startswith("the warm-up failed (2 of 2 warm-up requests failed (2 http;")
    # the local server died: its root cause first, whatever else
    assert _status(_level(ok), cause="CUDA out of memory") == ("oom", "CUDA out of memory")
