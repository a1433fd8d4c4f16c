"""bench.measure.failures, pure: the server's token counts checked against the stream, failures by class and
the failure rate (hand-computed)."""

import pytest

from bench.measure.failures import failure_figures, usage_problem
from bench.measure.streaming import compute_serve_metrics
from serve_records import request as _req


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
