"""Cache-aware cost: a cached prompt token's share of step time is 0 on the self-hosted
side, and a vendor's input is priced at its cache-hit price at the measured hit rate. Hand-computed."""

import csv
import re

import pytest

from bench.cli import main
from bench.cost import formulas as cost
from bench.cost.pricing import CostOptions, row_vendor_use, self_cost
from bench.cost.vendor_use import LIST, VendorUse
from bench.results import cells
from bench.results import store as results
from tests.cost.test_formulas import measured_row


def test_a_miss_costs_the_prefill_over_the_computed_tokens():
    # 40 CNY/h, 9 s of prefill, 1,000,000 input tokens of which 250,000 cached: 40 x 9 / 3600 = 0.1 CNY
    assert cost.cny_per_m_input(40.0, 9.0, 1_000_000) == pytest.approx(0.1)  # over all inputs
    assert cost.cny_per_m_input_uncached(40.0, 9.0, 1_000_000, 250_000) == pytest.approx(0.1 / 0.75)  # 0.1333
    assert cost.cny_per_m_input_uncached(40.0, 9.0, 1_000_000, 1_000_000) is None  # nothing computed


def test_self_cost_with_measured_cache_hits():
    # the fixture: 100,000 input tokens, prefill 2 s of 10 s; 25,000 of them cached (hit rate 0.25)
    row = measured_row(cached_prompt_tokens=25_000, prefix_cache_hit_rate=0.25)
    mine = self_cost(row, CostOptions(gpu_cny_per_hour=36.0))
    # 36 CNY/h x 2 s = 0.02 CNY: over 0.1 M inputs 0.2 CNY/M; over the 0.075 M computed 0.2667 CNY/M
    assert mine.cny_per_m_input == pytest.approx(0.2)
    assert mine.cny_per_m_input_uncached == pytest.approx(0.02 / 0.075)
    assert mine.cache_hit_rate == 0.25
    plain = self_cost(measured_row(), CostOptions(gpu_cny_per_hour=36.0))
    assert plain.cache_hit_rate is None and plain.cny_per_m_input_uncached is None


def test_the_vendor_is_priced_at_the_measured_rate_unless_one_is_given():
    row = cells.row(measured_row(prefix_cache_hit_rate="0.25"))  # as read back
    assert row_vendor_use(row, LIST, hit_rate_given=False).cache_hit_rate == 0.25
    assert row_vendor_use(row, VendorUse(cache_hit_rate=0.5), hit_rate_given=True).cache_hit_rate == 0.5
    assert row_vendor_use(measured_row(), LIST, hit_rate_given=False) is LIST


def test_bench_cost_says_both_sides_at_the_measured_rate(tmp_path, capsys):
    runs = tmp_path / "runs.csv"
    results.append_row(runs, measured_row(cached_prompt_tokens=25_000, prefix_cache_hit_rate=0.25))
    out = tmp_path / "cost.csv"
    rc = main(["cost", str(runs), "--gpu-cny-per-hour", "36", "--as-of", "2024-09-01", "--vendors", "deepseek",
               "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert re.search(r"prefix-cache hit rate \(measured\)\s*│\s*25%\s*│", printed)
    line = next(csv.DictReader(out.open()))
    # DeepSeek V2.5 on 2024-09-01: input 1, cache hit 0.1, output 2 CNY/M. At 25% hits:
    # input 0.25 x 0.1 + 0.75 x 1 = 0.775; blended 3:1 (3 x 0.775 + 2) / 4 = 1.08125
    assert float(line["vendor_cny_per_m_input"]) == pytest.approx(0.775)
    assert float(line["vendor_cny_per_m_blended"]) == pytest.approx(1.08125)
    assert line["vendor_basis"] == "cache hit 25%" and float(line["cache_hit_rate"]) == 0.25
    assert float(line["cny_per_m_input"]) == pytest.approx(0.2)
    assert float(line["cny_per_m_input_uncached"]) == pytest.approx(0.02 / 0.075, rel=1e-5)  # CSV: 6 digits
    # --cache-hit-rate 0 prices every vendor at its list (miss) price again
    rc = main(["cost", str(runs), "--gpu-cny-per-hour", "36", "--as-of", "2024-09-01", "--vendors", "deepseek",
               "--cache-hit-rate", "0", "--out", str(out)])
    line = next(csv.DictReader(out.open()))
    assert rc == 0 and float(line["vendor_cny_per_m_input"]) == pytest.approx(1.0) and line["vendor_basis"] == "list"
