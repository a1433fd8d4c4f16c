"""bench.measure.uncertainty: every statistic against values worked out by hand."""

import math

import pytest

from bench.measure import uncertainty as u


def test_min_samples_for_a_reliable_percentile():
    # n * (1 - q) >= 1: one sample expected above the percentile
    assert u.min_samples_reliable(99) == 100
    assert u.min_samples_reliable(95) == 20
    assert u.min_samples_reliable(90) == 10
    assert u.min_samples_reliable(50) == 2
    assert not u.percentile_reliable(99, 99) and u.percentile_reliable(100, 99)
    assert not u.percentile_reliable(71, 99)  # GuideLLM's n = 71: its p99 is the max
    with pytest.raises(ValueError):
        u.min_samples_reliable(100)


def test_p99_upper_bound_rank_exact():
    # n = 100: P(Binom(100, .99) < 100) = 1 - .99^100 = 0.634 < .95 and k = 101 > n: no bound
    assert u.upper_bound_rank(100) is None
    # 1 - .99^n >= .95 first at n = 299 (1 - .99^298 = 0.94996, 1 - .99^299 = 0.95046): k = n, the max
    assert 1 - 0.99 ** 298 < 0.95 <= 1 - 0.99 ** 299
    assert u.upper_bound_rank(298) is None
    assert u.upper_bound_rank(299) == 299
    # n = 1000: with Y = samples above the quantile ~ Binom(1000, .01), P(X < k) = P(Y >= 1001 - k).
    # P(Y <= 4) = sum_{j<=4} C(1000, j) .01^j .99^(1000-j) = 0.02869, P(Y <= 5) = 0.06614, so
    # k = 996: P(Y >= 5) = 0.9713 >= .95, k = 995: P(Y >= 6) = 0.9339 < .95
    def p_at_most(m):
        return sum(math.comb(1000, j) * 0.01 ** j * 0.99 ** (1000 - j) for j in range(m + 1))

    assert p_at_most(4) == pytest.approx(0.028686, abs=1e-5) and p_at_most(5) == pytest.approx(0.066140, abs=1e-5)
    assert u.upper_bound_rank(1000) == 996
    assert u.upper_bound_rank(0) is None


def test_p99_upper_bound_value_is_that_order_statistic():
    values = [float(v) for v in range(1000, 0, -1)]  # 1..1000 in reverse: the k-th smallest is k
    assert u.percentile_upper_bound(values) == 996.0
    assert u.percentile_upper_bound(values[:100]) is None  # 100 samples bound no p99
    # p90 of 30 samples: P(Binom(30, .9) <= 29) = 1 - .9^30 = 0.9576 >= .95 and P(<= 28) = 0.8163: k = 30
    assert u.upper_bound_rank(30, 90) == 30


def test_t_interval_by_hand():
    # [10, 12, 14]: mean 12, s = sqrt((4 + 0 + 4) / 2) = 2, t(.975, 2) = 4.302653,
    # half-width = 4.302653 * 2 / sqrt(3) = 4.968276
    iv = u.t_interval([10, 12, 14])
    assert iv.n == 3 and iv.mean == 12
    assert iv.lo == pytest.approx(12 - 4.968276, abs=1e-5) and iv.hi == pytest.approx(12 + 4.968276, abs=1e-5)
    assert iv.rel_half_width == pytest.approx(4.968276 / 12, abs=1e-6)
    assert iv.median == 12 and iv.iqr == 2  # quartiles 11 and 13 (linear)
    assert not iv.skewed
    assert "3 runs, 95% t" in iv.text()


def test_one_run_has_no_interval():
    iv = u.t_interval([5.0])
    assert iv.lo is None and iv.hi is None and iv.half_width is None
    assert iv.text() == "5 (1 run: no interval)"


def test_skewed_repeats_show_median_and_iqr():
    # [1, 1, 1, 1, 10]: mean 2.8, m2 = 12.96, m3 = 69.984, g1 = 69.984 / 12.96^1.5 = 1.5,
    # bias-corrected G1 = sqrt(5 * 4) / 3 * 1.5 = 2.236 > 1: skewed; median 1, IQR 1 - 1 = 0
    iv = u.t_interval([1, 1, 1, 1, 10])
    assert iv.skewed and iv.median == 1 and iv.iqr == 0
    assert "median 1, IQR 0" in iv.text()


def test_welch_within_noise_and_real_change():
    # [10, 12, 14] vs [11, 13, 15]: t = -1 / sqrt(4/3 + 4/3) = -0.61237, Welch df = 4.
    # Student t with 4 df: F(t) = 1/2 + 3/8 * t / sqrt(1 + t^2/4) * (1 - t^2 / (12 (1 + t^2/4))), p = 2 (1 - F(|t|))
    def p_df4(t):
        f = 0.5 + 3 / 8 * (t / math.sqrt(1 + t * t / 4)) * (1 - t * t / (12 * (1 + t * t / 4)))
        return 2 * (1 - f)

    near = u.difference([10, 12, 14], [11, 13, 15])
    assert not near.real
    assert near.p_value == pytest.approx(p_df4(1 / math.sqrt(8 / 3)), abs=1e-9)  # 0.5734
    assert near.p_value == pytest.approx(0.5734, abs=1e-4)
    assert near.text().startswith("within noise")
    far = u.difference([10, 12, 14], [20, 22, 24])  # intervals 7.03-16.97 and 17.03-26.97: apart
    assert far.real and far.p_value == pytest.approx(p_df4(10 / math.sqrt(8 / 3)), abs=1e-9)  # 0.0036
    assert u.difference([1.0], [2.0, 3.0]).p_value is None


def test_ratio_interval_quadrature():
    # 2.0 +-3% over 1.0 +-4%: r = sqrt(.03^2 + .04^2) = .05 -> 2.0 (1.9-2.1)
    ratio, lo, hi = u.ratio_interval(2.0, 0.03, 1.0, 0.04)
    assert (ratio, lo, hi) == pytest.approx((2.0, 1.9, 2.1))
    assert u.ratio_interval(2.0, None, 1.0, None) is None
    assert u.combined_rel(0.06, None, 0.08) == pytest.approx(0.10)
    assert u.combined_rel(None) is None


def test_run_metrics_carry_sample_counts_reliability_and_the_p99_bound():
    from bench.measure.metrics import RequestResult, compute_metrics

    # 300 requests, TTFT 1..300 ms: 300 >= 100 samples, so the p99 is reliable; its 95% bound is the k-th
    # smallest with k = 300 (P(Binom(300, .99) < 300) = 1 - .99^300 = 0.951 >= .95, while P(Binom(300, .99) < 299)
    # = 1 - .99^300 - 300 x .01 x .99^299 = 0.802 < .95), so 300 ms
    reqs = [RequestResult(prompt_len=4, output_len=1, ttft_s=i / 1000, e2e_s=i / 1000) for i in range(1, 301)]
    m = compute_metrics(reqs, 1.0)
    assert (m.ttft_samples, m.tpot_samples, m.e2e_samples) == (300, 0, 300)
    assert m.ttft_p99_reliable is True and m.e2e_p99_reliable is True and m.tpot_p99_reliable is None
    assert m.ttft_p99_bound_ms == pytest.approx(300.0) and m.tpot_p99_bound_ms is None
    few = compute_metrics(reqs[:71], 1.0)  # GuideLLM's n = 71: flagged, and no bound
    assert few.ttft_samples == 71 and few.ttft_p99_reliable is False and few.ttft_p99_bound_ms is None
