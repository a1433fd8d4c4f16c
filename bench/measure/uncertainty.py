"""How sure a figure is: percentiles with their sample counts and bounds, repeats with their intervals.

Pure functions; the statistics come from scipy.stats (a base dependency), not hand-written quantiles.

Percentiles (one run's requests):
- A q-th percentile is *reliable* when n * (1 - q/100) >= 1: at least one sample is expected above it. So p99
  needs 100 samples, p95 20, p90 10. Below that the percentile is the slowest request or an interpolation towards
  it, not a property of the workload (GuideLLM #1163: n = 71 gives p99 = max).
- The upper bound at 95% confidence (MLPerf's early-stopping idea): of n independent samples, the k-th smallest
  lies at or above the true q-quantile exactly when fewer than k samples fall below that quantile, and that count
  is Binomial(n, q). The bound is the k-th order statistic for the smallest k with P(Binom(n, q) < k) >= 0.95;
  when no k <= n qualifies (p99: n < 299, since 1 - 0.99^n < 0.95) there is no bound.

Repeats (one case measured N times):
- mean and the two-sided 95% Student-t interval mean +- t(0.975, N-1) * s / sqrt(N) (scipy.stats.t); one run has
  no interval. Median and interquartile range (numpy's linear percentiles) beside it; a metric is called skewed
  when |sample skewness| > 1 (scipy.stats.skew, bias-corrected) with at least 3 repeats.
- Two cases differ when their intervals do not overlap; otherwise "within noise", with Welch's t-test (unequal
  variances, scipy.stats.ttest_ind) giving 1 - p as the confidence that the means differ.
- A ratio of two figures with intervals: the relative half-widths add in quadrature (first-order delta method on
  log(a/b), errors taken independent); the same rule combines a measured interval with a prediction band.
- A figure that is a monotone function of one uncertain quantity (CNY/M = hourly price / throughput, break-even
  utilisation, the cost ratio against a fixed vendor price, the GPUs a traffic needs) gets its interval by
  transforming the quantity's interval at its ends (`image`): exact, no linearisation, since x lies in [lo, hi]
  exactly when f(x) lies between f(lo) and f(hi).
- Repeating until the interval is narrow (--until-ci PCT): a case stops once its half-width is under PCT% of its
  mean. The repeats a target needs, from n0 repeats whose relative half-width is hw: n ~ n0 (hw / target)^2, since
  the half-width falls as 1/sqrt(n) (t's own shrinking with n ignored: an estimate, rounded up).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

CONFIDENCE = 0.95
SKEW_LIMIT = 1.0


def min_samples_reliable(q_pct: float) -> int:
    """Smallest n with n * (1 - q/100) >= 1: p99 -> 100, p95 -> 20, p90 -> 10, p50 -> 2."""
    if not 0 < q_pct < 100:
        raise ValueError(f"percentile must be in (0, 100), got {q_pct}")
    return math.ceil(round(100.0 / (100.0 - q_pct), 9))


def percentile_reliable(n_samples: int, q_pct: float) -> bool:
    return n_samples >= min_samples_reliable(q_pct)


def upper_bound_rank(n_samples: int, q_pct: float = 99.0, confidence: float = CONFIDENCE) -> int | None:
    """The 1-based rank k of the order statistic that bounds the q-th percentile from above at `confidence`:
    the smallest k with P(Binom(n, q) < k) >= confidence; None when even k = n falls short."""
    from scipy.stats import binom

    if n_samples <= 0:
        return None
    q = q_pct / 100.0
    # P(Binom < k) = cdf(k - 1) rises with k: the first k at or past the confidence is the answer
    k = int(binom.ppf(confidence, n_samples, q)) + 1
    while k > 1 and binom.cdf(k - 2, n_samples, q) >= confidence:  # ppf's floating edge: step down if it can
        k -= 1
    while k <= n_samples and binom.cdf(k - 1, n_samples, q) < confidence:
        k += 1
    return k if k <= n_samples else None


def min_samples_for_bound(q_pct: float = 99.0, confidence: float = CONFIDENCE) -> int:
    """The fewest samples with an upper bound on the q-th percentile at `confidence`: the largest order statistic
    bounds it once P(all n below the quantile) = (q/100)^n <= 1 - confidence, n >= log(1 - c) / log(q/100);
    p99 at 95%: log(0.05) / log(0.99) = 298.07 -> 299."""
    n = math.ceil(round(math.log(1.0 - confidence) / math.log(q_pct / 100.0), 9))
    return n


def percentile_upper_bound(values: list[float], q_pct: float = 99.0,
                           confidence: float = CONFIDENCE) -> float | None:
    """The value the true q-th percentile lies under at `confidence` (see upper_bound_rank); None: too few."""
    k = upper_bound_rank(len(values), q_pct, confidence)
    return sorted(values)[k - 1] if k is not None else None


@dataclass(frozen=True)
class Interval:
    """A figure over repeats: mean with its two-sided t-interval (lo, hi are None for one run)."""

    n: int
    mean: float
    lo: float | None
    hi: float | None
    median: float
    iqr: float
    skewed: bool

    @property
    def half_width(self) -> float | None:
        return None if self.lo is None or self.hi is None else (self.hi - self.lo) / 2.0

    @property
    def rel_half_width(self) -> float | None:
        """Half-width over |mean| (0.05: +-5%); None without an interval or with a zero mean."""
        hw = self.half_width
        return None if hw is None or self.mean == 0 else hw / abs(self.mean)

    def text(self, fmt=lambda v: f"{v:.4g}") -> str:
        if self.lo is None:
            return f"{fmt(self.mean)} (1 run: no interval)"
        out = f"{fmt(self.mean)} ({fmt(self.lo)}-{fmt(self.hi)}, {self.n} runs, 95% t)"
        if self.skewed:
            out += f"; median {fmt(self.median)}, IQR {fmt(self.iqr)}"
        return out


def t_interval(values: list[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean +- t((1 + confidence) / 2, n - 1) * s / sqrt(n), s the sample standard deviation (n - 1)."""
    import numpy as np
    from scipy import stats

    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("an interval of no values")
    n = len(xs)
    mean = sum(xs) / n
    q1, median, q3 = (float(v) for v in np.percentile(xs, [25, 50, 75]))
    if n < 2:
        return Interval(1, mean, None, None, median, 0.0, False)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(stats.t.ppf((1.0 + confidence) / 2.0, n - 1)) * sd / math.sqrt(n)
    skewed = n >= 3 and sd > 0 and abs(float(stats.skew(xs, bias=False))) > SKEW_LIMIT
    return Interval(n, mean, mean - half, mean + half, median, q3 - q1, skewed)


