"""Cost figures with their 95% intervals (bench.analysis.intervals), against hand-computed t-intervals.

The repeats used throughout: output tok/s 980, 1000, 1020 of one case (3 runs):
    mean 1000, s = sqrt((20^2 + 0 + 20^2) / 2) = 20, t(0.975, 2) = 4.303 (table),
    hw = 4.303 x 20 / sqrt(3) = 49.69, r = hw / mean = 0.04969: throughput 950.3 .. 1049.7 (factors 0.95031 .. 1.04969)
"""

import pytest

from bench.analysis import intervals
from bench.analysis.frontier import Point
from bench.measure import uncertainty

R = 4.303 * 20 / 3 ** 0.5 / 1000  # 0.049690


def point(**k) -> Point:
    return Point(batch=8, total_tok_s=1000.0, gpus=1, ttft_ms=None, tpot_ms=None, **k)


def test_the_repeats_half_width_is_the_t_interval():
    iv = uncertainty.t_interval([980.0, 1000.0, 1020.0])
    assert (iv.mean, iv.lo, iv.hi) == (1000.0, pytest.approx(1000 - 49.69, abs=0.01), pytest.approx(1049.69, abs=0.01))
    assert iv.rel_half_width == pytest.approx(R, rel=1e-4)


def test_cny_per_m_and_gpus_take_the_throughput_intervals_ends():
    spread = intervals.spread_of(point(runs=3, tok_s_rel_hw=R))
    assert (spread.lo, spread.hi) == (pytest.approx(1 - R), pytest.approx(1 + R))
    # CNY/M = price / throughput: 2.0 at the median -> 2.0 / 1.04969 = 1.9053 .. 2.0 / 0.95031 = 2.1046
    assert intervals.inverse_range(2.0, spread) == (pytest.approx(1.9053, abs=1e-4), pytest.approx(2.1046, abs=1e-4))
    # a 5,000 tok/s peak: ceil(5000 / 1049.69) = ceil(4.763) = 5 replicas .. ceil(5000 / 950.31) = ceil(5.261) = 6
    assert intervals.replicas_range(5000.0, 1000.0, spread) == (5, 6)


def test_one_run_has_no_interval_and_says_so():
    spread = intervals.spread_of(point())
    assert not spread.known and intervals.inverse_range(2.0, spread) is None
    assert intervals.range_text(None, spread) == " (1 run: no interval)"
    assert intervals.ratio_words(2.0 / 2.2, None, spread) == "1.1x cheaper (1 run: no interval)"


def test_a_prediction_combines_its_band_with_the_measured_spread_in_quadrature():
    # band 0.8 .. 1.2 of the point, r = 0.04969: below sqrt(0.2^2 + 0.04969^2) = 0.20608, above the same
    spread = intervals.spread_of(point(runs=3, tok_s_rel_hw=R, band_low_tok_s=800.0, band_high_tok_s=1200.0,
                                         source="predicted (calibration c)"))
    assert spread.predicted and (spread.lo, spread.hi) == (pytest.approx(0.79392, abs=1e-5),
                                                           pytest.approx(1.20608, abs=1e-5))
    # CNY/M 2.0 -> 2.0 / 1.20608 = 1.6583 .. 2.0 / 0.79392 = 2.5191
    assert intervals.inverse_range(2.0, spread) == (pytest.approx(1.6583, abs=1e-4), pytest.approx(2.5191, abs=1e-4))


def test_the_verdict_when_the_interval_is_clear_of_one():
    spread = intervals.spread_of(point(runs=3, tok_s_rel_hw=R))
    # self 2.0 CNY/M (1.9053-2.1046) against a vendor's 2.2: 2.2 / 2.0 = 1.1x cheaper,
    # 2.2 / 2.1046 = 1.0453 .. 2.2 / 1.9053 = 1.1547: clear of 1
    rng = (1.9053 / 2.2, 2.1046 / 2.2)
    assert intervals.verdict_words(2.0 / 2.2, rng, spread, 10.0) == "1.1x cheaper (1.05-1.15)"


