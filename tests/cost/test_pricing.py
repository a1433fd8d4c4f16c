"""Tokens per CNY has one definition: 1e6 / the price blended at the stated input:output
mix, at the stated utilisation, for a self-hosted row and a vendor alike. `bench cost`, `bench report`'s cost
table and the report's claim 3 print the same figure for the same row."""

from __future__ import annotations

import csv
import datetime as dt
import re

import pytest
from result_rows import row, write_rows

from bench.cli import main
from bench.cost.pricing import CostOptions, run_cost_columns, self_cost, tokens_per_cny_blended
from bench.results import schema


def fixture_row(**over) -> dict:
    """100 requests, 1,000 in / 401 out, 10 s, TPOT 20 ms: prefill 2 s, decode 8 s (tests/cost/test_formulas.py)."""
    r = {"run_id": "r-fixture", "model": "qwen2.5-7b-instruct", "engine": "vllm", "status": "ok",
         "input_len": 1000, "output_len": 401, "num_prompts": 100, "completed": 100, "max_num_seqs": 100,
         "input_tokens": 100_000, "output_tokens": 40_100, "elapsed_s": 10.0, "total_tok_s": 14_010.0,
         "tpot_p50_ms": 20.0, "tpot_mean_ms": 20.0, "tensor_parallel_size": 1, "pipeline_parallel_size": 1}
    r.update(over)
    return r


def test_tokens_per_cny_is_blended_at_the_mix():
    # 36 CNY/h: input 36 x 2 / 3600 / 0.1 M = 0.2 CNY/M; output 36 x 8 / 3600 / 0.0401 M = 1.99501 CNY/M
    # blended 3:1: (3 x 0.2 + 1.99501) / 4 = 0.648753 CNY/M -> 1e6 / 0.648753 = 1,541,418 tokens per CNY
    mine = self_cost(fixture_row(), CostOptions(gpu_cny_per_hour=36.0))
    assert mine.tokens_per_cny_blended == pytest.approx(1_541_418, abs=1)
    # the schema-1 column keeps its meaning: any token at the run's own mix, 14,010 x 3600 / 36 = 1,401,000
    assert mine.tokens_per_cny == pytest.approx(1_401_000)
    # --mix changes it: 1:1 -> (0.2 + 1.99501) / 2 = 1.097506 -> 911,157
    one_to_one = self_cost(fixture_row(), CostOptions(gpu_cny_per_hour=36.0, mix=(1.0, 1.0)))
    assert one_to_one.tokens_per_cny_blended == pytest.approx(911_157, abs=1)
    # 50% utilisation halves it: 770,709
    half = self_cost(fixture_row(), CostOptions(gpu_cny_per_hour=36.0, utilization=0.5))
    assert half.tokens_per_cny_blended == pytest.approx(770_709, abs=1)


def test_a_vendor_uses_the_same_definition():
    # Doubao-pro-32k 0.8 / 2 blended 3:1 = 1.1 CNY/M -> 909,091 tokens per CNY
    assert tokens_per_cny_blended(1.1) == pytest.approx(909_090.9, abs=0.1)
    assert tokens_per_cny_blended(None) is None


def test_the_column_is_declared_and_filled():
    c = schema.BY_NAME["tokens_per_cny_blended"]
    assert c.unit == "tokens/CNY" and c.better == schema.HIGHER and c.source == "cost"
    assert "tokens_per_cny_blended" in schema.COLUMNS[schema.COLUMNS.index("engine_version"):]  # after schema 2
    cols = run_cost_columns(fixture_row(), "L20")  # 3.87 CNY/h rental (AutoDL)
    # input 3.87 x 2 / 3600 / 0.1 = 0.0215; output 3.87 x 8 / 3600 / 0.0401 = 0.214464
    # blended 3:1 = (3 x 0.0215 + 0.214464) / 4 = 0.069741 -> 14,338,776 tokens per CNY
    assert cols["tokens_per_cny_blended"] == pytest.approx(14_338_776, abs=1)


def _cost_out(tmp_path, csv_path) -> float:
    out = tmp_path / "cost.csv"
    assert main(["cost", str(csv_path), "--hardware", "H100-SXM", "--as-of", "2024-06-01", "--out", str(out)]) == 0
    with out.open(newline="") as f:
        return float(next(csv.DictReader(f))["tokens_per_cny_blended"])


def test_bench_cost_and_bench_report_print_the_same_figure(tmp_path, capsys):
    r = row("qwen2.5-7b-instruct", "H100-SXM", 32, hardware="H100-SXM")
    path = write_rows(tmp_path / "one.csv", [r])
    from_cost = _cost_out(tmp_path, path)
    # the GPU quote in force on the --as-of day (bench cost picks it so too)
    expected = self_cost(r, CostOptions(hardware="H100-SXM", as_of=dt.date(2024, 6, 1))).tokens_per_cny_blended
    assert from_cost == pytest.approx(expected)
    printed = capsys.readouterr().out
    assert assert_count_in(printed, from_cost)
    assert main(["report", str(path), "--as-of", "2024-06-01", "--out", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    md = (tmp_path / "r" / "report.md").read_text()
    table = md[md.index("## Self-hosted cost vs vendor API prices"):]
    line = next(x for x in table.splitlines() if x.startswith("| qwen2.5-7b-instruct · H100-SXM"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert float(cells[5].replace(",", "")) == pytest.approx(from_cost, rel=1e-3)
    claims = md[md.index("## The articles' claims"):]
    claim3 = next(x for x in claims.splitlines() if x.startswith("| 3 |"))
    assert "tokens per CNY blended at 3:1 input:output" in claim3
    assert f"{from_cost / 1e6:,.3g}M" in claim3


def assert_count_in(text: str, x: float) -> bool:
    """`bench cost`'s table prints the figure as 1.62M (3 significant digits)."""
    return re.search(rf"tokens per CNY \(blended 3:1\)\s*│?\s*{re.escape(f'{x / 1e6:.3g}M')}", text) is not None
