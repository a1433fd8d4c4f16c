"""A user with AIPerf or GuideLLM results and no re-run: `bench cost`, `bench plan` and `bench report` on the files as
the tools wrote them (tests/data/interop), the model, card and GPU count given on the command line and labelled so."""

import json
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from bench.cost.pricing import CostOptions, self_cost
from bench.interop.read import import_file
from bench.interop.source import Given

DATA = Path(__file__).parent.parent / "data" / "interop"
AIPERF = DATA / "aiperf-concurrency" / "profile_export_aiperf.json"
GUIDELLM = DATA / "guidellm" / "benchmarks.json"
GIVEN = ["--hardware", "H100-SXM", "--gpus", "1", "--model", "qwen2.5-7b-instruct"]


@pytest.mark.parametrize("path", [AIPERF, GUIDELLM], ids=["aiperf", "guidellm"])
def test_cost_prices_another_tools_file_beside_the_vendors(tmp_path, capsys, path):
    out = tmp_path / "cost.csv"
    assert main(["cost", str(path), *GIVEN, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "qwen2.5-7b-instruct on H100-SXM" in printed and "CNY per M blended (3:1)" in printed
    assert "given on the command line, not measured: model, hardware, gpu_count" in printed
    assert f"measured by {'aiperf 0.13.0' if path == AIPERF else 'guidellm 0.8.1'}" in printed
    table = pd.read_csv(out)
    rows = import_file(path, Given(model="qwen2.5-7b-instruct", hardware="H100-SXM", gpus=1)).rows
    assert sorted(set(table["run_id"])) == sorted(r["run_id"] for r in rows)
    for r in rows:  # the table's any-token price is the H100 hour over the file's own total tokens/s
        mine = self_cost(r, CostOptions(hardware="H100-SXM"))
        got = table[table["run_id"] == r["run_id"]]["cny_per_m_total"].iloc[0]
        assert got == pytest.approx(mine.cny_per_m_total) and mine.gpu_count == 1
        assert mine.cny_per_m_total == pytest.approx(mine.cny_per_hour / (r["total_tok_s"] * 3600) * 1e6)
    assert set(table["vendor_model"]) >= {"qwen2.5-7b-instruct"}  # the like-for-like API of the given model


def test_plan_takes_a_guidellm_file_as_measured_points(capsys):
    assert main(["plan", "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--traffic", "500M/day",
                 "--gpus", "1", str(GUIDELLM), "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    (h100,) = [h for h in plan["hardware"] if h["hardware"] == "H100-SXM"]
    doc = json.loads(GUIDELLM.read_text())
    rows = import_file(GUIDELLM, Given(model="qwen2.5-7b-instruct", hardware="H100-SXM", gpus=1)).rows
    assert h100["source"] == "measured" and set(h100["operating_point_from"]) <= {r["run_id"] for r in rows}
    # no latency target: the operating point is the largest batch measured, 4 streams, at GuideLLM's own tokens/s
    busiest = max(doc["benchmarks"], key=lambda b: b["config"]["strategy"]["streams"])
    assert h100["replica_tok_s"] == pytest.approx(busiest["metrics"]["tokens_per_second"]["successful"]["mean"],
                                                  rel=1e-6)
    assert h100["gpus_per_replica"] == 1


def test_report_of_aiperf_and_guidellm_files(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", str(GUIDELLM), str(AIPERF.parent), *GIVEN, "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    given = "given on the command line, not measured: gpu_count, hardware, model"
    assert (out / "index.html").exists()
    assert (f"Results: benchmarks.json: 2 row(s) (measured by guidellm 0.8.1; {given}); "
            f"aiperf-concurrency: 1 row(s) (measured by aiperf 0.13.0; {given}).") in md
    assert "qwen2.5-7b-instruct on H100-SXM" in md


def test_a_report_that_cannot_price_a_file_says_the_fix_those_rows_need(tmp_path):
    """AIPerf's file does not say how many GPUs served it: with --hardware but no --gpus, the verdict names --gpus N
    (the rows' own reason), not --hardware, which was given."""
    out = tmp_path / "report"
    assert main(["report", str(AIPERF.parent), "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM",
                 "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    verdict = md.split("## Verdict", 1)[1].split("##", 1)[0]
    assert "Skipped: no row could be priced: " in verdict and "give --gpus N" in verdict
    assert "pass --hardware NAME" not in verdict
