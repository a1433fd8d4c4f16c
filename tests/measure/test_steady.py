"""Throughput over a serving level's steady state (bench.measure.steady), hand-computed."""

from __future__ import annotations

import pytest

from bench.measure.steady import steady_figures, steady_window_s, token_times_s
from bench.measure.streaming import StreamedRequest, compute_serve_metrics


def req(start, ttft, chunks, itl, end, prompt, success=True):
    return StreamedRequest(prompt_len=prompt, output_len=sum(chunks), ttft_s=ttft, success=success, start_s=start,
                           end_s=end, itl_s=list(itl), chunk_tokens=list(chunks))


# Two streams (concurrency 2): each sends its next request when the previous one ends.
LEVEL = [
    req(0.0, 0.5, [1, 1, 1, 1], [0.5, 0.5, 0.5], 2.0, 10),  # tokens at 0.5, 1.0, 1.5, 2.0
    req(0.0, 1.0, [2, 1, 1], [1.0, 1.0], 3.0, 20),  # 2 tokens at 1.0 (first delivery), then 2.0, 3.0
    req(2.0, 0.5, [1, 1, 1], [0.5, 0.5], 3.5, 30),  # sent when the first ended: tokens at 2.5, 3.0, 3.5
    req(3.0, 0.5, [1, 1], [0.5], 4.0, 40),  # sent when the second ended: tokens at 3.5, 4.0
]


def test_token_times_start_at_the_first_delivery():
    assert token_times_s(LEVEL[1]) == pytest.approx([1.0, 1.0, 2.0, 3.0])


def test_the_window_runs_from_the_first_completion_to_the_last_send():
    # ramp-up [0, 2.0]: the first request ends at 2.0; drain [3.0, 4.0]: the last one is sent at 3.0
    assert steady_window_s(LEVEL) == (2.0, 3.0)
    f = steady_figures(LEVEL)
    # output tokens arriving in [2, 3]: the first's 2.0, the second's 2.0 and 3.0, the third's 2.5 and 3.0 = 5
    # over 1 s; prompts whose first token came in it: the third's (2.5) 30 tokens -> (5 + 30) / 1 = 35 tok/s;
    # requests ending in it: the first (2.0) and the second (3.0) -> 2 req/s
    assert f == pytest.approx({"steady_start_s": 2.0, "steady_end_s": 3.0, "steady_output_tok_s": 5.0,
                               "steady_total_tok_s": 35.0, "steady_requests_per_s": 2.0})
    # the whole level, by comparison: 13 output tokens over 4 s = 3.25 tok/s
    m = compute_serve_metrics(LEVEL, 4.0)
    assert m["output_tok_s"] == pytest.approx(13 / 4) and m["steady_output_tok_s"] == pytest.approx(5.0)


def test_no_steady_state_when_everything_is_sent_at_once():
    both = [req(0.0, 0.5, [1, 1], [0.5], 1.0, 10), req(0.0, 0.5, [1, 1], [0.5], 1.2, 10)]
    # first completion 1.0, last send 0.0: no window, the figures stay empty
    assert steady_figures(both) == {"steady_start_s": 1.0, "steady_end_s": None, "steady_output_tok_s": None,
                                    "steady_total_tok_s": None, "steady_requests_per_s": None}


def test_a_failed_request_does_not_end_the_ramp_up():
    failed = req(0.0, None, [], [], 0.1, 10, success=False)
    assert steady_window_s([failed, *LEVEL]) == (2.0, 3.0)
    assert steady_window_s([failed]) == (None, None)
