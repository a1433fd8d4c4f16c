"""`bench probe`: this machine's achieved memory bandwidth and matmul rate, measured in seconds with numpy,
written as a hardware.yaml entry (kind cpu, fp32_tflops measured) so the roofline and the prediction have a
peak and a bandwidth to work from on a CPU.

Method. Bandwidth: np.copyto of a 256 MiB float32 array (well above any cache) repeated for half the time;
each copy reads and writes the array: 2 x bytes / seconds, the best of the repeats. Matmul: float32 GEMMs
of 1024 x 1024 (numpy's BLAS on every core) for the other half: 2 x n^3 FLOPs / seconds, the best repeat.
Both are what one process achieves, the figures the engine's kernels can hope for, not datasheet peaks.
"""

from __future__ import annotations

import datetime
import os
import time
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError

COPY_BYTES = 256 * 2**20
MATMUL_N = 1024


@dataclass(frozen=True)
class Figures:
    bandwidth_gb_s: float
    matmul_gflops: float
    memory_gb: float
    cores: int
    how: str


def measure(seconds: float = 3.0) -> Figures:
    import numpy as np
    import psutil

    a = np.ones(COPY_BYTES // 4, dtype=np.float32)
    b = a.copy()  # both arrays' pages touched before timing
    best_copy = float("inf")
    end = time.perf_counter() + seconds / 2
    repeats = 0
    while repeats < 3 or time.perf_counter() < end:
        t = time.perf_counter()
        np.copyto(b, a)
        best_copy = min(best_copy, time.perf_counter() - t)
        repeats += 1
    x = np.random.default_rng(0).standard_normal((MATMUL_N, MATMUL_N), dtype=np.float32)
    best_mm = float("inf")
    end = time.perf_counter() + seconds / 2
    repeats = 0
    while repeats < 3 or time.perf_counter() < end:
        t = time.perf_counter()
        x @ x
        best_mm = min(best_mm, time.perf_counter() - t)
        repeats += 1
    return Figures(bandwidth_gb_s=2 * COPY_BYTES / best_copy / 1e9, matmul_gflops=2 * MATMUL_N**3 / best_mm / 1e9,
                   memory_gb=psutil.virtual_memory().total / 1e9, cores=os.cpu_count() or 1,
                   how=f"numpy copy of {COPY_BYTES // 2**20} MiB, float32 {MATMUL_N}^3 matmul, best of repeats")


def entry_text(name: str, f: Figures, tdp_w: float) -> str:
    today = datetime.date.today().isoformat()
    return (f"  {name}:\n"
            f"    kind: cpu\n"
            f"    memory_gb: {f.memory_gb:.1f}\n"
            f"    memory_bw_tb_s: {f.bandwidth_gb_s / 1e3:.5f}\n"
            f"    bf16_tflops: null\n"
            f"    fp8_tflops: null\n"
            f"    fp32_tflops: {f.matmul_gflops / 1e3:.5f}\n"
            f"    tdp_w: {tdp_w:g}\n"
            f"    cores: {f.cores}\n"
            f"    spec_source: \"bench probe: {f.how} (measured, not a datasheet)\"\n"
            f"    spec_date: \"{today}\"\n"
            f"    purchase: null\n"
            f"    rental: null\n"
            f"    notes: written by bench probe; tdp_w given, not measured\n")


def write_entry(name: str, f: Figures, tdp_w: float, replace: bool = False, path: Path | None = None) -> Path:
    """Append (or, with replace, swap) the entry in hardware.yaml; the file is validated before it replaces the old."""
    from bench.config import hardware

    path = path or hardware.hardware_path()
    book = hardware.load_hardware(path)
    text = path.read_text(encoding="utf-8")
    if name in book.hardware:
        old = book.hardware[name]
        if not (replace and old.spec_source.startswith("bench probe")):
            raise BenchError(f"hardware '{name}' already exists in {path}; pick another --name"
                             + (" or --replace (it was written by bench probe)" if old.spec_source.startswith("bench probe") else ""))
        text = _without_entry(text, name)
    if not text.endswith("\n"):
        text += "\n"
    new = text + entry_text(name, f, tdp_w)
    tmp = path.with_name(path.name + ".probe.tmp")
    tmp.write_text(new, encoding="utf-8")
    try:
        hardware.load_hardware(tmp)
    except BenchError:
        tmp.unlink()
        raise
    tmp.replace(path)
    return path


def _without_entry(text: str, name: str) -> str:
    lines, out, skipping = text.split("\n"), [], False
    for line in lines:
        if line == f"  {name}:":
            skipping = True
            continue
        if skipping and (line.startswith("    ") or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out)
