"""One hour of a card's GPUs on a price basis: the quote in force for the market and day (bench.cost.market), the
basis asked for or, where the card has no price on it, the next basis that has one (labelled).

    hourly = cny_per_hour_for("L20", hw, 1, 275.0, opts)   # 1 GPU at 275 W; opts: bench.cost.pricing.CostOptions
    hourly.cny_per_hour, hourly.basis, hourly.asked, hourly.label
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.config.hardware import Hardware, Price
from bench.core.errors import BenchError
from bench.cost import formulas as cost
from bench.cost import market as markets
from bench.cost.hwchoice import (CostOptions, given_price, purchase_quote, quote_day, rental_quote, tco_cny_per_hour,
                                 tco_terms)

# Where a card has no price on the basis asked for, the next basis that may have one (labelled where used).
NEXT_BASES = {"rental": ("owned", "tco"), "owned": ("rental",), "tco": ("rental",)}


@dataclass(frozen=True)
class HourlyPrice:
    cny_per_hour: float  # all the run's GPUs
    basis: str  # rental | owned | tco | given
    price: Price | None  # the hardware.yaml quote used (None: given)
    chosen: markets.Chosen | None = None  # how the quote was chosen (market, day)
    asked: str = ""  # the basis asked for when another priced the card ("" when it was the one asked)
    terms: str = ""  # tco: life, host, networking, colocation, PUE

    @property
    def label(self) -> str:
        """'rental on-demand: cn list price: AutoDL ..., 2026-09-24', with the basis asked for when another was
        used, and a tco figure's terms: printed beside a GPU-hour."""
        if self.price is None:
            return "given on the command line (--gpu-cny-per-hour)"
        tier = f" {self.price.tier}" if self.price.tier and self.basis == "rental" else ""
        asked = f"{self.asked}: none; " if self.asked else ""
        terms = f"; {self.terms}" if self.terms else ""
        return f"{asked}{self.basis}{tier}: {markets.label(self.chosen)}{terms}"


def basis_price(hw_name: str | None, hw: Hardware, basis: str, gpu_count: int, power_w: float | None,
                opts: CostOptions) -> HourlyPrice:
    """The hourly cost of the run's GPUs on one basis, from the quote in force for the options' market and day;
    BenchError when the basis has no price for the card."""
    if basis == "rental":
        chosen = rental_quote(hw_name, hw, opts.rental_tier, opts.market, quote_day(opts))
        per_card = chosen.price.per_card_cny(opts.fx_cny_per_usd)
        return HourlyPrice(cost.rental_cny_per_hour(per_card, gpu_count), "rental", chosen.price, chosen)
    if basis == "tco":
        t, chosen, host = tco_cny_per_hour(hw_name, hw, gpu_count, power_w, opts)
        return HourlyPrice(t.total_per_gpu_hour * gpu_count, "tco", chosen.price, chosen,
                           terms=tco_terms(opts, host))
    chosen = purchase_quote(hw_name, hw, opts)
    return HourlyPrice(cost.owned_cny_per_hour(
        chosen.price.per_card_cny(opts.fx_cny_per_usd), gpu_count, power_w,
        electricity_cny_per_kwh=opts.electricity_cny_per_kwh, pue=opts.pue,
        amortization_years=opts.amortization_years,
        hosting_cny_per_month_per_card=opts.hosting_cny_per_month_per_card,
    ), "owned", chosen.price, chosen, terms=f"{opts.amortization_years:g}-year life")


def cny_per_hour_for(hw_name: str | None, hw: Hardware | None, gpu_count: int, power_w: float | None,
                     opts: CostOptions) -> HourlyPrice:
    """The hourly cost of the run's GPUs, its basis and the quote it comes from. A card with no price on the basis
    asked for is priced on the next basis that has one (NEXT_BASES; `asked` says so) unless opts.basis_fallback is
    off; BenchError when no basis has a price, naming the one asked for and the fix."""
    given = given_price(hw_name, opts)
    if given is not None:
        return HourlyPrice(cost.rental_cny_per_hour(given, gpu_count), "given", None)
    if hw is None:
        raise BenchError("no hardware to price: pass --hardware NAME (see hardware.yaml) "
                         "or --gpu-cny-per-hour X")
    try:
        return basis_price(hw_name, hw, opts.basis, gpu_count, power_w, opts)
    except BenchError as first:
        if not opts.basis_fallback or (opts.basis == "rental" and opts.rental_tier):  # a tier asked for by name
            raise
        for basis in NEXT_BASES.get(opts.basis, ()):
            try:
                return replace(basis_price(hw_name, hw, basis, gpu_count, power_w, opts), asked=opts.basis)
            except BenchError:
                continue
        if opts.basis == "rental" or not NEXT_BASES.get(opts.basis):
            raise first from None
        raise BenchError(f"{hw_name} has no price on any basis in hardware.yaml (no rental or purchase quote); pass "
                         f"--gpu-cny-per-hour {hw_name}=X (CNY per GPU-hour) or add a price") from None
