"""Tiers, by marker:

- unit (no marker; `-m "not engine and not gpu and not ray"`): pure, no vllm/torch/transformers/ray import;
  they pass with bench's base dependencies and pytest only (scripts/test.sh runs them first in .venv-unit).
  A test that needs one of those packages is not a unit test: mark it.
- `engine`: a real engine on CPU (vLLM's CPU build, or with `pytest.mark.engine("torch", "transformers")`
  the packages named); `gpu`: a CUDA GPU; `ray`: a local Ray instance. These skip with a reason when what
  they need is missing."""

import importlib.util
import os
import shutil
import subprocess

import pytest

from bench.serve.server import IN_PROCESS_ENGINE_ENV


@pytest.fixture(scope="session", autouse=True)
def _vllm_engine_core_in_process():
    """vLLM's engine core in the process that starts it (VLLM_ENABLE_V1_MULTIPROCESSING=0) for every engine this
    suite starts offline (bench run's case worker, `vllm bench throughput`): no second process importing vLLM
    and torch again, and no busy message loop between the two; on 2 cores a tiny engine's start-up drops from
    25-45 s to under 10 s (scripts/gpu_reference.sh's dry mode does the same). Session-wide, so the module
    fixtures that start engines get it too; inert where vLLM is absent (the unit tier). vLLM's server cannot
    run that way, and bench starts it without the variable (bench/serve/server.py). Export
    VLLM_ENABLE_V1_MULTIPROCESSING=1 to run the engine tests with vLLM's default instead."""
    saved = os.environ.get(IN_PROCESS_ENGINE_ENV)
    os.environ.setdefault(IN_PROCESS_ENGINE_ENV, "0")
    yield
    if saved is None:
        os.environ.pop(IN_PROCESS_ENGINE_ENV, None)


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
