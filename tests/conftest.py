"""Three tiers: plain tests (pure, no vllm/torch import), `engine` (the real vLLM engine; the
CPU build is enough), `gpu` (a CUDA GPU). The last two skip with a reason when unavailable;
so do `ray` tests (a local Ray instance) without the ray package."""

import importlib.util
import shutil
import subprocess

import pytest


def _has_vllm() -> bool:
    return importlib.util.find_spec("vllm") is not None


def _has_gpu() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def pytest_collection_modifyitems(config, items):
    has_vllm, has_gpu = _has_vllm(), None
    has_ray = importlib.util.find_spec("ray") is not None
    for item in items:
        if "ray" in item.keywords and not has_ray:
            item.add_marker(pytest.mark.skip(reason="ray not installed (pip install 'bench[ray]')"))
        if "engine" in item.keywords and not has_vllm:
            item.add_marker(pytest.mark.skip(reason="vllm not installed (bash scripts/setup.sh installs the CPU build)"))
        if "gpu" in item.keywords:
            if has_gpu is None:
                has_gpu = _has_gpu()
            if not has_gpu:
                item.add_marker(pytest.mark.skip(reason="no CUDA GPU on this machine"))
