"""What a million tokens costs: pure functions, units in every name.

Money is CNY unless a name says otherwise; "per_m" is per million (1e6) tokens; rates are
per hour of wall-clock time of the whole machine slice the run used (all its GPUs).

The formulas, in the order a cost is built:

1. Hourly cost of the hardware (CNY per hour):
   - rental: price per card-hour x GPUs;
   - owned: purchase / (years x 8760 h) x GPUs            (capital, straight-line, no resale)
            + power kW x electricity CNY/kWh x PUE         (energy; measured power, else TDP)
            + hosting CNY per card-month x GPUs / 730 h     (rack, network, operations).
2. Cost of a million tokens of any kind: hourly cost / (total tok/s x 3600 / 1e6).
3. Input vs output: the run's wall time is split into prefill and decode seconds; input
   tokens carry the prefill share of the cost, output tokens the decode share. Each engine
   step is split between its prefill-chunk tokens and its decode tokens by their cost in it
   (`prefill_decode_seconds_by_steps`); rows without per-step data fall back to decode =
   steps x TPOT (`prefill_decode_seconds`). The two parts add up to the run's
   whole cost: cny_per_m_input x input M + cny_per_m_output x output M = hourly cost x hours.
4. Blended price at an input:output mix a:b: (a x input + b x output) / (a + b); the same
   formula for a vendor's list prices, so the two are comparable.
5. Utilisation u (the share of the hours the hardware does useful work): cost per token / u.
6. Break-even utilisation against a vendor: self cost at 100% / vendor price (self-hosting
   wins above it; above 1 it never wins). Break-even daily volume: the tokens a day whose
   vendor bill equals a day of the hardware, hourly cost x 24 / vendor CNY per token.
"""

from __future__ import annotations

import math

# Money (FX, conversion, blends, the owned-basis defaults) lives in bench.core.money; the formulas read it from there.
from bench.core.money import (DEFAULT_AMORTIZATION_YEARS, DEFAULT_ELECTRICITY_CNY_PER_KWH,  # noqa: F401
                              DEFAULT_FX_CNY_PER_USD, DEFAULT_FX_DATE, DEFAULT_HOSTING_CNY_PER_MONTH_PER_CARD,
                              DEFAULT_MIX, DEFAULT_PUE, cny_per_m_blended, format_mix, parse_mix, to_cny)

HOURS_PER_YEAR = 8760.0
HOURS_PER_MONTH = HOURS_PER_YEAR / 12  # 730
TOKENS_PER_M = 1e6
SECONDS_PER_HOUR = 3600.0


def rental_cny_per_hour(cny_per_card_hour: float, gpu_count: int) -> float:
    """Renting: the price of one card for one hour times the cards the run used."""
    return cny_per_card_hour * gpu_count


def owned_capital_cny_per_hour(purchase_cny_per_card: float, gpu_count: int, amortization_years: float) -> float:
    """Purchase price written off in equal parts over every hour of `amortization_years`."""
    return purchase_cny_per_card * gpu_count / (amortization_years * HOURS_PER_YEAR)


def energy_cny_per_hour(power_w: float, electricity_cny_per_kwh: float, pue: float) -> float:
    """Electricity for `power_w` watts drawn for one hour, grossed up by the site's PUE."""
    return power_w / 1000.0 * electricity_cny_per_kwh * pue


def hosting_cny_per_hour(hosting_cny_per_month_per_card: float, gpu_count: int) -> float:
    """A monthly hosting fee per card (rack space, network, operations) per hour."""
    return hosting_cny_per_month_per_card * gpu_count / HOURS_PER_MONTH


def owned_cny_per_hour(purchase_cny_per_card: float, gpu_count: int, power_w: float,
                       electricity_cny_per_kwh: float = DEFAULT_ELECTRICITY_CNY_PER_KWH,
                       pue: float = DEFAULT_PUE,
                       amortization_years: float = DEFAULT_AMORTIZATION_YEARS,
                       hosting_cny_per_month_per_card: float = DEFAULT_HOSTING_CNY_PER_MONTH_PER_CARD) -> float:
    """Owning: capital + energy + hosting per hour. `power_w` is the draw of all the run's cards
    together (measured, else TDP x cards); energy is charged for every hour, busy or idle."""
    return (owned_capital_cny_per_hour(purchase_cny_per_card, gpu_count, amortization_years)
            + energy_cny_per_hour(power_w, electricity_cny_per_kwh, pue)
            + hosting_cny_per_hour(hosting_cny_per_month_per_card, gpu_count))


