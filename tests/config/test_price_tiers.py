"""Tiered vendor prices (bench.config.price_tiers and VendorPrice's tiers): by input length, by output length
(doubao's and GLM's 200-token output tier), thinking output and cache hits per tier; the default price is the
smallest tier; a table with an overlap or a gap is refused. Expected values are computed by hand."""

from __future__ import annotations

import pytest

from bench.config.price_tiers import Tier, check_tiers, pick_tier, smallest_tier
from bench.config.prices import PriceBook

ROW = {"vendor": "V", "model": "m", "applies_from": "2025-01-01", "currency": "CNY", "source": "test",
       "checked_on": "2025-01-01"}
# doubao-seed-1.6's table: input <= 32K with output <= 200 tokens, or above; 32K-128K; 128K-256K
SEED_TIERS = [
    {"input_up_to": 32000, "output_up_to": 200, "input_per_m": 0.8, "output_per_m": 2},
    {"input_up_to": 32000, "output_above": 200, "input_per_m": 0.8, "output_per_m": 8},
    {"input_above": 32000, "input_up_to": 128000, "input_per_m": 1.2, "output_per_m": 16},
    {"input_above": 128000, "input_up_to": 256000, "input_per_m": 2.4, "output_per_m": 24},
]



def book(*rows: dict) -> PriceBook:
    return PriceBook.model_validate({"schema_version": 1, "prices": list(rows)})


def tiers(rows: list[dict]) -> list[Tier]:
    return [Tier.model_validate(t) for t in rows]


@pytest.mark.parametrize("tokens_in, tokens_out, expected", [
    (1_000, 150, (0.8, 2)),      # a short answer: the 200-token output tier
    (1_000, 200, (0.8, 2)),      # 200 is in it (<= 200)
    (1_000, 201, (0.8, 8)),      # one token more: the other output tier
    (32_000, 500, (0.8, 8)),     # 32,000 is in the first input range (<= 32K)
    (32_001, 10, (1.2, 16)),     # above it: the 32K-128K tier, whatever the output
    (200_000, 10, (2.4, 24)),
    (300_000, 10, (2.4, 24)),    # beyond every tier (the vendor refuses it): the last, the nearest held
    (0, 0, (0.8, 2)),
])
def test_pick_tier_by_input_and_output_length(tokens_in, tokens_out, expected):
    t = pick_tier(tiers(SEED_TIERS), tokens_in, tokens_out)
    assert (t.input_per_m, t.output_per_m) == expected

def test_the_default_price_of_a_tiered_row_is_its_smallest_tier():
    p = book({**ROW, "tiers": SEED_TIERS}).prices[0]
    # no top-level prices given: they come from the tier of the lowest input and lowest output range
    assert (p.input_per_m, p.output_per_m) == (0.8, 2)
    assert smallest_tier(p.tiers).output_up_to == 200
    # blended 3:1 from the default: (3 x 0.8 + 2) / 4 = 1.10
    assert p.blended_cny_per_m((3, 1)) == pytest.approx(1.10)
    # a run of 512 in / 256 out pays the second tier: (3 x 0.8 + 8) / 4 = 2.60
    assert p.for_request(512, 256).blended_cny_per_m((3, 1)) == pytest.approx(2.60)
    assert p.for_request(None, 256) is p  # a length unknown: the default
    with pytest.raises(ValueError, match="differ from the smallest tier"):
        book({**ROW, "input_per_m": 1.2, "output_per_m": 16, "tiers": SEED_TIERS})

def test_thinking_output_and_cache_price_per_tier():
    qwen_plus = [  # Bailian's qwen-plus: by input length, thinking output apart, cache hit 20%
        {"input_up_to": 128000, "input_per_m": 0.8, "input_cache_hit_per_m": 0.16, "output_per_m": 2,
         "thinking_output_per_m": 8},
        {"input_above": 128000, "input_up_to": 256000, "input_per_m": 2.4, "input_cache_hit_per_m": 0.48,
         "output_per_m": 20, "thinking_output_per_m": 24},
    ]
    p = book({**ROW, "tiers": qwen_plus}).prices[0]
    assert p.thinking_output_per_m == 8 and p.input_cache_hit_per_m == 0.16
    r = p.request_price(150_000, 1_000, thinking=True)
    assert (r.input_per_m, r.input_cache_hit_per_m, r.output_per_m) == (2.4, 0.48, 24)
    assert p.request_price(150_000, 1_000).output_per_m == 20
    # one request of 150,000 prompt tokens (60% from the cache) and 1,000 thinking output tokens costs
    # (0.6 x 150,000 x 0.48 + 0.4 x 150,000 x 2.4 + 1,000 x 24) / 1e6 = (43,200 + 144,000 + 24,000) / 1e6 CNY
    cost = (0.6 * 150_000 * r.input_cache_hit_per_m + 0.4 * 150_000 * r.input_per_m + 1_000 * r.output_per_m) / 1e6
    assert cost == pytest.approx(0.2112)

@pytest.mark.parametrize("table, message", [
    ([{"input_up_to": 32000, "input_per_m": 1, "output_per_m": 2},
      {"input_above": 16000, "input_per_m": 2, "output_per_m": 4}], "tiers overlap: input tokens 0-32000 and 16000-open"),
    ([{"input_up_to": 32000, "input_per_m": 1, "output_per_m": 2},
      {"input_above": 64000, "input_per_m": 2, "output_per_m": 4}], "tiers leave a gap: input tokens 32000-64000"),
    ([{"input_above": 1000, "input_per_m": 1, "output_per_m": 2}], "tiers leave a gap: input tokens 0-1000"),
    ([{"input_up_to": 32000, "output_up_to": 200, "input_per_m": 1, "output_per_m": 2},
      {"input_up_to": 32000, "output_above": 300, "input_per_m": 1, "output_per_m": 8},
      {"input_above": 32000, "input_per_m": 2, "output_per_m": 9}], r"gap: output \(of input 0-32000\) tokens 200-300"),
    ([{"input_up_to": 32000, "input_per_m": 1, "output_per_m": 2},
      {"input_up_to": 32000, "input_per_m": 1, "output_per_m": 3}], "two tiers for input tokens 0-32000"),
    ([{"input_above": 5000, "input_up_to": 4000, "input_per_m": 1, "output_per_m": 2}], "must be above"),
])
def test_a_tier_table_with_overlaps_or_gaps_is_refused(table, message):
    with pytest.raises(ValueError, match=message):
        check_tiers(tiers(table))
