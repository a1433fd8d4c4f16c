"""Which of a card's quotes prices it: the market (cn or global), the rental tier and the day (--as-of).

Pure selection over hardware.yaml's quotes (bench.config.hardware.Price), in this order:
1. the quotes of the tier asked for (none asked: the on-demand quote; `china-cloud` is the cn market's on-demand);
2. of those, the quotes of the market asked for; none there: the other market's, and the choice says so;
3. of those, the newest quote dated on or before the day; else an undated one; else (every quote came later) the
   earliest, and the choice says it was quoted after the day.
A card with no quote of the tier in either market has none: the caller names the fix.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bench.config.hardware import MARKETS, Price

DEFAULT_MARKET = "cn"  # bench prices for teams that buy in China; a card without a cn quote uses its global one
DEFAULT_TIER = "on-demand"
MARKET_WORDS = {"cn": "China market", "global": "global market"}


@dataclass(frozen=True)
class Chosen:
    """The quote that prices a card, and what the choice had to give up ("" when nothing)."""

    price: Price
    market: str  # the market asked for
    note: str = ""  # e.g. "no cn quote: the global one" or "quoted 2026-09-24, after --as-of 2024-05-31"

    @property
    def other_market(self) -> bool:
        return self.price.market != self.market


def tier_and_market(tier: str | None, market: str) -> tuple[str, str]:
    """(tier, market) to look for: china-cloud is the cn market's on-demand quote; no tier is on-demand."""
    if tier == "china-cloud":
        return DEFAULT_TIER, "cn"
    return tier or DEFAULT_TIER, market


def of_tier(quotes: list[Price], tier: str) -> list[Price]:
    """Quotes of `tier`; a quote with no tier (an entry with a single rental quote) counts as on-demand."""
    return [q for q in quotes if (q.tier or DEFAULT_TIER) == tier]


def in_force(quotes: list[Price], as_of: dt.date) -> tuple[Price, str]:
    """The newest quote dated on or before `as_of`; else an undated one; else the earliest (and a note saying it
    was quoted after the day). `quotes` is not empty."""
    dated = [q for q in quotes if q.day is not None]
    before = [q for q in dated if q.day <= as_of]
    if before:
        return max(before, key=lambda q: q.day), ""
    undated = [q for q in quotes if q.day is None]
    if undated:
        return undated[0], ""
    first = min(dated, key=lambda q: q.day)
    return first, f"quoted {first.date}, after --as-of {as_of}: no earlier quote"


def choose(quotes: list[Price], market: str, as_of: dt.date, tier: str | None = None) -> Chosen | None:
    """The quote of `tier` (rental) or any (purchase: pass tier None with purchase quotes) that prices a card in
    `market` on `as_of` (module doc); None when no quote of the tier exists in either market."""
    if market not in MARKETS:
        raise ValueError(f"unknown market {market!r}; give one of {', '.join(MARKETS)}")
    pool = quotes
    if tier is not None:
        want, market = tier_and_market(tier, market)
        pool = of_tier(quotes, want)
    mine = [q for q in pool if q.market == market]
    notes = []
    if not mine:
        mine = [q for q in pool if q.market != market]
        if not mine:
            return None
        notes.append(f"no {market} quote: the {mine[0].market} one")
    price, late = in_force(mine, as_of)
    return Chosen(price, market, "; ".join(notes + ([late] if late else [])))


def headline_label(market: str, basis: str, rental_tier: str | None = None, given: bool = False) -> str:
    """'China market, rental on-demand', 'global market, tco' or 'GPU-hours given on the command line': what the
    first line of a plan or report says prices its GPUs."""
    if given:
        return "GPU-hours given on the command line"
    if basis != "rental":
        return f"{MARKET_WORDS[market]}, {basis}"
    tier, market = tier_and_market(rental_tier, market)
    return f"{MARKET_WORDS[market]}, rental {tier}"


def label(chosen: Chosen) -> str:
    """'cn list price, AutoDL ..., 2026-09-24' with the choice's note: what a printed cost rests on."""
    p = chosen.price
    note = f" ({chosen.note})" if chosen.note else ""
    return f"{p.what}{note}: {p.source}, {p.date}"
