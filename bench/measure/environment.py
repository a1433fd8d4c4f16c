"""What machine and software produced a result: recorded in every row and JSON."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from functools import lru_cache
from pathlib import Path

from bench import REPO_ROOT, __version__


@lru_cache(maxsize=1)
def git_sha() -> str:
    """Commit of the bench checkout, with '-dirty' when it has uncommitted changes; '' outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        if not sha:
            return ""
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_total_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 2)
    except OSError:
        pass
    return None


def sched_autogroup() -> bool | None:
    """Whether Linux shares CPU time between sessions (autogroup scheduling) on this machine; None where the kernel
    does not say. A server in a session of its own then gets a share of its own beside its client's: on 2 cores that
    held vLLM's API server off the cores (docs/serve.md, "Streams that come all at once")."""
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return None


def host_env() -> dict:
    """Cheap facts, no torch or vllm import."""
    return {
        "bench_version": __version__,
        "git_sha": git_sha(),
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_total_gb": memory_total_gb(),
        "sched_autogroup": sched_autogroup(),
    }


def gpu_env() -> dict:
    """GPU facts of the case's process, read through NVML (bench.measure.gpus.device_facts: device name, GPUs seen
    through CUDA_VISIBLE_DEVICES, driver, the driver's CUDA version), each on its own, plus the CUDA version torch
    was built for when torch is already imported. Opens no CUDA context (the engine has stopped; a context now
    would cost seconds and memory for facts NVML has). Never raises."""
    import sys

    from bench.measure.gpus import device_facts

    out = device_facts()
    torch = sys.modules.get("torch")
    cuda = getattr(getattr(torch, "version", None), "cuda", None)
    if cuda:
        out["cuda_version"] = str(cuda)
    return out
