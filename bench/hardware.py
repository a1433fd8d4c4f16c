"""hardware.yaml: what `--hardware NAME` accepts (case-insensitive), with each card's datasheet figures.

    hw = get_hardware("h20")          # unknown names list the close ones
    hw.memory_bw_tb_s, hw.bf16_tflops

The schema and names follow the cost issue's hardware.yaml (which adds prices and a CPU server);
this branch carries the spec fields only. The roofline reads them through one accessor,
bench.roofline.gpu_spec. `from_device_name` maps what NVML calls a card to its entry here.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from bench.catalog import REPO_ROOT, close_names
from bench.config import Strict, load_yaml, one_line
from bench.errors import BenchError

DEFAULT_HARDWARE_FILE = REPO_ROOT / "hardware.yaml"


class Hardware(Strict):
    """One accelerator, per card."""

    kind: Literal["gpu", "cpu"]
    memory_gb: float = Field(gt=0, description="device memory per card; cards' 'GB' are GiB")
    memory_bw_tb_s: float = Field(gt=0, description="peak memory bandwidth per card, TB/s (1e12 bytes/s)")
    bf16_tflops: float | None = Field(None, gt=0, description="dense BF16 tensor TFLOPS per card (no sparsity)")
    fp8_tflops: float | None = Field(None, gt=0, description="dense FP8 TFLOPS per card; null: no FP8 units")
    tdp_w: float = Field(gt=0, description="board power, W")
    spec_source: str = Field(min_length=1)
    spec_date: str = Field(min_length=1)
    notes: str = ""


class HardwareBook(Strict):
    schema_version: Literal[1] = 1
    hardware: dict[str, Hardware]


def hardware_path() -> Path:
    return Path(os.environ.get("BENCH_HARDWARE", DEFAULT_HARDWARE_FILE))


@lru_cache(maxsize=8)
def _load(path: Path) -> HardwareBook:
    data = load_yaml(path)
    try:
        return HardwareBook.model_validate(data)
    except ValidationError as e:
        raise BenchError(one_line(e, str(path))) from None


def load_hardware(path: Path | None = None) -> HardwareBook:
    """Parse and validate hardware.yaml (default: the repository's, or $BENCH_HARDWARE)."""
    return _load(path or hardware_path())


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


# What NVML calls each card -> our name (None: a variant hardware.yaml lacks). First match wins,
# on the name lowercased with everything but letters and digits removed.
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
