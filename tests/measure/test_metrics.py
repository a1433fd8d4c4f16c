import pytest

from bench.measure.metrics import RequestResult, compute_metrics, percentile


def test_percentile_interpolates_like_numpy():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 99) == 10
    assert percentile([0, 10], 99) == pytest.approx(9.9)
    assert percentile([3, 1, 2], 0) == 1 and percentile([3, 1, 2], 100) == 3


def test_metrics_by_hand():
    rs = [
        RequestResult(prompt_len=100, output_len=10, ttft_s=0.1, tpot_s=0.02, e2e_s=0.28),
        RequestResult(prompt_len=200, output_len=20, ttft_s=0.3, tpot_s=0.04, e2e_s=1.06),
        RequestResult(prompt_len=50, output_len=0, success=False, error="boom"),
    ]
    m = compute_metrics(rs, elapsed_s=2.0)
    assert (m.num_requests, m.completed, m.failed) == (3, 2, 1)
    assert m.input_tokens == 300 and m.output_tokens == 30
    assert m.requests_per_s == 1.0
    assert m.input_tok_s == 150.0 and m.output_tok_s == 15.0 and m.total_tok_s == 165.0
    assert m.ttft_mean_ms == pytest.approx(200.0)
    assert m.ttft_p50_ms == pytest.approx(200.0)
    assert m.ttft_p99_ms == pytest.approx(100 + 200 * 0.99)
    assert m.tpot_p50_ms == pytest.approx(30.0)
    assert m.e2e_p99_ms == pytest.approx(280 + 780 * 0.99)


def test_missing_timings_stay_empty_not_zero():
    m = compute_metrics([RequestResult(prompt_len=4, output_len=1)], elapsed_s=0.5)
    assert m.ttft_p50_ms is None and m.tpot_p99_ms is None
    assert m.output_tok_s == 2.0


def test_elapsed_must_be_positive():
    with pytest.raises(ValueError):
        compute_metrics([], elapsed_s=0)

