"""prices.yaml: vendors' API prices as a dated history, and which of them are in force on a day.

A row applies from `applies_from` through `applies_to` (both inclusive; an open end means "still
in force"). An unknown start (applies_from null) is either a price known only as "before applies_to",
counted from the book's earliest dated price (the book claims nothing about earlier days), or a
price a source showed on `seen_on`, counted from that day.
Rows of one vendor model must not overlap: on any day at most one price is in force.
Every row names its source and the day a source last showed the price (`checked_on`); a book whose newest
`checked_on` is more than STALE_AFTER_DAYS before the day asked about says so (`staleness_note`).
A row may hold tiers (bench.config.price_tiers): its top-level prices are then the smallest tier's.
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
from bench.config.price_tiers import Tier, TierPrice, check_tiers, pick_tier, smallest_tier, tier_price
from bench.core.money import DEFAULT_FX_CNY_PER_USD, DEFAULT_MIX, cny_per_m_blended, to_cny
from bench.core.errors import BenchError

DEFAULT_PRICES_FILE = REPO_ROOT / "prices.yaml"
_TIER_PRICES = ("input_per_m", "input_cache_hit_per_m", "output_per_m", "thinking_output_per_m")
STALE_AFTER_DAYS = 90  # vendors changed list prices every few months in 2025-2026; older than this, say so

# Vendor family names a user may type for a vendor of the book (lower case): the brand, the platform, the
# model family. A vendor's own name (any case) always works.
VENDOR_ALIASES = {
    "tencent": "Tencent", "hunyuan": "Tencent",
    "alibaba": "Alibaba", "qwen": "Alibaba", "bailian": "Alibaba", "dashscope": "Alibaba", "aliyun": "Alibaba",
    "bytedance": "ByteDance", "doubao": "ByteDance", "volcengine": "ByteDance", "ark": "ByteDance",
    "zhipu": "Zhipu", "glm": "Zhipu", "bigmodel": "Zhipu",
    "moonshot": "Moonshot", "kimi": "Moonshot",
    "deepseek": "DeepSeek",
    "baidu": "Baidu", "ernie": "Baidu", "qianfan": "Baidu",
    "iflytek": "iFlytek", "spark": "iFlytek",
    "openai": "OpenAI", "anthropic": "Anthropic", "claude": "Anthropic",
}


class OffPeak(Strict):
    """A discount for requests made in a daily time window."""

    window: str = Field(pattern=r"^\d\d:\d\d-\d\d:\d\d(,\d\d:\d\d-\d\d:\d\d)*$",
                        description="HH:MM-HH:MM local time, several comma-separated")
    timezone: str = "Asia/Shanghai"
    weekends: bool = Field(False, description="true: Saturday and Sunday are off-peak all day too")
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
    output_per_m: float = Field(ge=0, description="output price per million tokens (non-thinking, or the only one)")
    thinking_output_per_m: float | None = Field(
        None, ge=0, description="output price in thinking mode, where the vendor prices it apart")
    tiers: list[Tier] | None = Field(
        None, description="prices by request length (bench.config.price_tiers); the top-level prices are the "
                          "smallest tier's")
    free: bool = Field(False, description="true: the vendor charges nothing (prices must be 0)")
    batch_discount: float | None = Field(None, gt=0, le=1, description="fraction off for the batch API: 0.5 = half")
    off_peak: OffPeak | None = None
    free_quota: FreeQuota | None = None
    rpm: int | None = Field(None, ge=1, description="requests per minute allowed")
    tpm: int | None = Field(None, ge=1, description="tokens per minute allowed")
    context_tier: str | None = Field(None, description="context length the price applies to, e.g. 32K")
    notes: str = ""
    source: str = Field(min_length=1, description="where the price was read: a page, a file at a commit")
    checked_on: dt.date = Field(description="the day a source last showed this price")

    @model_validator(mode="before")
    @classmethod
    def _sourced_and_tiered(cls, data):
        """A row without a source or a check date is refused by name; a tiered row's top-level prices default
        to its smallest tier's."""
        if not isinstance(data, dict):
            return data
        name = f"{data.get('vendor', '?')} {data.get('model', '?')}"
        missing = [f for f in ("source", "checked_on") if not str(data.get(f) or "").strip()]
        if missing:
            raise ValueError(f"{name} has no {' and no '.join(missing)}: every price needs source: (where it was "
                             "read: a page, or a file at a commit) and checked_on: (the day that source showed it)")
        tiers = data.get("tiers")
        if isinstance(tiers, list) and tiers and all(isinstance(t, dict) for t in tiers):
            first = min(tiers, key=lambda t: (t.get("input_above") or 0, t.get("output_above") or 0))
            data = {**{k: first[k] for k in _TIER_PRICES if k in first}, **data}
        return data

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
        if self.tiers is not None:
            self._check_tiers()
        return self

    def _check_tiers(self) -> None:
        name = f"{self.vendor} {self.model}"
        try:
            ordered = check_tiers(self.tiers)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
        first = smallest_tier(ordered)
        differ = [k for k in _TIER_PRICES if getattr(self, k) != getattr(first, k)]
        if differ:
            raise ValueError(f"{name}: {', '.join(differ)} differ from the smallest tier's (leave them out: a "
                             "tiered row's default price is its smallest tier)")

    def request_price(self, input_tokens: float | None = None, output_tokens: float | None = None,
                      thinking: bool = False) -> TierPrice:
        """The prices one request of these lengths pays (per million tokens, the row's currency): the tier that
        holds it (bench.config.price_tiers.pick_tier); the smallest tier when a length is unknown; the row's
        own prices when it has no tiers. `thinking`: the thinking-mode output price where there is one."""
        if self.tiers and input_tokens is not None and output_tokens is not None:
            return tier_price(pick_tier(self.tiers, input_tokens, output_tokens), thinking)
        out = self.thinking_output_per_m if thinking and self.thinking_output_per_m is not None else self.output_per_m
        return TierPrice(self.input_per_m, self.input_cache_hit_per_m, out,
                         smallest_tier(self.tiers) if self.tiers else None)

    def for_request(self, input_tokens: float | None, output_tokens: float | None,
                    thinking: bool = False) -> "VendorPrice":
        """This row with the prices of the tier a request of these lengths falls in (itself when it has no tiers
        or a length is unknown), so the price arithmetic downstream needs no tier logic."""
        if not self.tiers or input_tokens is None or output_tokens is None:
            return self
        t = self.request_price(input_tokens, output_tokens, thinking)
        tier = t.tier
        where = f"input {tier.input_above}-{tier.input_up_to or 'open'} tokens"
        if tier.output_above or tier.output_up_to is not None:
            where += f", output {tier.output_above}-{tier.output_up_to or 'open'}"
        return self.model_copy(update={"input_per_m": t.input_per_m, "input_cache_hit_per_m": t.input_cache_hit_per_m,
                                       "output_per_m": t.output_per_m, "context_tier": where})

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


