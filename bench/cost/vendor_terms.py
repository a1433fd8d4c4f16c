"""A vendor's terms applied to its list price: context-cache hits, the batch API, off-peak hours, free
quotas, and rate limits turned into capacity. Pure functions; every price is CNY per million tokens.

Order (each a factor on what the previous step left, so the order does not change the result):
1. input at a cache-hit rate h: h x hit price + (1 - h) x miss price (the output price is unchanged);
2. blended at the mix with the output price, as the list prices are (bench.cost.formulas);
3. batch API: x (1 - batch discount) when the batch API is used (x (1 - share x discount) for a share of the tokens);
4. off-peak: x (1 - share x off-peak discount), for the share of the tokens sent in the window;
5. free quota: x billable tokens / all tokens of the month, max(0, V - Q) / V.
Rate limits do not change the price: they say how many API keys (accounts) a traffic needs.
"""

from __future__ import annotations

import math


def _fraction(name: str, x: float) -> None:
    if not 0 <= x <= 1:
        raise ValueError(f"{name} must be within [0, 1], got {x}")


def effective_input_cny_per_m(list_cny_per_m: float, cache_hit_cny_per_m: float | None, hit_rate: float) -> float:
    """Input price when a share `hit_rate` of the input tokens is served from the vendor's context cache:
    hit_rate x cache_hit_cny_per_m + (1 - hit_rate) x list_cny_per_m. A vendor without a cache-hit price
    charges the list price for every token, whatever the rate."""
    _fraction("cache-hit rate", hit_rate)
    if cache_hit_cny_per_m is None:
        return list_cny_per_m
    return hit_rate * cache_hit_cny_per_m + (1 - hit_rate) * list_cny_per_m


def batch_cny_per_m(cny_per_m: float, batch_discount: float | None) -> float:
    """Price through the batch API: cny_per_m x (1 - batch_discount); unchanged without a batch discount."""
    if not batch_discount:
        return cny_per_m
    _fraction("batch discount", batch_discount)
    return cny_per_m * (1 - batch_discount)


def batch_share_cny_per_m(cny_per_m: float, batch_discount: float | None, batch_share: float) -> float:
    """Average price when a share `batch_share` of the tokens goes through the batch API:
    cny_per_m x (1 - batch_share x batch_discount); unchanged without a batch discount. A share of 1 is
    batch_cny_per_m."""
    _fraction("batch share", batch_share)
    if not batch_discount:
        return cny_per_m
    return cny_per_m * (1 - batch_share * batch_discount)


def off_peak_cny_per_m(cny_per_m: float, off_peak_discount: float | None, off_peak_share: float) -> float:
    """Average price when a share `off_peak_share` of the tokens is sent in the off-peak window:
    cny_per_m x (1 - off_peak_share x off_peak_discount); unchanged without an off-peak discount."""
    _fraction("off-peak share", off_peak_share)
    if not off_peak_discount:
        return cny_per_m
    return cny_per_m * (1 - off_peak_share * off_peak_discount)


def billable_share(monthly_tokens: float, free_tokens_per_month: float | None) -> float:
    """Share of a month's tokens that is paid for after a free quota: max(0, V - Q) / V.
    1 without a quota; 0 for a month that the quota covers (and for a month of no tokens)."""
    if not free_tokens_per_month:
        return 1.0
    if monthly_tokens <= 0:
        return 0.0
    return max(0.0, monthly_tokens - free_tokens_per_month) / monthly_tokens


def free_quota_cny_per_m(cny_per_m: float, monthly_tokens: float, free_tokens_per_month: float | None) -> float:
    """Average price over a month of `monthly_tokens` of which `free_tokens_per_month` cost nothing:
    cny_per_m x billable_share(monthly_tokens, free_tokens_per_month)."""
    return cny_per_m * billable_share(monthly_tokens, free_tokens_per_month)


def keys_needed(traffic_tokens_per_min: float | None, traffic_requests_per_min: float | None,
                tpm_limit: int | None, rpm_limit: int | None) -> int | None:
    """API keys (accounts) a traffic needs under a per-key limit: the larger of
    ceil(tokens per minute / TPM limit) and ceil(requests per minute / RPM limit), at least 1.
    None when neither the traffic nor the limit of either kind is known."""
    needs = []
    if traffic_tokens_per_min is not None and tpm_limit:
        needs.append(math.ceil(traffic_tokens_per_min / tpm_limit))
    if traffic_requests_per_min is not None and rpm_limit:
        needs.append(math.ceil(traffic_requests_per_min / rpm_limit))
    return max(1, *needs) if needs else None
