"""Which card prices a results row and which of its quotes, for bench.cost.pricing.

A row is priced on the hardware it ran on; another card only as an explicit what-if. Given prices per card,
rental tiers, and the all-in TCO of owning (bench.cost.tco) on a like-for-like price basis.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from bench.config.engines import is_predicted
from bench.config.hardware import Hardware, HardwareBook, Price, canonical_name
from bench.cost import formulas as cost
from bench.cost import market as markets
from bench.cost import tco, tco_sources
from bench.core.errors import BenchError


class CostOptions(Protocol):
    """The fields of bench.cost.pricing.CostOptions read here (a Protocol, so there is no import cycle)."""

    hardware: str | None
    what_if_hardware: str | None
    gpu_cny_per_hour: float | None
    gpu_cny_per_hour_by_hardware: tuple[tuple[str, float], ...]
    fx_cny_per_usd: float
    amortization_years: float
    electricity_cny_per_kwh: float
    pue: float
    cost_of_capital_per_year: float
    colocation_cny_per_kw_month: float | None
    market: str
    as_of: dt.date | None
    basis: str
    rental_tier: str | None
    basis_fallback: bool
    hosting_cny_per_month_per_card: float


def measured_hardware(row: dict, book: HardwareBook) -> str | None:
    """The hardware a row ran on: its own `hardware` column (bench run --hardware), else a sim row's device
    (the card it predicts); canonical spelling, None when it names no hardware.yaml entry."""
    for name in (row.get("hardware"), row.get("device_name") if is_predicted(row.get("engine")) else None):
        if name and str(name).strip():
            try:
                return canonical_name(str(name), book)
            except BenchError:
                continue
    return None


def hardware_name_for(row: dict, opts: CostOptions, book: HardwareBook) -> str | None:
    """The card that prices a row: --what-if-hardware (explicit what-if), else the hardware it ran on, else
    --hardware (for rows naming none). A row is never silently priced as another card than its own."""
    if opts.what_if_hardware:
        return canonical_name(opts.what_if_hardware, book)
    own = measured_hardware(row, book)
    if own:
        return own
    return canonical_name(opts.hardware, book) if opts.hardware else None


# The months the default FX rate was observed in (bench.core.money.DEFAULT_FX_DATE).
DEFAULT_FX_FROM, DEFAULT_FX_TO = dt.date(2024, 11, 1), dt.date(2025, 2, 28)


def fx_date_for(fx_cny_per_usd: float, as_of: dt.date | None = None) -> str:
    """When the FX rate was observed: the default's dates (and, for an --as-of outside them, that no rate of that
    day is held), else the command line's."""
    if fx_cny_per_usd != cost.DEFAULT_FX_CNY_PER_USD:
        return "given on the command line"
    if as_of is not None and not DEFAULT_FX_FROM <= as_of <= DEFAULT_FX_TO:
        return f"{cost.DEFAULT_FX_DATE}; no rate of --as-of {as_of} is held: give --fx-cny-per-usd"
    return cost.DEFAULT_FX_DATE


def given_price(hw_name: str | None, opts: CostOptions) -> float | None:
    """The price per GPU-hour given for this card (--gpu-cny-per-hour NAME=X), else the one for all, else None."""
    by_name = dict(opts.gpu_cny_per_hour_by_hardware)
    if hw_name and hw_name in by_name:
        return by_name[hw_name]
    return opts.gpu_cny_per_hour


def quote_day(opts: CostOptions) -> dt.date:
    """The day whose GPU quotes apply: --as-of, else today."""
    return opts.as_of or dt.date.today()


def purchase_quote(hw_name: str | None, hw: Hardware, opts: CostOptions) -> markets.Chosen:
    """The purchase quote in force for the options' market and day (bench.cost.market); BenchError naming the fix
    when the card has none in either market."""
    chosen = markets.choose(hw.purchase_quotes_all, opts.market, quote_day(opts))
    if chosen is None:
        raise BenchError(f"{hw_name} has no purchase price in hardware.yaml; pass --gpu-cny-per-hour "
                         f"{hw_name}=X (CNY per GPU-hour), use --basis rental, or add a price")
    return chosen


@dataclass(frozen=True)
class HostShare:
    """What the tco basis adds to a bare card for its host (bench.cost.tco_sources, by host class)."""

    host_class: str
    capital_per_gpu: float  # in the currency of the options (CNY)
    w_per_gpu: float
    included: bool  # a server quote already holds its host: capital 0 added