def million_tokens_per_hour(tok_s: float) -> float:
    return tok_s * SECONDS_PER_HOUR / TOKENS_PER_M


def cny_per_m_total(cny_per_hour: float, total_tok_s: float) -> float:
    """Cost of a million tokens of any kind (input and output counted alike)."""
    if total_tok_s <= 0:
        raise ValueError(f"throughput must be positive, got {total_tok_s} tok/s")
    return cny_per_hour / million_tokens_per_hour(total_tok_s)


def decode_concurrency(max_num_seqs: int, requests: int, kv_capacity_tokens: int | None = None,
                       tokens_per_request: int | None = None) -> int:
    """How many sequences decode together: the batch cap, no more than the requests, and no
    more than the KV cache holds at the full length of a request (when those are known)."""
    n = min(max_num_seqs, requests)
    if kv_capacity_tokens and tokens_per_request:
        n = min(n, kv_capacity_tokens // tokens_per_request)
    return max(n, 1)


def prefill_decode_seconds(elapsed_s: float, output_tokens: int, requests: int, concurrency: int,
                           tpot_s: float) -> tuple[float, float]:
    """Split a run's wall time into (prefill seconds, decode seconds).

    Method: every request's first output token comes out of its prefill; each further output
    token is one decode step, and `concurrency` sequences share a step. So the engine ran
    (output_tokens - requests) / concurrency decode steps, each lasting one TPOT (the mean time
    between two output tokens of a request):

        decode_s  = (output_tokens - requests) / concurrency x tpot_s
        prefill_s = elapsed_s - decode_s

    both clamped to [0, elapsed_s]. The fallback for rows without per-step data: with chunked
    prefill a step that also carries prefill chunks is longer, that time lands in decode_s (TPOT
    includes it), and input tokens are under-charged once prompts are long (qwen2.5-7b on H100,
    1024 in / 256 out x 256 prompts, batch 64: prefill time 0.35x its compute floor). Rows whose
    engine reports its steps use prefill_decode_seconds_by_steps instead (docs/cost.md).
    """
    decode_steps = max(output_tokens - requests, 0) / max(concurrency, 1)
    decode_s = min(max(decode_steps * tpot_s, 0.0), elapsed_s)
    return elapsed_s - decode_s, decode_s


def step_share_seconds(step_s: float, prefill_cost: float, decode_cost: float) -> tuple[float, float]:
    """Split one engine step's time between its prefill-chunk tokens and its decode tokens.

    Each part pays in proportion to its cost in the step: (prefill seconds, decode seconds) =
    step_s x prefill_cost / (prefill_cost + decode_cost), step_s x decode_cost / (...). The cost
    is whatever the caller measures both parts in: FLOPs in a compute-bound step, bytes moved in
    a memory-bound one (see bench.roofline.bound.Deployment.step_split), or token counts when
    nothing more is known (a measured vLLM step). A step with no cost on either side is split evenly.
    """
    total = prefill_cost + decode_cost
    if total <= 0:
        return step_s / 2, step_s / 2
    prefill_s = step_s * prefill_cost / total
    return prefill_s, step_s - prefill_s


def prefill_decode_seconds_by_steps(steps, elapsed_s: float | None = None) -> tuple[float, float]:
    """(prefill seconds, decode seconds) of a run from its engine steps, each split by step_share_seconds.

    `steps`: (step seconds, prefill cost, decode cost) per step. Unlike prefill_decode_seconds, a
    step that carries prefill chunks beside decodes (chunked prefill) charges the prompt tokens
    their share of it, so input tokens are not under-charged once prompts are long. With
    `elapsed_s` the two sums are scaled to add up to it (time outside the steps, such as the
    frontend's, is spread in the same proportion).
    """
    prefill_s = decode_s = 0.0
    for step_s, prefill_cost, decode_cost in steps:
        p, d = step_share_seconds(step_s, prefill_cost, decode_cost)
        prefill_s += p
        decode_s += d
    if elapsed_s is not None:
        total = prefill_s + decode_s
        if total <= 0:
            return elapsed_s, 0.0
        prefill_s = elapsed_s * prefill_s / total
        decode_s = elapsed_s - prefill_s
    return prefill_s, decode_s


def cny_per_m_part(cny_per_hour: float, part_s: float, part_tokens: int) -> float | None:
    """The cost of `part_s` seconds of the hardware, spread over `part_tokens` tokens, per million."""
    if part_tokens <= 0:
        return None
    return cny_per_hour * part_s / SECONDS_PER_HOUR / (part_tokens / TOKENS_PER_M)


def cny_per_m_input(cny_per_hour: float, prefill_s: float, input_tokens: int) -> float | None:
    """Input tokens carry the prefill share of the GPU time (see prefill_decode_seconds)."""
    return cny_per_m_part(cny_per_hour, prefill_s, input_tokens)


def cny_per_m_input_uncached(cny_per_hour: float, prefill_s: float, input_tokens: int,
                             cached_tokens: int) -> float | None:
    """A prompt token the prefix cache missed: the prefill time over the prompt tokens actually computed,
    input_tokens - cached_tokens. A cached prompt token runs in no engine step (vLLM schedules only the
    uncached part of a prompt, and the steps are split by the tokens they computed), so its share of step
    time is 0: `cny_per_m_input` (prefill over all input tokens) is already the price at the measured hit
    rate, and this is the price of a miss. E.g. 40 CNY/h, 9 s of prefill, 1,000,000 input tokens of which
    250,000 cached: 40 x 9 / 3600 / 0.75 = 0.1333 CNY per M (all inputs: 0.1)."""
    return cny_per_m_part(cny_per_hour, prefill_s, input_tokens - cached_tokens)


def cny_per_m_output(cny_per_hour: float, decode_s: float, output_tokens: int) -> float | None:
    """Output tokens carry the decode share of the GPU time (see prefill_decode_seconds)."""
    return cny_per_m_part(cny_per_hour, decode_s, output_tokens)


def input_share_for_blend(input_cny_per_m: float, output_cny_per_m: float, blended_cny_per_m: float) -> float:
    """The input:output ratio (input tokens per output token) at which the two prices blend to
    `blended_cny_per_m`: solves (r x input + output) / (r + 1) = blended for r."""
    if not input_cny_per_m < blended_cny_per_m < output_cny_per_m:
        raise ValueError("the blend must lie strictly between the input and the output price")
    return (output_cny_per_m - blended_cny_per_m) / (blended_cny_per_m - input_cny_per_m)


def at_utilization(cny_per_m: float, utilization: float) -> float:
    """Hardware busy a fraction u of its paid hours: each token carries 1/u of the cost."""
    if not 0 < utilization <= 1:
        raise ValueError(f"utilization must be in (0, 1], got {utilization}")
    return cny_per_m / utilization


def tokens_per_cny(cny_per_m: float) -> float:
    """Tokens one CNY buys at a price per million tokens (infinite when free)."""
    return math.inf if cny_per_m == 0 else TOKENS_PER_M / cny_per_m


def self_over_vendor(self_cny_per_m: float, vendor_cny_per_m: float) -> float:
    """> 1: self-hosting is that many times dearer; < 1: cheaper. Infinite against a free vendor."""
    return math.inf if vendor_cny_per_m == 0 else self_cny_per_m / vendor_cny_per_m


def breakeven_utilization(self_cny_per_m_at_full_use: float, vendor_cny_per_m: float) -> float:
    """The utilisation above which self-hosting is cheaper than the vendor: self at 100% / vendor.
    Above 1 it is never cheaper; infinite against a free vendor."""
    return self_over_vendor(self_cny_per_m_at_full_use, vendor_cny_per_m)


def breakeven_tokens_per_day(cny_per_hour: float, vendor_cny_per_m: float) -> float:
    """Daily volume at which a vendor bill equals a day (24 h) of the hardware's cost."""
    if vendor_cny_per_m == 0:
        return math.inf
    return cny_per_hour * 24.0 * TOKENS_PER_M / vendor_cny_per_m
