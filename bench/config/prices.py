"""prices.yaml: vendors' API prices as a dated history, and which of them are in force on a day.

A row applies from `applies_from` through `applies_to` (both inclusive; an open end means "still
in force"). An unknown start (applies_from null) is either a price known only as "before applies_to",
counted from the book's earliest dated price (the book claims nothing about earlier days), or a
price a source showed on `seen_on`, counted from that day.
Rows of one vendor model must not overlap: on any day at most one price is in force.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from bench import REPO_ROOT
from bench.core.errors import close_names
from bench.config.files import Strict, load_validated
from bench.core.money import DEFAULT_FX_CNY_PER_USD, DEFAULT_MIX, cny_per_m_blended, to_cny
from bench.core.errors import BenchError

DEFAULT_PRICES_FILE = REPO_ROOT / "prices.yaml"


class OffPeak(Strict):
    """A discount for requests made in a daily time window."""

    window: str = Field(pattern=r"^\d\d:\d\d-\d\d:\d\d$", description="HH:MM-HH:MM local time")
    timezone: str = "Asia/Shanghai"
    discount: float = Field(gt=0, le=1, description="fraction taken off the list price: 0.5 = half price")
    starts: dt.date | None = Field(None, description="first day of the discount, if later than the row")
    notes: str = ""


class FreeQuota(Strict):
    """Tokens the vendor gives free: every month, or once (a new account's trial quota)."""

    tokens: int = Field(ge=1, description="free tokens (input and output together)")
    per: Literal["month", "once"] = Field(description="month: renewed monthly; once: a one-off trial quota")
    notes: str = ""


class VendorPrice(Strict):
    """One price of one vendor model over one period."""

    vendor: str = Field(min_length=1)
    model: str = Field(min_length=1, description="the API's model name")
    version: str | None = Field(None, description="what the model name served in this period, e.g. V3")
    applies_from: dt.date | None = Field(
        description="first day (inclusive); null only for a price known as 'before' a cut")
    applies_to: dt.date | None = Field(None, description="last day (inclusive); null: still in force")
    seen_on: dt.date | None = Field(
        None, description="with applies_from null: the day a source showed the price, its first day unknown")
    currency: Literal["CNY", "USD"]
    input_per_m: float = Field(ge=0, description="input price per million tokens (cache miss)")
    input_cache_hit_per_m: float | None = Field(None, ge=0, description="input price per million cached tokens")
    output_per_m: float = Field(ge=0, description="output price per million tokens")
    free: bool = Field(False, description="true: the vendor charges nothing (prices must be 0)")
    batch_discount: float | None = Field(None, gt=0, le=1, description="fraction off for the batch API: 0.5 = half")
    off_peak: OffPeak | None = None
    free_quota: FreeQuota | None = None
    rpm: int | None = Field(None, ge=1, description="requests per minute allowed")
    tpm: int | None = Field(None, ge=1, description="tokens per minute allowed")
    context_tier: str | None = Field(None, description="context length the price applies to, e.g. 32K")
    notes: str = ""
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self):
        paid = {"input_per_m": self.input_per_m, "output_per_m": self.output_per_m}
        if self.free:
            if any(paid.values()) or self.input_cache_hit_per_m:
                raise ValueError("free: true, but a price is not 0")
        else:
            bad = [k for k, v in paid.items() if v <= 0]
            if bad:
                raise ValueError(f"{' and '.join(bad)} <= 0 on a paid model (set free: true if it costs nothing)")
        if self.applies_from is None and self.applies_to is None and self.seen_on is None:
            raise ValueError("applies_from is null: give applies_to (a price known only as 'before' a date) "
                             "or seen_on (the day a source showed it)")
        if self.applies_from is not None and self.seen_on is not None:
            raise ValueError("seen_on is only for a price whose first day is unknown (applies_from: null)")
        if self.seen_on and self.applies_to and self.applies_to < self.seen_on:
            raise ValueError(f"applies_to {self.applies_to} is before seen_on {self.seen_on}")
        if self.applies_from and self.applies_to and self.applies_to < self.applies_from:
            raise ValueError(f"applies_to {self.applies_to} is before applies_from {self.applies_from}")
        return self

    @property
    def counts_from(self) -> dt.date | None:
        """The first day the book counts the price in force: applies_from, else the day it was seen."""
        return self.applies_from or self.seen_on

    @property
    def since(self) -> str:
        """The first day for display: the day the price started, 'by DAY' when only seen then, '?' when unknown."""
        if self.applies_from:
            return str(self.applies_from)
        return f"by {self.seen_on}" if self.seen_on else "?"

    @property
    def label(self) -> str:
        return f"{self.model} ({self.version})" if self.version else self.model

    def in_force(self, day: dt.date, unknown_start: dt.date = dt.date.min) -> bool:
        """Whether the price applies on `day`; a row without applies_from starts the day it was seen,
        else at `unknown_start`."""
        return (self.counts_from or unknown_start) <= day and (self.applies_to is None or day <= self.applies_to)

    def input_cny_per_m(self, fx_cny_per_usd: float = DEFAULT_FX_CNY_PER_USD) -> float:
        return to_cny(self.input_per_m, self.currency, fx_cny_per_usd)

    def output_cny_per_m(self, fx_cny_per_usd: float = DEFAULT_FX_CNY_PER_USD) -> float:
        return to_cny(self.output_per_m, self.currency, fx_cny_per_usd)

    def cache_hit_cny_per_m(self, fx_cny_per_usd: float = DEFAULT_FX_CNY_PER_USD) -> float | None:
        if self.input_cache_hit_per_m is None:
            return None
        return to_cny(self.input_cache_hit_per_m, self.currency, fx_cny_per_usd)

    def blended_cny_per_m(self, mix: tuple[float, float] = DEFAULT_MIX,
                          fx_cny_per_usd: float = DEFAULT_FX_CNY_PER_USD) -> float:
        """List prices (cache miss) blended at the input:output mix."""
        return cny_per_m_blended(self.input_cny_per_m(fx_cny_per_usd), self.output_cny_per_m(fx_cny_per_usd), mix)