def test_an_interval_whose_ends_print_alike_says_so():
    # a one-GPU fleet: 5,000 CNY a month at either end of the throughput's interval against the vendor's 6,000:
    # 6,000 / 5,000 = 1.2x cheaper at both ends, (1.2-1.2) before
    same = intervals.ratio_words(5000 / 6000, (5000 / 6000, 5000 / 6000))
    assert same == "1.2x cheaper (the same across the 95% interval)"
    assert intervals.ratio_words(5000 / 6000, (4900 / 6000, 5100 / 6000)) == "1.2x cheaper (1.18-1.22)"


def test_the_verdict_when_it_is_too_close_to_call():
    spread = intervals.spread_of(point(runs=3, tok_s_rel_hw=R))
    self_lo, self_hi = intervals.inverse_range(2.0, spread)
    # against 2.05: 2.05 / 2.0 = 1.025x cheaper, 2.05 / 2.1046 = 0.9741 .. 2.05 / 1.9053 = 1.0760: holds 1
    rng = (self_lo / 2.05, self_hi / 2.05)
    words = intervals.verdict_words(2.0 / 2.05, rng, spread, 10.0)
    assert words.startswith("1.02x cheaper (0.974-1.08): too close to call at 95% confidence; what would settle it: ")
    # +-r* = 1 - 2.0 / 2.05 = 0.02439 would clear 1: n = ceil(3 x (0.04969 / 0.02439)^2) = ceil(12.45) = 13
    assert "about 13 repeats (now 3, output tok/s +-4.97%; +-2.44% would clear 1x): --repeats 13" in words
    # the GPU-hour price: 10 / (2.1046 / 2.05) = 9.741 or under for self-hosting, 10 / (1.9053 / 2.05) = 10.76 or over
    assert "at or under 9.74 CNY self-hosting wins clearly, at or over 10.8 the vendor does (priced here at 10)" in words


def test_a_predicted_close_call_asks_for_a_measured_row():
    spread = intervals.spread_of(point(band_low_tok_s=800.0, band_high_tok_s=1200.0, source="predicted (calibration c)"))
    rng = intervals.inverse_range(2.0, spread)
    words = intervals.verdict_words(2.0 / 2.05, (rng[0] / 2.05, rng[1] / 2.05), spread)
    assert "too close to call" in words and "a measured row on the card (this one is predicted)" in words


@pytest.fixture(scope="module")
def repeated_csv(tmp_path_factory):
    """test_plan's priced rows, each case run 3 times at 0.98x, 1x and 1.02x its throughput (interleaved rounds):
    every case's output tok/s has r = 0.04969 (the module doc's arithmetic, scaled), its median the row's own."""
    from bench.results import store
    from tests.analysis.test_plan import priced_csv, write_rows

    tmp = tmp_path_factory.mktemp("repeated")
    rows = store.read_rows(priced_csv(tmp))
    out = []
    for i, f in enumerate((0.98, 1.0, 1.02)):
        for r in rows:
            t = float(r["total_tok_s"]) * f
            out.append({**r, "run_id": f"{r['run_id']}-{i}", "total_tok_s": t, "output_tok_s": t / 4,
                        "elapsed_s": float(r["elapsed_s"]) / f, "prefill_s": float(r["prefill_s"]) / f,
                        "decode_s": float(r["decode_s"]) / f, "repeat_index": i})
    return write_rows(tmp / "repeated.csv", out)


