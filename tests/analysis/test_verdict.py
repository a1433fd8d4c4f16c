"""The verdict block first in `bench report`: per model x hardware the cost at the latency target and
utilisation, the cheapest like-for-like vendor and the ratio, break-even, GPUs for a traffic; figures checked by
hand; in headless Chromium it is above the fold at 1400 x 900."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from bench.cli import main
from tests.analysis.test_plan import priced_csv, sim_csv

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def verdict_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("verdict")
    path = priced_csv(tmp)
    out = tmp / "report"
    assert main(["report", str(path), "--gpu-cny-per-hour", "10", "--as-of", "2025-06-01", "--slo-tpot-ms", "40",
                 "--utilization", "0.5", "--traffic", "100M/day", "--out", str(out)]) == 0
    return out


def test_the_verdict_comes_first_with_hand_computed_figures(verdict_report):
    md = (verdict_report / "report.md").read_text()
    assert md.index("## Verdict") < md.index("- Results:") < md.index("## Throughput")
    verdict = md[md.index("## Verdict"):md.index("- Results:")]
    # at TPOT <= 40 ms the batch is 20 (between runs b8 and b32): 396,000 tokens per CNY at 10 CNY/h when always
    # busy -> 2.525 CNY/M; at 50% utilisation 2.525 / 0.5 = 5.05 CNY/M
    assert "Self-hosting on H100-SXM costs 5.05 CNY/M (measured)" in verdict
    assert verdict.splitlines()[2].startswith("**[GPU-hours given on the command line] qwen2.5-7b-instruct at 50%")
    # the cheapest like-for-like paid vendor on 2025-06-01: 0.3 / 0.6 CNY/M blended 3:1 = 0.375;
    # 5.0505 / 0.375 = 13.5x; break-even 2.525 / 0.375 = 6.7 > 1: never
    assert "at 0.375 CNY/M" in verdict and "13.5x cheaper (1 run: no interval) than self-hosting" in verdict
    assert "self-hosting never wins, even fully used" in verdict
    # 100M tokens/day at a 2x peak: 2,314.8 tok/s / 1,100 per replica -> 3 replicas of 1 GPU
    assert "3 GPUs carry 100M tokens a day at a 2x peak" in verdict
    row = next(line for line in verdict.splitlines() if line.startswith("| qwen2.5-7b-instruct"))
    assert "| measured, 768/256 in/out | 20 (TPOT, interpolated) | 140 / 40 | 5.05 |" in row
    assert "| 13.5x dearer | never | - | 3 |" in row


def test_the_html_page_opens_with_the_verdict(verdict_report):
    page = (verdict_report / "index.html").read_text()
    assert page.index('class="verdict"') < page.index('class="summary"') < page.index("<nav>")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_the_verdict_is_above_the_fold_at_1400x900(verdict_report, tmp_path):
    probe = verdict_report / "probe.html"
    script = """<script>window.addEventListener('load', () => {
      const p = document.querySelector('#verdict p.lead');
      document.body.setAttribute('data-fold', Math.ceil(p.getBoundingClientRect().bottom) + ' ' + window.innerHeight);
    });</script>"""
    probe.write_text((verdict_report / "index.html").read_text().replace("</body>", script + "</body>"))
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--hide-scrollbars", "--window-size=1400,900",
            f"--user-data-dir={tmp_path / 'profile'}"]
    done = subprocess.run(args + ["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()], capture_output=True,
                          text=True, timeout=180)
    found = re.search(r'data-fold="(\d+) (\d+)"', done.stdout)
    assert found, done.stderr[-2000:]
    bottom, height = int(found.group(1)), int(found.group(2))
    # the viewport of a 1400 x 900 window (headless Chromium keeps some of the 900 px for its frame)
    assert 600 < height <= 900 and bottom <= height, (bottom, height)
    shot = tmp_path / "verdict-1400x900.png"  # the screenshot a person would see (kept with the test's files)
    done = subprocess.run(args + [f"--screenshot={shot}", (verdict_report / "index.html").as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and shot.is_file()


def test_the_cost_sections_read_the_cost_at_the_latency_target(verdict_report):
    md = (verdict_report / "report.md").read_text()
    vendors = md[md.index("## Self-hosted cost vs vendor API prices"):md.index("## Cost vs utilisation")]
    assert "Self-hosted: each model on each hardware at the batch that meets TPOT p99 <= 40 ms" in vendors
    # batch 20, between b8 (600 tok/s) and b32 (1,600): 1,100 tok/s = 3.96M tokens an hour at 10 CNY -> 396,000
    # tokens per CNY = 2.525 CNY/M (the verdict's figure at 100% use), not the cheapest batch's (b32: 1,600 tok/s
    # = 5.76M an hour -> 1.74 CNY/M)
    row = next(line for line in vendors.splitlines() if line.startswith("| qwen2.5-7b-instruct"))
    assert row.startswith("| qwen2.5-7b-instruct · H100-SXM (given, batch 20 at the target: TPOT, interpolated) | "
                          "self-hosted | 2.53 | 2.53 | 2.53 | 396,000 |")
    use = md[md.index("## Cost vs utilisation"):]
    assert "Self-hosted: each model on each hardware at the batch that meets TPOT p99 <= 40 ms" in use
    assert "| qwen2.5-7b-instruct · H100-SXM (given, batch 20 at the target: TPOT, interpolated) | Alibaba qwen-turbo " \
           "| 0.375 | 2.53 | never (dearer at 100%) |" in use


def test_without_a_target_the_cost_sections_say_they_use_the_cheapest_batch(tmp_path):
    from bench.analysis.frontier import Slo
    from bench.analysis.report.cost import at_target, cost_lines, price_runs
    from bench.analysis.report.model import Run
    from bench.config.hardware import load_hardware
    from bench.cost.pricing import CostOptions
    from bench.results import typed

    runs = [Run(r, "priced.csv", "H100-SXM") for r in typed.read_rows(priced_csv(tmp_path))[1]]
    priced, _ = price_runs(runs, CostOptions(gpu_cny_per_hour=10.0), load_hardware())
    lines, chosen, notes = cost_lines(priced, Slo())
    assert chosen.startswith("the cheapest batch") and notes == []
    # b32: 1,600 tok/s = 5.76M tokens an hour at 10 CNY -> 1.736 CNY/M
    assert [round(p.cny_per_m, 3) for p in lines] == [1.736]
    # TTFT <= 110 ms: 8 + (110 - 80) / (200 - 80) x 24 = batch 14, 600 + 6/24 x 1,000 = 850 tok/s ->
    # 3.06M an hour -> 3.268 CNY/M
    (line,), notes = at_target(priced, Slo(ttft_ms=110))
    assert (line.batch, line.binding, line.cny_per_m) == (pytest.approx(14), "TTFT", pytest.approx(10 / 3.06))
    # a target no batch meets: none shown, a note with the closest point
    none, notes = at_target(priced, Slo(tpot_ms=5))
    assert none == [] and notes == ["qwen2.5-7b-instruct on H100-SXM: no batch meets TPOT p99 <= 5 ms (closest: batch "
                                    "1, misses TPOT)"]


def test_costs_from_sim_rows_are_labelled_predicted_with_the_bound_beside(tmp_path, capsys, monkeypatch):
    from tests.analysis.test_plan import rows_own_latencies

    rows_own_latencies(monkeypatch)
    path = sim_csv(tmp_path)
    assert main(["cost", str(path), "--gpu-cny-per-hour", "10", "--slo-tpot-ms", "40", "--as-of", "2025-06-01"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    # b8: 600 tok/s = 2.16M tokens an hour at 10 CNY -> 4.63 CNY/M; at the bound (twice the speed) 2.31
    assert "qwen2.5-7b-instruct on H100-SXM (predicted (calibration published-fit-3)): given 10 CNY" in out
    assert "CNY per M blended at the roofline bound (50% of the time) │ 2.31 │" in out
    assert "1.26)" in out.split("cost at the latency target")[1]  # "2.53 (at the bound 1.26)", wrapped in its cell
    # at TPOT <= 40 ms: batch 20, 2.525 CNY/M; at the bound (twice the speed) 1.2626
    from bench.analysis.frontier import Slo
    from bench.analysis.slo import cost_at_slo
    from bench.cost.pricing import CostOptions, self_cost
    from bench.results import typed

    (c,) = cost_at_slo([(r, self_cost(r, CostOptions(gpu_cny_per_hour=10.0))) for r in typed.read_rows(path)[1]],
                       Slo(tpot_ms=40))
    assert c.source == "predicted (calibration published-fit-3)" and c.op.point.batch == pytest.approx(20)
    assert (c.cny_per_m_blended, c.cny_per_m_blended_bound) == (pytest.approx(2.5253, rel=1e-4),
                                                                 pytest.approx(1.2626, rel=1e-4))
    report = tmp_path / "report"
    assert main(["report", str(path), "--gpu-cny-per-hour", "10", "--as-of", "2025-06-01", "--slo-tpot-ms", "40",
                 "--utilization", "0.5", "--out", str(report)]) == 0
    md = (report / "report.md").read_text()
    # the verdict: 2.525 / 0.5 = 5.05 CNY/M; at the bound 1.2626 / 0.5 = 2.53
    assert ("Self-hosting on H100-SXM costs 5.05 CNY/M (predicted (calibration published-fit-3); 2.53 CNY/M at the "
            "roofline bound)") in md
    assert "| predicted (calibration published-fit-3), 768/256 in/out |" in md
    row = next(line for line in md.splitlines() if line.startswith("| qwen2.5-7b-instruct · H100-SXM sim (given"))
    assert "batch 20 at the target: TPOT, interpolated; predicted (calibration published-fit-3)) | self-hosted | 2.53 |" \
        in row and row.endswith("; predicted (calibration published-fit-3): 1.26 CNY/M blended at the roofline bound "
                           "| predicted, no band |")