def _matches(p: VendorPrice, key: str) -> bool:
    """Whether a name typed by the user (lower case) names this row's vendor, a family name of it, or its model."""
    return key in (p.vendor.lower(), p.model.lower()) or VENDOR_ALIASES.get(key, "").lower() == p.vendor.lower()


def select(book: PriceBook, names: list[str] | None) -> list[VendorPrice]:
    """Rows whose vendor, vendor family name (VENDOR_ALIASES: hunyuan, qwen, doubao, glm, kimi, ...) or model is
    one of `names` (case-insensitive); all rows when None. An unknown name raises BenchError listing the close
    ones."""
    if not names:
        return list(book.prices)
    vendors = sorted({p.vendor for p in book.prices})
    models = sorted({p.model for p in book.prices})
    families = sorted(k for k, v in VENDOR_ALIASES.items() if v in vendors and k != v.lower())
    chosen: list[VendorPrice] = []
    for name in names:
        key = name.strip().lower()
        rows = [p for p in book.prices if _matches(p, key)]
        if not rows:
            hint = close_names(name, vendors + families + models)
            did_you_mean = f"; did you mean {', '.join(hint)}?" if hint else ""
            raise BenchError(f"unknown vendor '{name}'{did_you_mean} (vendors: {', '.join(vendors)}; a family name "
                             "such as hunyuan or qwen, or a model name such as doubao-pro-32k, also works)")
        chosen += [p for p in rows if p not in chosen]
    return chosen


def newest_check(prices: list[VendorPrice]) -> dt.date | None:
    """The newest `checked_on` among `prices` (None for none)."""
    return max((p.checked_on for p in prices), default=None)


def staleness_note(prices: list[VendorPrice], as_of: dt.date) -> str | None:
    """One line when `as_of` is more than STALE_AFTER_DAYS after the newest `checked_on` of the prices used (the
    newest: one fresh price shows the book was looked at; a stale row alone is shown by its own date), else None.
    Every command that prints vendor prices calls this and prints the line."""
    newest = newest_check(prices)
    if newest is None or (as_of - newest).days <= STALE_AFTER_DAYS:
        return None
    return (f"the price book was last checked on {newest}: prices may have changed ({(as_of - newest).days} days "
            f"before --as-of {as_of}; update prices.yaml from the vendors' pages)")


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
        if not any(_matches(p, key) for p in chosen):
            first = min((p.counts_from for p in rows if _matches(p, key) and p.counts_from), default=None)
            when = f" (its prices start {first})" if first and first > as_of else " (its prices ended before then)"
            raise BenchError(f"no price of '{name}' is in force on {as_of}{when}; choose another --as-of")
    return InForce(as_of=as_of, prices=chosen)



def vendor_book_summary(as_of: dt.date) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of the book on `as_of` (scripts/validate_prices.py prints it): per vendor, the vendor models
    in force, how many of them are tiered, and the newest and oldest check date among them; a last row 'all'
    with the totals and the book's newest check overall."""
    rows = in_force(load_prices(), as_of).prices
    by_vendor: dict[str, list[VendorPrice]] = {}
    for p in rows:
        by_vendor.setdefault(p.vendor, []).append(p)

    def line(name: str, mine: list[VendorPrice]) -> list[str]:
        checks = sorted(p.checked_on for p in mine)
        return [name, str(len(mine)), str(sum(1 for p in mine if p.tiers)), str(checks[-1]), str(checks[0])]

    ordered = sorted(by_vendor.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return (["vendor", f"rows in force on {as_of}", "tiered", "newest checked_on", "oldest checked_on"],
            [line(v, mine) for v, mine in ordered] + [line("all", rows)])
