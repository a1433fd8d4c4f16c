"""The GPU catalog (hardware.yaml): what `--hardware NAME` accepts, case-insensitive.

Strict at the file boundary (a typo in a field name fails loudly); lookups answer unknown
names with the close ones. The roofline reads only the spec fields, through
`bench.roofline.gpu_spec`, so prices and other fields can grow here without touching it.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError

from bench.config import Strict, load_yaml, one_line
from bench.errors import BenchError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HARDWARE = REPO_ROOT / "hardware.yaml"


class Gpu(Strict):
    memory_gb: float = Field(gt=0, description="marketed memory size; cards' 'GB' are GiB")
    memory_bw_tb_s: float = Field(gt=0, description="peak memory bandwidth, TB/s (1e12 bytes/s)")
    bf16_tflops: float | None = Field(None, gt=0, description="dense BF16 tensor TFLOPS")
    fp8_tflops: float | None = Field(None, gt=0, description="dense FP8 tensor TFLOPS; empty without FP8")
    tdp_w: float | None = Field(None, gt=0)
    notes: str = ""
    source: str
    date: str


class HardwareCatalog(Strict):
    schema_version: int = 1
    gpus: dict[str, Gpu]


def hardware_path() -> Path:
    return Path(os.environ.get("BENCH_HARDWARE", DEFAULT_HARDWARE))


@lru_cache(maxsize=8)
def _load(path: Path) -> HardwareCatalog:
    data = load_yaml(path)
    try:
        return HardwareCatalog.model_validate(data)
    except ValidationError as e:
        raise BenchError(one_line(e, str(path))) from None


def load(path: Path | None = None) -> HardwareCatalog:
    return _load(path or hardware_path())


def names(path: Path | None = None) -> list[str]:
    return list(load(path).gpus)


def canonical_name(name: str, path: Path | None = None) -> str:
    """The catalog's spelling of NAME (case-insensitive); BenchError with close names if unknown."""
    from bench.catalog import close_names

    gpus = load(path).gpus
    by_lower = {k.lower(): k for k in gpus}
    key = by_lower.get(name.strip().lower())
    if key is None:
        hint = close_names(name, list(gpus))
        dym = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise BenchError(f"unknown hardware '{name}'{dym} (known: {', '.join(gpus)}; see hardware.yaml)")
    return key


def get_hardware(name: str, path: Path | None = None) -> Gpu:
    return load(path).gpus[canonical_name(name, path)]


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


# What NVML calls each card -> our name (None: a variant hardware.yaml lacks). First match wins.
DEVICE_NAME_PATTERNS = (
    (r"h100nvl", None), (r"h100pcie", "H100-PCIe"), (r"h100", "H100-SXM"), (r"h800", "H800-SXM"),
    (r"h200", "H200-SXM"), (r"h20", "H20"), (r"a100.*pcie", None), (r"a100.*80gb", "A100-80G-SXM"),
    (r"a800.*pcie", None), (r"a800.*80gb", "A800-80G-SXM"), (r"l40s", "L40S"), (r"l20", "L20"),
    (r"rtx4090d", None), (r"rtx4090", "RTX-4090"), (r"rtx3090ti", None), (r"rtx3090", "RTX-3090"),
)


def from_device_name(device_name: str | None, path: Path | None = None) -> str | None:
    """Our hardware name for a GPU as NVML reports it ("NVIDIA H100 80GB HBM3" -> H100-SXM); None if unsure."""
    if not device_name:
        return None
    squashed = _squash(device_name)
    for pattern, name in DEVICE_NAME_PATTERNS:
        if re.search(pattern, squashed):
            return name if name in load(path).gpus else None
    return None
