"""Tiered vendor prices: a price that depends on the request's input (prompt) length, its output length,
and whether the model thinks, with its own cache-hit price per tier.

A tier covers prompts of `input_above` < tokens <= `input_up_to` and outputs of `output_above` < tokens <=
`output_up_to` (an upper bound of null is open). The tiers of one row must tile the plane exactly: their input
ranges, from 0 up, meet end to start with no gap and no overlap, and within each input range the output ranges
do the same (GLM-4.5 and doubao-seed-1.6 price outputs of at most 200 tokens lower, in their first input range
only).

Two choices, stated once here and in docs/cost.md:
- the default price of a tiered row (its `input_per_m` / `output_per_m`, what a blended price or a comparison
  without request lengths uses) is the smallest tier: the lowest input range and, within it, the lowest output
  range (`smallest_tier`);
- with a workload's lengths known, `pick_tier` returns the tier whose ranges hold the request's input and output
  token counts; a request longer than every tier takes the last one (the vendor refuses it; its price is the
  nearest the book holds).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, model_validator

from bench.config.files import Strict


class Tier(Strict):
    """One tier of a tiered price: the request lengths it covers and its prices per million tokens."""

    input_above: int = Field(0, ge=0, description="prompt tokens above which the tier applies (exclusive)")
    input_up_to: int | None = Field(None, gt=0, description="prompt tokens up to which it applies (inclusive); "
                                                            "null: no upper bound")
    output_above: int = Field(0, ge=0, description="output tokens above which the tier applies (exclusive)")
    output_up_to: int | None = Field(None, gt=0, description="output tokens up to which it applies (inclusive); "
                                                             "null: no upper bound")
    input_per_m: float = Field(ge=0, description="input price per million tokens (cache miss)")
    input_cache_hit_per_m: float | None = Field(None, ge=0, description="input price per million cached tokens")
    output_per_m: float = Field(ge=0, description="output price per million tokens (non-thinking, or the only one)")
    thinking_output_per_m: float | None = Field(None, ge=0, description="output price in thinking mode, where the "
                                                                        "vendor prices it apart")

    @model_validator(mode="after")
    def _ordered(self):
        for side in ("input", "output"):
            low, high = getattr(self, f"{side}_above"), getattr(self, f"{side}_up_to")
            if high is not None and high <= low:
                raise ValueError(f"a tier's {side}_up_to ({high}) must be above its {side}_above ({low})")
        return self

    @property
    def input_range(self) -> tuple[int, int | None]:
        return self.input_above, self.input_up_to

    @property
    def output_range(self) -> tuple[int, int | None]:
        return self.output_above, self.output_up_to


def _span(low: int, high: int | None) -> str:
    return f"{low}-{'open' if high is None else high}"


def _check_tiling(ranges: list[tuple[int, int | None]], what: str) -> None:
    """`ranges` (distinct, sorted by their lower bound) must run from 0 with no gap and no overlap, only the
    last one open; ValueError naming the first fault."""
    if ranges[0][0] != 0:
        raise ValueError(f"tiers leave a gap: {what} tokens 0-{ranges[0][0]} are in no tier (start the first at 0)")
    for (lo_a, hi_a), (lo_b, hi_b) in zip(ranges, ranges[1:]):
        if hi_a is None or hi_a > lo_b:
            raise ValueError(f"tiers overlap: {what} tokens {_span(lo_a, hi_a)} and {_span(lo_b, hi_b)} "
                             "(a tier must start where the one before ends)")
        if hi_a < lo_b:
            raise ValueError(f"tiers leave a gap: {what} tokens {hi_a}-{lo_b} are in no tier "
                             "(a tier must start where the one before ends)")


def check_tiers(tiers: list[Tier]) -> list[Tier]:
    """The tiers in order (input range, then output range) if they tile the plane of request lengths;
    ValueError naming the first overlap or gap otherwise."""
    if not tiers:
        raise ValueError("tiers: give at least one tier, or leave tiers out")
    ordered = sorted(tiers, key=lambda t: (t.input_above, t.output_above))
    inputs = sorted({t.input_range for t in ordered}, key=lambda r: (r[0], r[1] is None, r[1] or 0))
    _check_tiling(inputs, "input")
    for rng in inputs:
        outputs = [t.output_range for t in ordered if t.input_range == rng]
        if len(set(outputs)) < len(outputs):
            raise ValueError(f"tiers overlap: two tiers for input tokens {_span(*rng)} and the same output range")
        _check_tiling(sorted(outputs, key=lambda r: r[0]), f"output (of input {_span(*rng)})")
    return ordered


def smallest_tier(tiers: list[Tier]) -> Tier:
    """The tier a tiered row's default price comes from: the lowest input range and, in it, the lowest output
    range (the tiers are checked, so this one starts at 0 on both)."""
    return min(tiers, key=lambda t: (t.input_above, t.output_above))


def _holds(low: int, high: int | None, tokens: float) -> bool:
    return tokens > low and (high is None or tokens <= high) or (low == 0 and tokens <= 0)


@dataclass(frozen=True)
class TierPrice:
    """The prices that apply to one request (per million tokens, in the row's currency)."""

    input_per_m: float
    input_cache_hit_per_m: float | None
    output_per_m: float
    tier: Tier | None  # None: the row has no tiers


def pick_tier(tiers: list[Tier], input_tokens: float, output_tokens: float) -> Tier:
    """The tier holding a request of `input_tokens` prompt tokens and `output_tokens` output tokens:
    input_above < input_tokens <= input_up_to and likewise for the output (0 tokens falls in the first range).
    A request beyond every tier takes the last tier of its input range, or the last input range."""
    ordered = check_tiers(tiers)
    in_range = [t for t in ordered if _holds(t.input_above, t.input_up_to, input_tokens)] or \
        [t for t in ordered if t.input_range == ordered[-1].input_range]
    return next((t for t in in_range if _holds(t.output_above, t.output_up_to, output_tokens)), in_range[-1])


def tier_price(tier: Tier, thinking: bool = False) -> TierPrice:
    """The tier's prices for a request in thinking mode or not: the thinking output price where the tier has
    one, else its output price."""
    out = tier.thinking_output_per_m if thinking and tier.thinking_output_per_m is not None else tier.output_per_m
    return TierPrice(tier.input_per_m, tier.input_cache_hit_per_m, out, tier)