def interval_from_stats(n: int, mean: float, sd: float, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The t-interval of n values from their mean and sample standard deviation (n - 1); None for one value."""
    from scipy import stats

    if n < 2:
        return None
    half = float(stats.t.ppf((1.0 + confidence) / 2.0, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def rel_half_width_from_stats(n: int, mean: float, sd: float, confidence: float = CONFIDENCE) -> float | None:
    """The t-interval's half-width over |mean| from summary statistics; None for one value or a zero mean."""
    iv = interval_from_stats(n, mean, sd, confidence)
    return None if iv is None or mean == 0 else (iv[1] - iv[0]) / 2.0 / abs(mean)


def rel_half_widths(ns, means, sds, confidence: float = CONFIDENCE) -> list[float | None]:
    """rel_half_width_from_stats of many cases at once (one scipy call: a report of many cases stays quick)."""
    import numpy as np
    from scipy import stats

    n, m, sd = (np.asarray(x, dtype=float) for x in (ns, means, sds))
    ok = (n > 1) & (m != 0) & np.isfinite(sd)
    t = stats.t.ppf((1.0 + confidence) / 2.0, np.where(ok, n - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = t * sd / np.sqrt(np.where(ok, n, 1)) / np.abs(m)
    return [float(r) if k else None for r, k in zip(rel, ok)]


def change_confidence(n_a: int, mean_a: float, sd_a: float, n_b: int, mean_b: float, sd_b: float) -> float | None:
    """1 - p of Welch's two-sided t-test from summary statistics: how confidently the means differ; None when a
    side has one value."""
    from scipy import stats

    if n_a < 2 or n_b < 2:
        return None
    if sd_a == 0 and sd_b == 0:  # no spread on either side: equal means are no change, others are
        return 0.0 if mean_a == mean_b else 1.0
    p = float(stats.ttest_ind_from_stats(mean_a, sd_a, n_a, mean_b, sd_b, n_b, equal_var=False).pvalue)
    return 1.0 - p


@dataclass(frozen=True)
class Difference:
    """Two sets of repeats compared: `real` when their intervals do not overlap."""

    real: bool
    p_value: float | None  # Welch's t-test, two-sided; None with fewer than 2 repeats on a side
    confidence_changed: float | None  # 1 - p_value

    def text(self) -> str:
        if self.p_value is None:
            return "1 run: no interval, no test"
        word = "real change" if self.real else "within noise"
        return f"{word} (Welch's t-test: p = {self.p_value:.2g}, {self.confidence_changed:.0%} confidence of a change)"


def difference(a: list[float], b: list[float]) -> Difference:
    """Whether the 95% t-intervals of `a` and `b` are apart, and Welch's two-sided p for equal means."""
    ia, ib = t_interval(a), t_interval(b)
    if ia.lo is None or ib.lo is None:
        return Difference(False, None, None)
    apart = ia.hi < ib.lo or ib.hi < ia.lo
    sure = change_confidence(ia.n, ia.mean, statistics.stdev(a), ib.n, ib.mean, statistics.stdev(b))
    return Difference(apart, 1.0 - sure, sure)


def ratio_interval(a: float, a_rel: float | None, b: float, b_rel: float | None) -> tuple[float, float, float] | None:
    """a / b with its interval: relative half-widths in quadrature (a_rel, b_rel: half-width over value; None
    counts as no spread, both None is no interval). Returns (ratio, lo, hi), lo = ratio * (1 - r)."""
    if b == 0:
        raise ValueError("ratio over zero")
    if a_rel is None and b_rel is None:
        return None
    r = math.hypot(a_rel or 0.0, b_rel or 0.0)
    ratio = a / b
    return ratio, ratio * max(0.0, 1.0 - r), ratio * (1.0 + r)


def combined_rel(*rels: float | None) -> float | None:
    """Independent relative errors in quadrature (a measured interval with a prediction band); None if none."""
    given = [r for r in rels if r is not None]
    return math.hypot(*given) if given else None


def meets_target(values: list[float], target_pct: float) -> bool:
    """Whether the 95% t-interval of `values` has a half-width under `target_pct` percent of |mean| (at least two
    values; a zero mean never meets it)."""
    rel = t_interval(values).rel_half_width if len(values) >= 2 else None
    return rel is not None and rel < target_pct / 100.0


def repeats_needed(n_runs: int, rel_half_width: float, target_rel: float) -> int:
    """Repeats for a relative half-width of `target_rel`, from `n_runs` whose interval is +-rel_half_width:
    ceil(n0 (hw / target)^2), at least n0 + 1 when the target is not met (module doc)."""
    if target_rel <= 0:
        raise ValueError("target must be > 0")
    if rel_half_width <= target_rel:
        return n_runs
    return max(n_runs + 1, math.ceil(round(n_runs * (rel_half_width / target_rel) ** 2, 9)))


def image(f, lo: float, hi: float) -> tuple[float, float]:
    """The interval of f(x) for x in [lo, hi], f monotone on it: f at both ends, in order (module doc)."""
    a, b = f(lo), f(hi)
    return (a, b) if a <= b else (b, a)


def throughput_interval(point: float, rel_half_width: float | None, band_low: float | None = None,
                        band_high: float | None = None) -> tuple[float, float] | None:
    """A throughput's interval around `point`: +-rel_half_width (a measured case's repeats: its 95% t half-width
    over its mean); for a predicted point, the band's relative distance below and above it, each side combined
    with the measured one in quadrature (combined_rel). None when there is neither (one run, no band)."""
    if point <= 0:
        return None
    below = (point - band_low) / point if band_low is not None else None
    above = (band_high - point) / point if band_high is not None else None
    lo_rel, hi_rel = combined_rel(rel_half_width, below), combined_rel(rel_half_width, above)
    if lo_rel is None and hi_rel is None:
        return None
    return point * max(0.0, 1.0 - (lo_rel or 0.0)), point * (1.0 + (hi_rel or 0.0))
