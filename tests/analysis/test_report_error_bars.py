"""The report's charts draw each repeated figure's 95% interval (bench.analysis.report: sections, cost), and none
for cases run once, whose captions say "1 run: no interval".

The rows: test_plan's priced rows (qwen2.5-7b-instruct on H100-SXM, 768 in / 256 out, batch 1, 8 and 32) run 3
times, each figure scaled per repeat so that its median is the row's own and its spread is known:
    output tok/s x (0.98, 1, 1.02), TTFT and TPOT p50 x (0.9, 1, 1.1), TTFT and TPOT p99 x (0.8, 1, 1.2).
For values y (1 - f, 1, 1 + f): mean y, s = f y (sqrt((f y)^2 + 0 + (f y)^2) / 2), n = 3, so the 95% t half-width
is t(0.975, 2) x f y / sqrt(3) with t(0.975, 2) = 4.30265 (scipy.stats.t.ppf(0.975, 2)): f = 0.02 -> 0.049683 y,
f = 0.1 -> 0.24841 y, f = 0.2 -> 0.49683 y.
"""

import math

import pytest
from scipy import stats

from bench.analysis.report import plots
from bench.cli import main

T = stats.t.ppf(0.975, 3 - 1)  # 4.30265


def hw(f: float, y: float) -> float:
    """The 95% t half-width of y x (1 - f, 1, 1 + f): t(0.975, n-1) x s / sqrt(n), s = f y, n = 3."""
    return T * f * y / math.sqrt(3)


R = hw(0.02, 1.0)  # output tok/s's relative half-width: 0.049683


def test_the_arithmetic_of_the_module_doc():
    assert T == pytest.approx(4.30265, abs=1e-5)
    assert (hw(0.02, 1.0), hw(0.1, 1.0), hw(0.2, 1.0)) == (pytest.approx(0.049683, abs=1e-6),
                                                           pytest.approx(0.24841, abs=1e-5),
                                                           pytest.approx(0.49683, abs=1e-5))


def rows_csv(tmp_path, repeats: bool):
    from bench.results import store
    from tests.analysis.test_plan import priced_csv, write_rows

    rows = store.read_rows(priced_csv(tmp_path))
    if not repeats:
        return write_rows(tmp_path / "once.csv", [{**r, "output_tok_s": float(r["total_tok_s"]) / 4} for r in rows])
    out = []
    for i, (f_tok, f_p50, f_p99) in enumerate(((0.98, 0.9, 0.8), (1.0, 1.0, 1.0), (1.02, 1.1, 1.2))):
        for r in rows:
            t = float(r["total_tok_s"]) * f_tok
            out.append({**r, "run_id": f"{r['run_id']}-{i}", "repeat_index": i, "total_tok_s": t, "output_tok_s": t / 4,
                        "elapsed_s": float(r["elapsed_s"]) / f_tok, "prefill_s": float(r["prefill_s"]) / f_tok,
                        "decode_s": float(r["decode_s"]) / f_tok,
                        **{f"{m}_p50_ms": float(r[f"{m}_p50_ms"]) * f_p50 for m in ("ttft", "tpot")},
                        **{f"{m}_p99_ms": float(r[f"{m}_p99_ms"]) * f_p99 for m in ("ttft", "tpot")}})
    return write_rows(tmp_path / "repeated.csv", out)


def report(tmp_path, csv_path, monkeypatch):
    """`bench report` on the rows, with every chart's series and bars as the report handed them to plots (drawn in
    this process: build.draw_beside forks only on a machine of two cores or more)."""
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    drawn = {"lines": [], "bars": []}
    line_panels, hbar_chart = plots.line_panels, plots.hbar_chart

    def record_lines(title, xlabel, panels, **kw):
        drawn["lines"].append((title, panels))
        return line_panels(title, xlabel, panels, **kw)

    def record_bars(title, xlabel, bars, **kw):
        drawn["bars"].append((title, bars))
        return hbar_chart(title, xlabel, bars, **kw)

    monkeypatch.setattr(plots, "line_panels", record_lines)
    monkeypatch.setattr(plots, "hbar_chart", record_bars)
    out = tmp_path / "report"
    assert main(["report", str(csv_path), "--gpu-cny-per-hour", "10", "--as-of", "2025-06-01",
                 "--out", str(out)]) == 0
    return drawn, (out / "report.md").read_text()


