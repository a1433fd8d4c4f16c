"""`bench probe`: this machine's achieved memory bandwidth and matmul rate, measured in seconds with torch
(when it is importable) or numpy, written as a hardware.yaml entry so the roofline and the prediction have a
peak and a bandwidth to work from on a CPU (or a GPU without a datasheet entry).

Method. Bandwidth: a copy of a buffer well above any cache (256 MiB on a CPU, 1 GiB on a GPU) repeated for
half the time; each copy reads and writes it: 2 x bytes / seconds, the best of the repeats. Matmul: square
GEMMs (1024 on a CPU, 8192 on a GPU) for the other half: 2 x n^3 FLOPs / seconds, the best repeat. Both are
what one process achieves, the figures the engine's kernels can hope for, not datasheet peaks.

Backends. torch (the default when importable, `--backend auto`): the matmul in the dtype the engine will run
(`--dtype`; default bfloat16 on a GPU, on a CPU what bench.measure.cpu_features picks: bfloat16 where the CPU
multiplies bf16 natively, else float32), on CUDA when a GPU is visible (synchronised around every timing, one
warm-up call first), else on the CPU with torch's threads (oneDNN, the library vLLM's CPU build calls).
numpy: float32 only, through numpy's BLAS (which vLLM's oneDNN kernels beat: a fit on it finds compute
fractions above 1).

The entry. A GPU: kind gpu, the measured 16-bit rate as bf16_tflops (the peak a GPU entry's roofline reads).
A CPU: kind cpu, the measured rate as fp32_tflops when float32 was measured, as bf16_tflops when a 16-bit
dtype was (bench.roofline.bound.gpu_spec reads either: every format's peak is the measured one, float32's
half a 16-bit one when only that was measured). spec_source names backend, device, dtype and method;
spec_date the day.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import BenchError

COPY_BYTES = 256 * 2**20
MATMUL_N = 1024
GPU_COPY_BYTES = 2**30
GPU_MATMUL_N = 8192
BACKENDS = ("auto", "torch", "numpy")
DTYPES = ("bfloat16", "float16", "float32")
_ELEMENT_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}


@dataclass(frozen=True)
class Figures:
    bandwidth_gb_s: float
    matmul_gflops: float
    memory_gb: float
    cores: int
    how: str
    backend: str = "numpy"
    dtype: str = "float32"
    device: str = "cpu"  # cpu, or cuda


def choose(backend: str, dtype: str | None, torch_present: bool, cuda: bool, cpu_dtype: str) -> tuple[str, str]:
    """(backend, dtype) the probe runs with, or one line saying why the request cannot be measured here.
    auto = torch when importable, else numpy; the dtype defaults to bfloat16 on a GPU, else `cpu_dtype`
    (numpy: float32, the only dtype its BLAS multiplies)."""
    if backend not in BACKENDS:
        raise BenchError(f"--backend {backend}: not a probe backend; choose one of {', '.join(BACKENDS)}")
    if dtype is not None and dtype not in DTYPES:
        raise BenchError(f"--dtype {dtype}: not a probe dtype; choose one of {', '.join(DTYPES)}")
    if backend == "torch" and not torch_present:
        raise BenchError("--backend torch: torch is not importable here; install it or use --backend numpy (float32)")
    chosen = "torch" if backend == "torch" or (backend == "auto" and torch_present) else "numpy"
    if chosen == "numpy":
        if dtype not in (None, "float32"):
            fix = "--backend torch" if backend == "numpy" else "install torch (it is not importable here)"
            raise BenchError(f"--dtype {dtype}: numpy's BLAS multiplies float32 only; give --dtype float32 or {fix}")
        return "numpy", "float32"
    if cuda and dtype == "float32":
        raise BenchError("--dtype float32 on a GPU: a GPU entry's peak is its 16-bit tensor rate (bf16_tflops); "
                         "give --dtype bfloat16")
    return "torch", dtype or ("bfloat16" if cuda else cpu_dtype)


def measure(seconds: float = 3.0, backend: str = "auto", dtype: str | None = None) -> Figures:
    """Measure with the backend and dtype `choose` picks (torch imported here, never by importing bench)."""
    from bench.measure.cpu_features import cpu_dtype, cpu_flags

    torch_present = importlib.util.find_spec("torch") is not None
    cuda = False
    if torch_present and backend != "numpy":
        import torch

        cuda = torch.cuda.is_available()
    chosen, dt = choose(backend, dtype, torch_present, cuda, cpu_dtype(cpu_flags()))
    if chosen == "torch":
        return _measure_torch(seconds, dt, cuda)
    return _measure_numpy(seconds)


def best_s(fn, seconds: float, sync=lambda: None, repeats: int = 3) -> float:
    """Shortest of repeated calls of fn (at least `repeats`, for `seconds`), after one warm-up call; sync waits for
    the device before each clock read."""
    fn()
    sync()
    best, done = float("inf"), 0
    end = time.perf_counter() + seconds
    while done < repeats or time.perf_counter() < end:
        t = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t)
        done += 1
    return best


def _measure_numpy(seconds: float) -> Figures:
    import numpy as np
    import psutil

    a = np.ones(COPY_BYTES // 4, dtype=np.float32)
    b = a.copy()  # both arrays' pages touched before timing
    copy_s = best_s(lambda: np.copyto(b, a), seconds / 2)
    x = np.random.default_rng(0).standard_normal((MATMUL_N, MATMUL_N), dtype=np.float32)
    mm_s = best_s(lambda: x @ x, seconds / 2)
    return Figures(bandwidth_gb_s=2 * COPY_BYTES / copy_s / 1e9, matmul_gflops=2 * MATMUL_N**3 / mm_s / 1e9,
                   memory_gb=psutil.virtual_memory().total / 1e9, cores=os.cpu_count() or 1,
                   how=f"numpy copy of {COPY_BYTES // 2**20} MiB, float32 {MATMUL_N}^3 matmul, best of repeats",
                   backend="numpy", dtype="float32", device="cpu")


def _measure_torch(seconds: float, dtype: str, cuda: bool) -> Figures:
    import psutil
    import torch

    tdt = getattr(torch, dtype)
    device = "cuda" if cuda else "cpu"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    nbytes, n = (GPU_COPY_BYTES, GPU_MATMUL_N) if cuda else (COPY_BYTES, MATMUL_N)
    a = torch.ones(nbytes // _ELEMENT_BYTES[dtype], dtype=tdt, device=device)
    b = torch.zeros_like(a)
    copy_s = best_s(lambda: b.copy_(a), seconds / 2, sync)
    del a, b
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(n, n, dtype=tdt, device=device, generator=gen)
    mm_s = best_s(lambda: torch.mm(x, x), seconds / 2, sync)
    if cuda:
        props = torch.cuda.get_device_properties(0)
        memory_gb, cores, where = props.total_memory / 1e9, props.multi_processor_count, f"cuda ({props.name})"
    else:
        memory_gb, cores = psutil.virtual_memory().total / 1e9, os.cpu_count() or 1
        where = f"cpu, {torch.get_num_threads()} threads"
    return Figures(bandwidth_gb_s=2 * nbytes / copy_s / 1e9, matmul_gflops=2 * n**3 / mm_s / 1e9,
                   memory_gb=memory_gb, cores=cores, backend="torch", dtype=dtype, device=device,
                   how=f"torch {torch.__version__} on {where}: copy of {nbytes // 2**20} MiB, {dtype} {n}^3 matmul, "
                       "best of repeats")


def entry_text(name: str, f: Figures, tdp_w: float) -> str:
    """The hardware.yaml entry (see the module doc for which peak field gets the measured rate)."""
    today = datetime.date.today().isoformat()
    tflops = f"{f.matmul_gflops / 1e3:.5f}"
    fp32 = tflops if f.dtype == "float32" else "null"
    bf16 = "null" if f.dtype == "float32" else tflops
    gpu = f.device == "cuda"
    return (f"  {name}:\n"
            f"    kind: {'gpu' if gpu else 'cpu'}\n"
            f"    memory_gb: {f.memory_gb:.1f}\n"
            f"    memory_bw_tb_s: {f.bandwidth_gb_s / 1e3:.5f}\n"
            f"    bf16_tflops: {bf16}\n"
            f"    fp8_tflops: null\n"
            f"    fp32_tflops: {fp32}\n"
            f"    tdp_w: {tdp_w:g}\n"
            + ("" if gpu else f"    cores: {f.cores}\n")
            + f"    spec_source: \"bench probe: {f.how} (measured, not a datasheet)\"\n"
            f"    spec_date: \"{today}\"\n"
            f"    purchase: null\n"
            f"    rental: null\n"
            f"    notes: written by bench probe (backend {f.backend}, dtype {f.dtype}, device {f.device}); tdp_w "
            "given, not measured\n")


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
