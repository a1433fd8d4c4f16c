"""Money: CNY per USD, converting an amount to CNY, the blended price of an input and an output price, and the
owned-basis defaults of a GPU-hour.

The one place these live: configuration files, cost formulas and every display read them from here.
"""

from __future__ import annotations

import math

from bench.core.formats import given

# CNY per USD. Federal Reserve H.10 (FRED series EXCHUS) monthly averages: 7.2063 in Nov 2024,
# 7.2807 in Dec 2024, 7.2957 in Jan 2025; the same 7.2 converts the USD rows of
# ../shared/reference/api_prices_cny.csv. Override with --fx-cny-per-usd.
DEFAULT_FX_CNY_PER_USD = 7.2
DEFAULT_FX_DATE = "FRED EXCHUS monthly averages, 2024-11 to 2025-02"  # when 7.2 was observed; printed beside costs
# Input:output token mix of public price comparisons (3 input tokens per output token).
DEFAULT_MIX = (3.0, 1.0)

# Owned-basis defaults (docs/cost.md gives the sources): here, below the options that show them
# (bench.config.pricing) and the formulas that use them (bench.cost.formulas).
DEFAULT_AMORTIZATION_YEARS = 3.0  # the 2-3 year economic life of frontier GPUs (aidatacenterguide.com ch. 1.8);
# SemiAnalysis' owning tiers use 4 years (only their rental tier is 3): --years 4 matches them
DEFAULT_ELECTRICITY_CNY_PER_KWH = 0.63  # China's average industrial rate, USD 0.088/kWh in 2024, at 7.2
DEFAULT_PUE = 1.3  # MIIT target for new large data centres (2021-2023 action plan, 14th five-year plan)
DEFAULT_HOSTING_CNY_PER_MONTH_PER_CARD = 0.0


def to_cny(amount: float, currency: str, fx_cny_per_usd: float = DEFAULT_FX_CNY_PER_USD) -> float:
    """An amount in CNY or USD, in CNY."""
    if currency == "CNY":
        return amount
    if currency == "USD":
        return amount * fx_cny_per_usd
    raise ValueError(f"unknown currency {currency!r} (CNY or USD)")


def cny_per_m_blended(input_cny_per_m: float, output_cny_per_m: float, mix: tuple[float, float] = DEFAULT_MIX) -> float:
    """Price of a million tokens at an input:output mix a:b: (a x input + b x output) / (a + b)."""
    a, b = mix
    return (a * input_cny_per_m + b * output_cny_per_m) / (a + b)


def parse_mix(text: str) -> tuple[float, float]:
    """'3:1' -> (3.0, 1.0): input tokens to output tokens, both >= 0 and not both zero."""
    parts = text.split(":")
    try:
        a, b = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"expected INPUT:OUTPUT such as 3:1, got {text!r}") from None
    if a < 0 or b < 0 or a + b == 0 or not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"expected two non-negative numbers, not both zero, such as 3:1, got {text!r}")
    return a, b


def format_mix(mix: tuple[float, float]) -> str:
    return ":".join(given(x) for x in mix)