def chart(drawn, starts: str):
    (panels,) = [p for title, p in drawn["lines"] if title.startswith(starts)]
    return panels


def test_a_report_over_repeats_draws_each_figures_t_interval(tmp_path, monkeypatch):
    drawn, md = report(tmp_path, rows_csv(tmp_path, repeats=True), monkeypatch)
    # throughput: output tok/s 25, 150, 400 at batch 1, 8, 32 (total / 4), each +- 4.30265 x 0.02 y / sqrt(3)
    ((series,),) = [p.series for p in chart(drawn, "Output throughput vs batch size")]
    assert series.ys == [25.0, 150.0, 400.0]
    assert series.yerr == [pytest.approx(hw(0.02, y)) for y in (25.0, 150.0, 400.0)]
    # latency: TTFT 50, 80, 200 ms and TPOT 10, 20, 60 ms (the same at p50 and p99); p50 +- 0.24841 y, p99 +- 0.49683 y
    ttft, tpot = chart(drawn, "Latency vs load")
    for panel, ys in ((ttft, (50.0, 80.0, 200.0)), (tpot, (10.0, 20.0, 60.0))):
        p50, p99 = panel.series
        assert p50.ys == p99.ys == list(ys) and p99.dashed and not p50.dashed
        assert p50.yerr == [pytest.approx(hw(0.1, y)) for y in ys]
        assert p99.yerr == [pytest.approx(hw(0.2, y)) for y in ys]
    # cost: the self-hosted bar (the cheapest batch, 32) at c CNY/M = price / throughput, at the throughput interval's
    # ends: c / (1 + r) .. c / (1 - r), r = 0.049683; the vendors' list prices have no bar
    (_, bars), = [(t, b) for t, b in drawn["bars"] if t.startswith("CNY per million tokens")]
    (mine,) = [b for b in bars if b.category.startswith("self-hosted")]
    c = mine.value
    assert c == pytest.approx(10 / (1600 * 3600 / 1e6))  # 10 CNY/h over 1,600 tok/s x 3,600 s: 1.736 CNY/M
    assert mine.err == (pytest.approx(c - c / (1 + R)), pytest.approx(c / (1 - R) - c))
    assert all(b.err is None for b in bars if b is not mine)
    # cost vs utilisation: the same interval as a band, c / u at each end
    ((curve,),) = [p.series for p in chart(drawn, "Self-hosted CNY per million tokens vs utilisation")]
    lows, highs = curve.band
    assert lows[-1] == pytest.approx(c / (1 + R)) and highs[-1] == pytest.approx(c / (1 - R))  # u = 100%
    assert lows[0] == pytest.approx(c / (1 + R) / 0.01) and curve.ys[0] == pytest.approx(c / 0.01)  # u = 1%
    # the captions say what the bars are; the cost table gives the interval the bar draws
    assert md.count("Error bars: the 95% t-interval of") == 2  # throughput and latency
    assert "Error bars: CNY/M at the ends of the throughput's 95% interval" in md
    assert "Bands: CNY/M at the ends of the throughput's 95% interval" in md
    assert f"| {c / (1 + R):.3g}-{c / (1 - R):.3g} |" in md


def test_a_report_of_single_runs_draws_no_bar_and_says_so(tmp_path, monkeypatch):
    drawn, md = report(tmp_path, rows_csv(tmp_path, repeats=False), monkeypatch)
    series = [s for _, panels in drawn["lines"] for p in panels for s in p.series]
    assert series and all(not any(s.yerr or ()) and s.band is None for s in series)
    assert drawn["bars"] and all(b.err is None for _, bars in drawn["bars"] for b in bars)
    assert md.count("1 run: no interval: every case ran once, so no error bars.") == 2  # throughput and latency
    assert "1 run: no interval: every self-hosted line stands on one measured run" in md
    assert "Error bars:" not in md and "Bands:" not in md
