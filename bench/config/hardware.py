"""hardware.yaml: what each GPU (or the generic CPU server) can do and what it costs.

    hw = get_hardware("h20")          # case-insensitive; unknown names list the close ones
    hw.memory_bw_tb_s, hw.bf16_tflops, hw.tdp_w
    hw.rental.per_card_cny(fx)        # CNY per card-hour, or hw.rental is None
    hw.rental_quotes, hw.purchase_quotes  # every quote, each with its market (cn | global), tier, kind and date

Every figure carries its source and date; prices carry their currency (CNY or USD), the market they were quoted
in and what kind of figure they are (a published list price, a reseller's quote, a news figure, ...).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from bench import REPO_ROOT
from bench.core.errors import close_names
from bench.config.files import Strict, load_validated
from bench.core.money import DEFAULT_FX_CNY_PER_USD, to_cny
from bench.core.errors import BenchError

DEFAULT_HARDWARE_FILE = REPO_ROOT / "hardware.yaml"

# Rental tiers a quote can belong to (`bench cost --rental-tier`). on-demand: list price, pay by the hour;
# reserved: a 1-3 year commitment; spot: interruptible; china-cloud: a mainland-China cloud's list price;
# tco: an analyst's cost-of-ownership figure (what renting costs the owner), not a price anyone quotes.
RENTAL_TIERS = ("on-demand", "reserved", "spot", "china-cloud", "tco")
# Where a quote was made: cn, the mainland-China market (what a team buying in China pays, in CNY; the export
# parts H20, H800, A800 and L20 are sold only there), or global (US and neocloud list prices, in USD). `china-cloud`
# is the name older commands use for the cn market's on-demand quote.
MARKETS = ("cn", "global")
# Other spellings a user may type for a market.
MARKET_ALIASES = {"china": "cn", "cn": "cn", "global": "global", "world": "global", "intl": "global"}
# What kind of figure a quote is: a published list price; a reseller's or distributor's quote; a figure reported
# by the news; an analyst's estimate; a survey article's range.
QUOTE_KINDS = ("list", "reseller", "news", "analyst", "survey")
# The host a card needs when it is owned (bench.cost.tco): an HGX 8-GPU baseboard server for SXM parts and the
# H20, a PCIe server for PCIe and L-series cards, a workstation for RTX cards.
HOST_CLASSES = ("hgx", "pcie-server", "workstation")
HOURS_PER_MONTH = 730.0  # 8,760 / 12: a monthly rent per hour


def market_of(text: str) -> str:
    """'cn' / 'China' -> 'cn', 'global' -> 'global'; ValueError with the close names for anything else."""
    key = str(text).strip().lower()
    if key in MARKET_ALIASES:
        return MARKET_ALIASES[key]
    hint = close_names(key, list(MARKET_ALIASES))
    did_you_mean = f"; did you mean {', '.join(hint)}?" if hint else ""
    raise ValueError(f"unknown market {text!r}{did_you_mean} (give cn: mainland-China quotes, or global)")


class Price(Strict):
    """One quoted price: `price` buys `cards` cards (purchase) or `cards` card-hours (rental)."""

    price: float = Field(gt=0, description="the figure used; a midpoint when the source gives a range")
    low: float | None = Field(None, gt=0)
    high: float | None = Field(None, gt=0)
    currency: Literal["CNY", "USD"]
    cards: int = Field(1, ge=1, description="cards the price covers: 8 for an 8-card server quote")
    source: str = Field(min_length=1)
    date: str = Field(min_length=1, description="when the price was quoted: YYYY, YYYY-MM, YYYY-MM-DD or 'undated'")
    notes: str = ""
    tier: Literal[RENTAL_TIERS] | None = Field(None, description="rental quotes: on-demand, reserved, spot, "
                                                                 "china-cloud or tco")
    reliability: str = Field("", description="how far to trust the quote: a price list, a survey article, ...")
    market: Literal[MARKETS] = Field(description="where it was quoted: cn (mainland China) or global")
    kind: Literal[QUOTE_KINDS] = Field(description="list (a published list price), reseller, news, analyst or survey")
    period: Literal["hour", "month"] = Field("hour", description="rental quotes: the price buys an hour, or a month "
                                                                 "(730 h) of `cards` cards")

    @model_validator(mode="after")
    def _range_holds_price(self):
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        if self.tier == "china-cloud":
            raise ValueError("tier china-cloud is a name for the cn market's on-demand quote; write market: cn, "
                             "tier: on-demand")
        if self.date != "undated":
            quote_day(self.date)  # a bad date fails here, naming the field
        return self

    def per_card_cny(self, fx_cny_per_usd: float = DEFAULT_FX_CNY_PER_USD) -> float:
        """CNY per card (a purchase) or per card-hour (a rental: a monthly rent / 730 h)."""
        hours = HOURS_PER_MONTH if self.period == "month" else 1.0
        return to_cny(self.price / self.cards / hours, self.currency, fx_cny_per_usd)

    @property
    def day(self) -> dt.date | None:
        """The first day the quote stands for (YYYY -> Jan 1, YYYY-MM -> the 1st); None when undated."""
        return None if self.date == "undated" else quote_day(self.date)

    @property
    def what(self) -> str:
        """'cn list price', 'global news figure', ... : the market and the kind of figure, for every label."""
        return f"{self.market} {QUOTE_KIND_WORDS[self.kind]}"


QUOTE_KIND_WORDS = {"list": "list price", "reseller": "reseller's quote", "news": "news figure",
                    "analyst": "analyst's figure", "survey": "survey figure"}


def quote_day(text: str) -> dt.date:
    """'2024' -> 2024-01-01, '2024-05' -> 2024-05-01, '2024-05-15' -> itself; ValueError for anything else."""
    for fmt, parse in ((r"\d{4}", lambda t: dt.date(int(t), 1, 1)),
                       (r"\d{4}-\d{2}", lambda t: dt.date(int(t[:4]), int(t[5:7]), 1)),
                       (r"\d{4}-\d{2}-\d{2}", dt.date.fromisoformat)):
        if re.fullmatch(fmt, text):
            try:
                return parse(text)
            except ValueError:
                break
    raise ValueError(f"date {text!r}: give YYYY, YYYY-MM, YYYY-MM-DD or 'undated'")


class Hardware(Strict):
    """One accelerator (per card) or the generic CPU server (per server)."""

    kind: Literal["gpu", "cpu"]
    memory_gb: float = Field(gt=0, description="device memory per card (GPU) or RAM per server (CPU), GB")
    memory_bw_tb_s: float = Field(gt=0, description="peak memory bandwidth per card, TB/s")
    bf16_tflops: float | None = Field(None, gt=0, description="dense BF16 tensor TFLOPS per card (no sparsity)")
    fp8_tflops: float | None = Field(None, gt=0, description="dense FP8 TFLOPS per card; null: no FP8 units")
    tdp_w: float = Field(gt=0, description="board power (GPU) or socket TDP (CPU), W")
    interconnect_gb_s: float | None = Field(None, gt=0, description="GPU-to-GPU link bandwidth per card, GB/s, both "
                                                                     "directions (NVLink, else PCIe)")
    interconnect_link: str = Field("", description="the link's name: NVLink 4, PCIe Gen4 x16, ...")
    interconnect_source: str = ""
    fp32_tflops: float | None = Field(None, gt=0, description="measured dense float32 matmul TFLOPS (bench probe)")
    cores: int | None = Field(None, ge=1, description="CPU cores (CPU entries only)")
    interconnect: Literal["nvlink", "pcie"] | None = Field(
        None, description="how cards of a tensor-parallel group talk: nvlink, or pcie only (bench explain warns "
                          "at TP > 1: the roofline charges no communication)")
    spec_source: str = Field(min_length=1)
    spec_date: str = Field(min_length=1)
    purchase: Price | None = Field(None, description="price to buy, per card; null when no public figure was found")
    purchase_quotes: list[Price] = Field(default_factory=list, description="other purchase quotes (another market "
                                                                           "or date)")
    rental: Price | None = Field(None, description="price to rent, per card-hour; null when none was found")
    rental_tiers: list[Price] = Field(default_factory=list, description="other rental quotes (another tier, market "
                                                                        "or date)")
    host: Literal[HOST_CLASSES] | None = Field(None, description="GPU entries: the host an owned card needs (tco "
                                                                 "basis): hgx, pcie-server or workstation")
    notes: str = ""

    @property
    def rental_quotes(self) -> list[Price]:
        return ([self.rental] if self.rental else []) + list(self.rental_tiers)

    @property
    def purchase_quotes_all(self) -> list[Price]:
        return ([self.purchase] if self.purchase else []) + list(self.purchase_quotes)

    @model_validator(mode="after")
    def _one_quote_per_tier(self):
        tiers = [q.tier for q in self.rental_quotes]
        if None in tiers[1:] or (self.rental_tiers and None in tiers):
            raise ValueError("every quote of rental_tiers (and rental, when there are tiers) needs a tier: "
                             + ", ".join(t for t in RENTAL_TIERS if t != "china-cloud"))
        keys = [(q.market, q.tier, q.date) for q in self.rental_quotes]
        dup = sorted({f"{m} {t} of {d}" for m, t, d in keys if keys.count((m, t, d)) > 1})
        if dup:
            raise ValueError(f"two rental quotes of {', '.join(dup)}; keep one per market, tier and date")
        keys = [(q.market, q.date) for q in self.purchase_quotes_all]
        dup = sorted({f"{m} of {d}" for m, d in keys if keys.count((m, d)) > 1})
        if dup:
            raise ValueError(f"two purchase quotes of {', '.join(dup)}; keep one per market and date")
        return self


class HardwareBook(Strict):
    schema_version: Literal[1] = 1
    hardware: dict[str, Hardware]


def hardware_path() -> Path:
    return Path(os.environ.get("BENCH_HARDWARE", DEFAULT_HARDWARE_FILE))


def load_hardware(path: Path | None = None) -> HardwareBook:
    """Parse and validate hardware.yaml (default: the repository's, or $BENCH_HARDWARE)."""
    return load_validated(path or hardware_path(), HardwareBook, "see the field list at the top of hardware.yaml")


def canonical_name(name: str, book: HardwareBook | None = None) -> str:
    """The hardware.yaml spelling of `name` (case-insensitive); BenchError with close names if unknown."""
    book = book or load_hardware()
    by_lower = {k.lower(): k for k in book.hardware}
    key = by_lower.get(name.strip().lower())
    if key is None:
        hint = close_names(name, list(book.hardware))
        did_you_mean = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise BenchError(f"unknown hardware '{name}'{did_you_mean} (known: {', '.join(book.hardware)})")
    return key


def get_hardware(name: str, book: HardwareBook | None = None) -> Hardware:
    book = book or load_hardware()
    return book.hardware[canonical_name(name, book)]


# What NVML calls a card (nvmlDeviceGetName) -> our name; the one mapping (scripts/demo.sh asks it too).
# Matched on whole words of the name lower-cased with "-" and "_" as spaces, first rule first. None: the card
# exists but hardware.yaml has no entry for that variant (its bandwidth, power or price differ), or it is a MIG
# slice, not a card. tests/config/test_hardware_names.py holds the real names each rule was written for.
DEVICE_NAME_PATTERNS = (
    (r"\bmig\b", None),  # "NVIDIA A100-SXM4-40GB MIG 1g.5gb": a slice of a card
    (r"\bgh200\b", None),  # Grace Hopper superchip ("NVIDIA GH200 480GB"): not an H200
    (r"\bh100\b.*\bnvl\b", None), (r"\bh100\b.*\bpcie\b", "H100-PCIe"), (r"\bh100\b", "H100-SXM"),
    (r"\bh200\b.*\bnvl\b", None), (r"\bh200\b", "H200-SXM"),
    (r"\bh800\b.*\bpcie\b", None), (r"\bh800\b", "H800-SXM"),
    (r"\bh20\b.*\b3e\b", None), (r"\bh20\b", "H20"),  # H20-3e: 141 GB HBM3e, another card
    (r"\ba100\b.*\bpcie\b", None), (r"\ba100\b.*\b80gb\b", "A100-80G-SXM"),
    (r"\ba800\b.*\bpcie\b", None), (r"\ba800\b.*\b80gb\b", "A800-80G-SXM"),
    (r"\bl40s\b", "L40S"), (r"\bl20\b", "L20"),
    (r"\brtx 4090 d\b", None), (r"\brtx 4090\b", "RTX-4090"),
    (r"\brtx 3090 ti\b", None), (r"\brtx 3090\b", "RTX-3090"),
)


def from_device_name(device_name: str | None, book: HardwareBook | None = None) -> str | None:
    """Our hardware name for a GPU as NVML reports it ("NVIDIA H100 80GB HBM3" -> H100-SXM); None if unsure.
    The rules are DEVICE_NAME_PATTERNS, on whole words: "GH200" is not an H200, "H800 PCIe" not an H800 SXM."""
    if not device_name:
        return None
    words = " ".join(re.sub(r"[-_]", " ", device_name.lower()).split())
    for pattern, name in DEVICE_NAME_PATTERNS:
        if re.search(pattern, words):
            return name if name in (book or load_hardware()).hardware else None
    return None


if __name__ == "__main__":  # python -m bench.config.hardware "NVIDIA H100 80GB HBM3" -> H100-SXM (scripts/demo.sh)
    import sys

    print(from_device_name(" ".join(sys.argv[1:])) or "")
