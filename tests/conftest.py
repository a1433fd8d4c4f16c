"""Tiers, by marker:

- unit (no marker; `-m "not engine and not gpu and not ray"`): pure, no vllm/torch/transformers/ray import;
  they pass with bench's base dependencies and pytest only (scripts/test.sh runs them first in .venv-unit).
  A test that needs one of those packages is not a unit test: mark it.
- `engine`: a real engine on CPU (vLLM's CPU build, or with `pytest.mark.engine("torch", "transformers")`
  the packages named); `gpu`: a CUDA GPU; `ray`: a local Ray instance. These skip with a reason when what
  they need is missing."""

import importlib.util
import shutil
import subprocess

import pytest


def _missing(packages) -> list[str]:
    return [p for p in packages if importlib.util.find_spec(p) is None]


def _has_gpu() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def pytest_collection_modifyitems(config, items):
    has_gpu = None
    has_ray = importlib.util.find_spec("ray") is not None
    for item in items:
        if "ray" in item.keywords and not has_ray:
            item.add_marker(pytest.mark.skip(reason="ray not installed (pip install 'bench[ray]')"))
        marker = item.get_closest_marker("engine")
        missing = _missing(marker.args or ("vllm",)) if marker else []
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"{', '.join(missing)} not installed "
                                                    "(bash scripts/setup.sh installs vLLM's CPU build, torch, transformers)"))
        if "gpu" in item.keywords:
            if has_gpu is None:
                has_gpu = _has_gpu()
            if not has_gpu:
                item.add_marker(pytest.mark.skip(reason="no CUDA GPU on this machine"))
