"""hardware.yaml: what each GPU (or the generic CPU server) can do and what it costs.

    hw = get_hardware("h20")          # case-insensitive; unknown names list the close ones
    hw.memory_bw_tb_s, hw.bf16_tflops, hw.tdp_w
    hw.rental.per_card_cny(fx)        # CNY per card-hour, or hw.rental is None

Every figure carries its source and date; prices carry their currency (CNY or USD).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from bench.config.catalog import REPO_ROOT, close_names
from bench.config.files import Strict, load_validated
from bench.cost.formulas import DEFAULT_FX_CNY_PER_USD, to_cny
from bench.errors import BenchError

DEFAULT_HARDWARE_FILE = REPO_ROOT / "hardware.yaml"

# Rental tiers a quote can belong to (`bench cost --rental-tier`). on-demand: list price, pay by the hour;
# reserved: a 1-3 year commitment; spot: interruptible; china-cloud: a mainland-China cloud's list price;
# tco: an analyst's cost-of-ownership figure (what renting costs the owner), not a price anyone quotes.
RENTAL_TIERS = ("on-demand", "reserved", "spot", "china-cloud", "tco")


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

    @model_validator(mode="after")
    def _range_holds_price(self):
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self

    def per_card_cny(self, fx_cny_per_usd: float = DEFAULT_FX_CNY_PER_USD) -> float:
        return to_cny(self.price / self.cards, self.currency, fx_cny_per_usd)


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
    interconnect: str = Field("", description="the link's name: NVLink 4, PCIe Gen4 x16, ...")
    interconnect_source: str = ""
    fp32_tflops: float | None = Field(None, gt=0, description="measured dense float32 matmul TFLOPS (bench probe)")
    cores: int | None = Field(None, ge=1, description="CPU cores (CPU entries only)")
    spec_source: str = Field(min_length=1)
    spec_date: str = Field(min_length=1)
    purchase: Price | None = Field(None, description="price to buy, per card; null when no public figure was found")
    rental: Price | None = Field(None, description="price to rent, per card-hour; null when none was found")
    rental_tiers: list[Price] = Field(default_factory=list, description="other rental quotes, one per tier")
    notes: str = ""

    @model_validator(mode="after")
    def _one_quote_per_tier(self):
        tiers = [q.tier for q in ([self.rental] if self.rental else []) + self.rental_tiers]
        if None in tiers[1:] or (self.rental_tiers and None in tiers):
            raise ValueError("every quote of rental_tiers (and rental, when there are tiers) needs a tier: "
                             + ", ".join(RENTAL_TIERS))
        dup = sorted({t for t in tiers if tiers.count(t) > 1})
        if dup:
            raise ValueError(f"two rental quotes of tier {', '.join(dup)}; keep one per tier")
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


# What NVML calls a card -> our name. Order matters (h100 pcie before h100; h200 before h20);
# None where the card exists but hardware.yaml has no entry for that variant.
DEVICE_NAME_PATTERNS = (
    (r"h100nvl", None), (r"h100pcie", "H100-PCIe"), (r"h100", "H100-SXM"), (r"h800", "H800-SXM"),
    (r"h200", "H200-SXM"), (r"h20", "H20"), (r"a100.*pcie", None), (r"a100.*80gb", "A100-80G-SXM"),
    (r"a800.*pcie", None), (r"a800.*80gb", "A800-80G-SXM"), (r"l40s", "L40S"), (r"l20", "L20"),
    (r"rtx4090d", None), (r"rtx4090", "RTX-4090"), (r"rtx3090ti", None), (r"rtx3090", "RTX-3090"),
)


def from_device_name(device_name: str | None, book: HardwareBook | None = None) -> str | None:
    """Our hardware name for a GPU as NVML reports it ("NVIDIA H100 80GB HBM3" -> H100-SXM); None if unsure."""
    if not device_name:
        return None
    squashed = re.sub(r"[^a-z0-9]", "", device_name.lower())
    for pattern, name in DEVICE_NAME_PATTERNS:
        if re.search(pattern, squashed):
            return name if name in (book or load_hardware()).hardware else None
    return None
