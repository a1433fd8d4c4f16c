"""The articles' claims on the price book of 2026 (bench.studies.seed_claims): a price step is shown only where
the price changed, a cut within months gets no yearly rate, one API name's successive models are not compared."""

from __future__ import annotations

from bench.config.prices import load_prices
from bench.studies import seed_claims as sc
from bench.studies.claim_inputs import _rows_of


def test_a_price_step_is_shown_only_when_the_price_changed():
    text = sc._history_text(_rows_of(load_prices(), "deepseek-chat"))
    # V2 1/2, V2/V2.5/V3 1/2 (same price: no step), V3 2/8, V3.1 4/12, V3.2 2/3, V4-Flash 1/2 (twice: one step)
    assert text == ("1/2 -> 2/8 from 2025-02-09 (+100% input) -> 4/12 from 2025-09-05 (+100% input) -> "
                    "2/3 from 2025-09-29 (-50% input) -> 1/2 from 2026-04-24 (-50% input)")
    assert "1/2 -> 1/2" not in text

def test_no_yearly_rate_from_a_cut_within_months_and_no_comparison_across_models():
    changes = [t for _, t in sc._price_changes(load_prices(), (3, 1), 7.2)]
    # qwen-turbo 2 / 6 -> 0.3 / 0.6 121 days later: blended 3:1 (3 x 2 + 6) / 4 = 3 -> (3 x 0.3 + 0.6) / 4 = 0.375,
    # 8x; 8 ** (365.25 / 121) would read as 532x a year: no rate is given under a year
    assert "qwen-turbo 8x cheaper from 2024-05-21 to 2024-09-19 (121 days: under a year, no yearly rate)" in changes
    assert not any("532" in t for t in changes)
    # qwen-max: Qwen-Max 40 / 120 and the Qwen2.5-Max of 2025 are different models, never compared
    assert not any(t.startswith("qwen-max") for t in changes)
    # ERNIE 4.0 8K 120 / 120 -> 4 / 16 over 379 days: blended 120 -> (12 + 16) / 4 = 7, 17.1x; 17.14 ** (365.25 / 379)
    assert "ernie-4.0-8k 17.1x cheaper from by 2024-03-02 to by 2025-03-16 (379 days; annualised 15.5x cheaper a " \
        "year)" in changes