def host_share(hw_name: str | None, hw: Hardware, quote: Price, fx: float) -> HostShare:
    """The host a card is charged on the tco basis: its class's sourced capital and power per GPU (none for a CPU
    server, its own host). A server quote holds the host's capital, not its power."""
    if hw.kind != "gpu":
        return HostShare("", 0.0, 0.0, True)
    if hw.host is None:
        raise BenchError(f"{hw_name} has no host class in hardware.yaml (host: hgx, pcie-server or workstation); "
                         "the tco basis needs one to charge the server the card sits in")
    src = tco_sources
    capital = 0.0 if quote.cards > 1 else src.HOST_USD_PER_GPU[hw.host].value * fx
    return HostShare(hw.host, capital, src.HOST_W_PER_GPU_BY_CLASS[hw.host].value, quote.cards > 1)


def tco_cny_per_hour(hw_name: str | None, hw: Hardware, gpu_count: int, power_w: float | None,
                     opts: CostOptions) -> tuple[tco.Tco, markets.Chosen, HostShare]:
    """All-in cost of owning one of the run's GPUs for an hour (bench.cost.tco): the purchase quote in force on a
    like-for-like basis (a bare card gets its host class's capital added, a server quote holds it), networking, power
    of card + host + network x PUE, colocation per kW-month, over --years at --cost-of-capital."""
    fx, src = opts.fx_cny_per_usd, tco_sources
    chosen = purchase_quote(hw_name, hw, opts)
    quote = chosen.price
    host = host_share(hw_name, hw, quote, fx)
    card_and_host = quote.price * (fx if quote.currency == "USD" else 1.0) / quote.cards + host.capital_per_gpu
    capital = card_and_host * (1 + src.NETWORK_SHARE_OF_CAPITAL.value)
    gpu_w = (power_w if power_w else hw.tdp_w * gpu_count) / gpu_count
    it_kw = tco.it_kw_per_gpu(gpu_w, host.w_per_gpu, src.NETWORK_W_PER_GPU.value)
    colocation = opts.colocation_cny_per_kw_month
    if colocation is None:
        colocation = src.COLOCATION_USD_PER_KW_MONTH.value * fx
    t = tco.tco_per_gpu_hour(capital, opts.amortization_years, it_kw, opts.pue, opts.electricity_cny_per_kwh,
                             colocation, opts.cost_of_capital_per_year)
    return t, chosen, host


def tco_terms(opts: CostOptions, host: HostShare) -> str:
    """What a tco figure assumes, printed beside it: life, host share, networking, colocation and PUE."""
    src = tco_sources
    colo = (f"colocation {opts.colocation_cny_per_kw_month:g} CNY/kW-month (given)"
            if opts.colocation_cny_per_kw_month is not None else
            f"colocation USD {src.COLOCATION_USD_PER_KW_MONTH.value:g}/kW-month ({src.COLOCATION_USD_PER_KW_MONTH.date})")
    if not host.host_class:
        hosted = "no host (a CPU server is its own)"
    elif host.included:
        hosted = f"{host.host_class} host in the server quote, {host.w_per_gpu:.0f} W/GPU"
    else:
        h = src.HOST_USD_PER_GPU[host.host_class]
        hosted = f"{host.host_class} host USD {h.value:,.0f}/GPU ({h.date}), {host.w_per_gpu:.0f} W/GPU"
    net = src.NETWORK_SHARE_OF_CAPITAL
    return (f"{opts.amortization_years:g}-year life at {opts.cost_of_capital_per_year:.0%} cost of capital; {hosted}; "
            f"networking +{net.value:.0%} of capital ({net.date}); {colo}; PUE {opts.pue:g}")


def rental_quote(hw_name: str | None, hw: Hardware, tier: str | None, market: str = markets.DEFAULT_MARKET,
                 as_of: dt.date | None = None) -> markets.Chosen:
    """The rental quote of `tier` (default on-demand) in force in `market` on `as_of` (bench.cost.market); BenchError
    naming the fix when the card has no quote of that tier in either market."""
    chosen = markets.choose(hw.rental_quotes, market, as_of or dt.date.today(), tier or markets.DEFAULT_TIER)
    if chosen is not None:
        return chosen
    if not hw.rental_quotes:
        raise BenchError(f"{hw_name} has no rental price in hardware.yaml; pass --gpu-cny-per-hour "
                         f"{hw_name}=X (CNY per GPU-hour), use --basis owned, or add a price")
    have = sorted({f"{q.market} {q.tier or markets.DEFAULT_TIER}" for q in hw.rental_quotes})
    raise BenchError(f"{hw_name} has no {tier} rental quote in hardware.yaml (it has: {', '.join(have)}); "
                     f"pick another --rental-tier or pass --gpu-cny-per-hour {hw_name}=X")


def price_basis_of(price: Price | None) -> str:
    """'given' (command line), 'server' (the quote covers an N-card server: per card = server / N) or 'card'."""
    if price is None:
        return "given"
    if price.period == "month":
        return f"{price.cards}-card node a month" if price.cards > 1 else "card a month"
    return f"{price.cards}-card server" if price.cards > 1 else "card"