def _overlap(a: VendorPrice, b: VendorPrice) -> bool:
    lo = dt.date.min
    hi = dt.date.max
    return (a.counts_from or lo) <= (b.applies_to or hi) and (b.counts_from or lo) <= (a.applies_to or hi)


def _span(p: VendorPrice) -> str:
    return f"{p.since}..{p.applies_to or 'open'}"


class PriceBook(Strict):
    schema_version: Literal[1] = 1
    prices: list[VendorPrice]

    @model_validator(mode="after")
    def _no_overlaps(self):
        by_model: dict[tuple[str, str], list[VendorPrice]] = {}
        for p in self.prices:
            by_model.setdefault((p.vendor.lower(), p.model.lower()), []).append(p)
        for rows in by_model.values():
            for i, a in enumerate(rows):
                for b in rows[i + 1:]:
                    if _overlap(a, b):
                        raise ValueError(
                            f"{a.vendor} {a.model}: date ranges {_span(a)} and {_span(b)} overlap "
                            "(end the older row the day before the newer one starts)")
        return self

    @property
    def earliest_known(self) -> dt.date:
        """The first day of the earliest dated price: what the book knows starts there."""
        return min((p.counts_from for p in self.prices if p.counts_from), default=dt.date.min)


def prices_path() -> Path:
    return Path(os.environ.get("BENCH_PRICES", DEFAULT_PRICES_FILE))


def load_prices(path: Path | None = None) -> PriceBook:
    """Parse and validate prices.yaml (default: the repository's, or $BENCH_PRICES)."""
    return load_validated(path or prices_path(), PriceBook, "see the field list at the top of prices.yaml")


def select(book: PriceBook, names: list[str] | None) -> list[VendorPrice]:
    """Rows whose vendor or model is one of `names` (case-insensitive); all rows when None.
    An unknown name raises BenchError listing the close ones."""
    if not names:
        return list(book.prices)
    vendors = sorted({p.vendor for p in book.prices})
    models = sorted({p.model for p in book.prices})
    chosen: list[VendorPrice] = []
    for name in names:
        key = name.strip().lower()
        rows = [p for p in book.prices if key in (p.vendor.lower(), p.model.lower())]
        if not rows:
            hint = close_names(name, vendors + models)
            did_you_mean = f"; did you mean {', '.join(hint)}?" if hint else ""
            raise BenchError(f"unknown vendor '{name}'{did_you_mean} (vendors: {', '.join(vendors)}; "
                             "a model name such as doubao-pro-32k also works)")
        chosen += [p for p in rows if p not in chosen]
    return chosen


@dataclass(frozen=True)
class InForce:
    as_of: dt.date
    prices: list[VendorPrice]


def in_force(book: PriceBook, as_of: dt.date, names: list[str] | None = None) -> InForce:
    """The prices in force on `as_of` among the selected vendors, one per vendor model.

    BenchError when `as_of` is before every dated price of the selection (the book does not
    know what anything cost then) or when a named vendor has no price in force that day."""
    rows = select(book, names)
    floor = book.earliest_known
    earliest = min((p.counts_from or floor for p in rows), default=None)
    if earliest and as_of < earliest:
        raise BenchError(f"--as-of {as_of} is before every known price of the selection (earliest {earliest}); "
                         "choose a later date or add older prices to prices.yaml")
    chosen = [p for p in rows if p.in_force(as_of, floor)]
    for name in names or []:
        key = name.strip().lower()
        if not any(key in (p.vendor.lower(), p.model.lower()) for p in chosen):
            first = min((p.counts_from for p in rows if key in (p.vendor.lower(), p.model.lower())
                         and p.counts_from), default=None)
            when = f" (its prices start {first})" if first and first > as_of else " (its prices ended before then)"
            raise BenchError(f"no price of '{name}' is in force on {as_of}{when}; choose another --as-of")
    return InForce(as_of=as_of, prices=chosen)

