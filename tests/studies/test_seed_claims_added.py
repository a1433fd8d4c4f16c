"""The seed claims: each basis precise, the caveats printed, and the added claims' arithmetic
written out by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from result_rows import row, sim_row

from bench.analysis.report.build import catalog_configs
from bench.analysis.report.cost import cheapest_per_config, price_runs, row_hardware, vendors_of
from bench.analysis.report.model import Run
from bench.config.hardware import load_hardware
from bench.config.prices import in_force, load_prices
from bench.cost.pricing import CostOptions
from bench.studies import seed_claims as sc
from bench.studies import seed_claims_added as added
from bench.studies.claim_inputs import ClaimInputs

AS_OF = dt.date(2024, 6, 1)


def inputs(rows: list[dict], book=None) -> ClaimInputs:
    hw = load_hardware()
    book = book or load_prices()
    runs = [Run(r, "t.csv", row_hardware(r, None, hw)) for r in rows]
    opts = CostOptions()
    priced, _ = price_runs(runs, opts, hw)
    vendors = vendors_of(in_force(book, AS_OF, None).prices, opts.mix, opts.fx_cny_per_usd)
    return ClaimInputs(runs=runs, best=cheapest_per_config(priced), vendors=vendors, book=book, hardware=hw,
                       opts=opts, as_of=AS_OF, configs=catalog_configs())


def small_book(tmp_path: Path, rows: str):
    path = tmp_path / "prices.yaml"
    path.write_text("schema_version: 1\nprices:\n" + rows)
    return load_prices(path)


def test_kv_fraction_of_a_dense_model():
    text, basis = added.kv_fraction_claim(inputs([]))
    # V2: 60 layers x (512 + 64) x 2 B = 69,120; at 6 bits 69,120 x 6 / 16 = 25,920
    # 67B GQA: 95 x 2 x 8 heads x 128 x 2 B = 389,120 -> 389,120 / 69,120 = 5.63; / 25,920 = 15.0
    # 67B MHA: 95 x 2 x 64 x 128 x 2 B = 3,112,960 -> / 69,120 = 45.0; / 25,920 = 120 (beyond 1/100)
    assert "DeepSeek-V2 69,120 KV bytes/token at bf16 (25,920 at ~6 bits)" in text
    assert "389,120 B/token: 1/5.63 at bf16, 1/15 with a ~6-bit latent" in text
    assert "3,112,960 B/token: 1/45 at bf16, 1/120 (outside 1/5-1/100)" in text
    assert basis == "computed from configs"


def test_doubao_cuts_follow_from_120_cny_per_m():
    text, basis = added.doubao_cut_claim(inputs([]))
    # 1 - 0.8 / 120 = 0.99333 -> 99.3%; 1 - 5 / 120 = 0.95833 -> 95.8%
    assert "doubao-pro-32k 0.8 CNY/M input: 1 - 0.8 / 120 = 99.3% below" in text
    assert "doubao-pro-128k 5 CNY/M input: 1 - 5 / 120 = 95.8% below" in text
    assert basis == "computed from prices.yaml (in force 2024-05-15) + assumed (the article's 120 CNY/M reference)"


def test_doubao_cuts_say_what_prices_yaml_lacks(tmp_path):
    book = small_book(tmp_path, "  - {vendor: X, model: other, applies_from: 2024-01-01, currency: CNY, "
                                "input_per_m: 1, output_per_m: 2, source: test, checked_on: 2024-01-01}\n")
    text, _ = added.doubao_cut_claim(inputs([], book))
    assert "doubao-pro-32k: not in prices.yaml" in text and "120 CNY/M input in prices.yaml: not in prices.yaml" in text


def test_deepseek_is_about_a_hundredth_of_gpt4_turbo():
    text, basis = added.deepseek_gpt4_claim(inputs([]))
    # GPT-4 Turbo USD 10 / 30 x 7.2 = 72 / 216 CNY/M; DeepSeek-V2 1 / 2
    # blended 3:1: (3 x 1 + 2) / 4 = 1.25 vs (3 x 72 + 216) / 4 = 108 -> 1/86.4
    assert "input 1 vs 72 CNY/M = 1/72; output 2 vs 216 CNY/M = 1/108; blended 3:1 1.25 vs 108 CNY/M = 1/86.4" in text
    assert basis == "computed from prices.yaml (in force 2024-05-06)"


def test_characters_per_token():
    text, basis = added.chars_per_token_claim(inputs([]))
    # 0.8 CNY/M tokens / 1.5 characters per token = 0.533 CNY/M characters; 1.25M tokens x 1.5 = 1.875M characters
    assert "0.8 CNY/M input tokens = 0.533 CNY/M characters; 1 CNY buys 1.88M characters" in text
    assert "not measured in these results" in text and basis.startswith("assumed (the article's 1.5")


def test_utilisation_at_30000_tokens_per_cny():
    # tokens per CNY at u = tokens per CNY at 100% x u: 1,000,000 x u = 30,000 -> u = 3%
    assert added.utilization_for_tokens_per_cny(1_000_000, 30_000) == pytest.approx(0.03)
    inp = inputs([sim_row("qwen2.5-7b-instruct", "H100-SXM", 32)])
    text, basis = added.self_hosted_30k_claim(inp)
    full = inp.best[0].cost.tokens_per_cny_blended
    assert f"-> 30k at {100 * 30_000 / full:.3g}% utilisation" in text
    assert basis == "computed from hardware.yaml (rental) + simulated (roofline)"


def test_kv_claim_on_sim_rows_says_simulated_and_the_tp_caveat():
    rows = [sim_row("deepseek-v2-lite-chat", "H100-SXM", 8, tensor_parallel_size=8),
            sim_row("qwen2.5-7b-instruct", "H100-SXM", 8)]
    text, basis = sc.kv_claim(inputs(rows))
    assert basis == "computed from configs + simulated (roofline)"
    # result_rows: 31,104 vs 57,344 B/token -> 0.542x
    assert "simulated (roofline): deepseek-v2-lite-chat 31,104 B/token = 0.542x of qwen2.5-7b-instruct's 57,344" in text
    assert "the MLA run is TP8: its latent is replicated on each of the 8 GPUs" in text
    measured = [row("deepseek-v2-lite-chat", "H100-SXM", 8), row("qwen2.5-7b-instruct", "H100-SXM", 8)]
    text, basis = sc.kv_claim(inputs(measured))
    assert basis == "computed from configs + measured" and "caveat" not in text


def test_dedicated_claim_blends_qwen_turbo_at_the_mix():
    text, basis = sc.dedicated_claim(inputs([]))
    # qwen-turbo 2 / 6 blended 3:1 = (3 x 2 + 6) / 4 = 3 CNY/M; 20,000 / 730 h x 24 h = 657.53 CNY a day
    # 657.53 / 3 CNY/M = 219.2M tokens a day; x 30.42 days = 6.67B a month
    assert "2 in / 6 out CNY/M, 3 blended 3:1" in text and "above 219M tokens/day (6.67G/month)" in text
    assert basis.startswith("computed from prices.yaml (in force 2024-05-21) + assumed")


def test_trend_compares_one_model_only_and_gives_a_rate_a_year(tmp_path):
    book = small_book(tmp_path, """\
  - {vendor: V, model: m, applies_from: 2024-01-01, applies_to: 2024-12-31, currency: CNY, input_per_m: 10,
     output_per_m: 10, source: t, checked_on: 2025-01-01}
  - {vendor: V, model: m, applies_from: 2025-01-01, currency: CNY, input_per_m: 2, output_per_m: 2, source: t, checked_on: 2025-01-01}
  - {vendor: D, model: chat, version: A, applies_from: 2024-01-01, applies_to: 2024-06-30, currency: CNY,
     input_per_m: 1, output_per_m: 2, source: t, checked_on: 2025-01-01}
  - {vendor: D, model: chat, version: B, applies_from: 2024-07-01, currency: CNY, input_per_m: 4, output_per_m: 8,
     source: t, checked_on: 2025-01-01}
""")
    text, basis = sc.trend_claim(inputs([], book))
    # m: 10 -> 2 CNY/M = 5x over 366 days (2024 is a leap year): 5 ** (365.25 / 366) = 4.98x a year
    assert "m 5x cheaper from 2024-01-01 to 2025-01-01 (366 days; annualised 4.98x cheaper a year)" in text
    assert "chat" not in text.split("not compared")[0]  # versions A and B are different models
    assert "not compared across the models one API name served: chat (A, B)" in text
    assert basis == "computed from prices.yaml (dated rows) and hardware.yaml"