def test_the_reports_first_sentence_gives_the_ratio_with_its_interval(repeated_csv, tmp_path):
    from bench.cli import main

    out = tmp_path / "report"
    assert main(["report", str(repeated_csv), "--gpu-cny-per-hour", "10", "--as-of", "2025-06-01", "--slo-tpot-ms",
                 "40", "--utilization", "0.5", "--traffic", "141M/day", "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    verdict = md[md.index("## Verdict"):md.index("- Results:")]
    first = verdict.splitlines()[2]
    # self 5.0505 CNY/M (test_verdict's arithmetic) -> 5.0505 / 1.04969 = 4.811 .. 5.0505 / 0.95031 = 5.3146; against
    # the vendor's 0.375: 13.468x (12.83-14.17), clear of 1
    assert "cheapest: Alibaba qwen-turbo at 0.375 CNY/M (price since 2024-09-19), 13.5x cheaper (12.8-14.2) than " \
           "self-hosting." in first and "too close" not in first
    assert "Self-hosting on H100-SXM costs 5.05 CNY/M (4.81-5.31) (measured)" in first
    # 141M tokens a day at a 2x peak: 3,263.9 tok/s over 1,100 (1,045.3 .. 1,154.7) per replica: 3 (3-4) GPUs
    assert "3 (3-4) GPUs carry 141M tokens a day" in first


def test_the_plans_first_sentence_gives_the_ratio_with_its_interval(repeated_csv, capsys):
    import json

    from bench.cli import main

    assert main(["plan", str(repeated_csv), "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--traffic",
                 "141M/day", "--slo-tpot-ms", "40", "--gpu-cny-per-hour", "10", "--vendors", "doubao-pro-32k",
                 "--as-of", "2024-06-01", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    # the vendor: 141M x 365 / 12 = 4,288.75M tokens a month x 1.1 CNY/M = 4,717.6 CNY; self-hosting 3 GPUs
    # (3-4, above) x 10 CNY x 730 h = 21,900 (21,900-29,200): 21,900 / 4,717.6 = 4.64x (4.64-6.19)
    assert d["verdict"] == ("[GPU-hours given on the command line] cheapest: ByteDance doubao-pro-32k (rate-limited) "
                            "at 4,718 CNY/month, 4.64x cheaper (4.64-6.19) than self-host on 3 (3-4) x H100-SXM "
                            "(measured) at 21,900")
    iv = d["hardware"][0]["interval"]
    assert iv["runs"] == 3 and iv["gpus"] == [3, 4] and iv["monthly_cny"]["rental"] == [21_900, 29_200]
    assert iv["replica_tok_s"] == [pytest.approx(1100 * (1 - R), rel=1e-3), pytest.approx(1100 * (1 + R), rel=1e-3)]


def test_bench_cost_gives_each_case_its_interval(repeated_csv, capsys):
    from bench.cli import main

    assert main(["cost", str(repeated_csv), "--gpu-cny-per-hour", "10", "--as-of", "2025-06-01"]) == 0
    out = capsys.readouterr().out
    # batch 8: 600 tok/s total = 150 output (147, 150, 153: s = 3, hw = 4.303 x 3 / sqrt(3) = 7.45); 10 CNY/h over
    # 2.16M tokens an hour = 4.63 CNY/M -> 4.63 / 1.04969 = 4.41 .. 4.63 / 0.95031 = 4.87
    assert "768/256 batch 8: 3 run(s), output tok/s 150 (143-157, 3 runs, 95% t); 4.63 CNY/M (4.41-4.87)" in out


def test_the_throughput_chart_draws_each_repeated_points_interval(repeated_csv):
    from bench.analysis.report.load import load_runs
    from bench.analysis.report.model import Run
    from bench.analysis.report.sections import _series
    from bench.config.hardware import load_hardware

    runs, _ = load_runs([repeated_csv], None, load_hardware())
    (series,) = _series(runs, Run.batch.fget, lambda r: r.num("output_tok_s"), bars="output_tok_s")
    # batch 1, 8, 32: 25, 150, 400 output tok/s, each +-r = 4.303 x (0.02 x y) / sqrt(3) / y = 0.04969 of it
    assert series.ys == [25.0, 150.0, 400.0]
    assert series.yerr == [pytest.approx(y * R, rel=1e-3) for y in (25.0, 150.0, 400.0)]
