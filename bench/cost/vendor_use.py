"""How an API is used (cache-hit rate, batch API, off-peak share, monthly volume, traffic) + one
prices.yaml row -> the vendor's effective price and the API keys the traffic needs.

The arithmetic is bench.cost.vendor_terms; this module only picks each rule from the row and says
which rules it applied, so every printed vendor price carries its basis.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bench.config.prices import VendorPrice
from bench.cost import formulas as cost
from bench.cost import vendor_terms as terms


@dataclass(frozen=True)
class VendorUse:
    """How the API would be used. The defaults are the list price: no cache hits, no batch API,
    nothing off-peak, no free quota, no traffic to size."""

    cache_hit_rate: float = 0.0
    batch_api: bool = False
    off_peak_share: float = 0.0
    monthly_tokens: float | None = None
    traffic_tokens_per_min: float | None = None
    traffic_requests_per_min: float | None = None
    batch_share: float | None = None  # share of the tokens sent through the batch API (None: batch_api's 0 or 1)

    @property
    def is_list(self) -> bool:
        return (not self.cache_hit_rate and not self.batch_api and not self.off_peak_share
                and self.monthly_tokens is None and not self.batch_share)


LIST = VendorUse()


@dataclass(frozen=True)
class EffectivePrice:
    input_cny_per_m: float
    output_cny_per_m: float
    blended_cny_per_m: float
    basis: str  # "list" or the rules applied, e.g. "cache hit 50%; batch -50%"
    keys_needed: int | None


def off_peak_discount_on(price: VendorPrice, as_of: dt.date) -> float | None:
    """The row's off-peak discount if it has started by `as_of`, else None."""
    op = price.off_peak
    if op is None or (op.starts is not None and as_of < op.starts):
        return None
    return op.discount


def effective_price(price: VendorPrice, use: VendorUse, as_of: dt.date, mix: tuple[float, float],
                    fx_cny_per_usd: float = cost.DEFAULT_FX_CNY_PER_USD) -> EffectivePrice:
    """The vendor's price under `use`, by the steps of bench.cost.vendor_terms."""
    basis = []
    v_in = price.input_cny_per_m(fx_cny_per_usd)
    hit = price.cache_hit_cny_per_m(fx_cny_per_usd)
    if use.cache_hit_rate and hit is not None:
        v_in = terms.effective_input_cny_per_m(v_in, hit, use.cache_hit_rate)
        basis.append(f"cache hit {use.cache_hit_rate:.0%}")
    v_out = price.output_cny_per_m(fx_cny_per_usd)
    factor = 1.0
    share = use.batch_share if use.batch_share is not None else (1.0 if use.batch_api else 0.0)
    if share and price.batch_discount:
        factor = terms.batch_share_cny_per_m(factor, price.batch_discount, share)
        basis.append(f"batch -{price.batch_discount:.0%}" if share == 1 else
                     f"{share:.0%} batch -{price.batch_discount:.0%}")
    discount = off_peak_discount_on(price, as_of)
    if use.off_peak_share and discount:
        factor = terms.off_peak_cny_per_m(factor, discount, use.off_peak_share)
        basis.append(f"{use.off_peak_share:.0%} off-peak -{discount:.0%}")
    quota = price.free_quota
    if use.monthly_tokens is not None and quota is not None and quota.per == "month":
        factor = terms.free_quota_cny_per_m(factor, use.monthly_tokens, quota.tokens)
        basis.append(f"{quota.tokens:,} free tokens/month of {use.monthly_tokens:,.0f}")
    v_in, v_out = v_in * factor, v_out * factor
    keys = terms.keys_needed(use.traffic_tokens_per_min, use.traffic_requests_per_min, price.tpm, price.rpm)
    return EffectivePrice(input_cny_per_m=v_in, output_cny_per_m=v_out,
                          blended_cny_per_m=cost.cny_per_m_blended(v_in, v_out, mix),
                          basis="; ".join(basis) or "list", keys_needed=keys)
