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
    }


def gpu_env() -> dict:
    """GPU facts from torch and NVML (inside the engine process only)."""
    out: dict = {}
    try:
        import torch

        if torch.cuda.is_available():
            out["device_name"] = torch.cuda.get_device_name(0)
            out["gpu_count"] = torch.cuda.device_count()
            out["cuda_version"] = torch.version.cuda
    except ImportError:
        return out
    try:
        import pynvml  # provided by nvidia-ml-py

        pynvml.nvmlInit()
        out["driver_version"] = _str(pynvml.nvmlSystemGetDriverVersion())
        pynvml.nvmlShutdown()
    except Exception:  # no NVML on this machine: the driver stays unrecorded
        pass
    return out


def _str(x) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)
