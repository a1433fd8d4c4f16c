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
    and torch again (a tiny-qwen2 case: 48 -> 25 CPU s on the 2-core machine, 2026-12-06;
    scripts/gpu_reference.sh's dry mode does the same). Here rather than in scripts/test.sh's stage 2, so that a
    plain pytest run gets it too; session-wide, so the module fixtures that start engines do; inert where vLLM
    is absent (the unit tier). vLLM's server cannot run that way, and bench starts it without the variable
    (bench/serve/server.py). Export VLLM_ENABLE_V1_MULTIPROCESSING=1 to run the engine tests with vLLM's
    default instead."""
    saved = {k: os.environ.get(k) for k in (IN_PROCESS_ENGINE_ENV, "VLLM_NO_USAGE_STATS")}
    os.environ.setdefault(IN_PROCESS_ENGINE_ENV, "0")
    # and no usage report from the engines the tests start themselves (`vllm bench throughput`; bench's engines
    # turn it off): its thread costs a tiny engine 4-5 CPU s
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)


def _missing(packages) -> list[str]:
    return [p for p in packages if importlib.util.find_spec(p) is None]


def _has_gpu() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


# The files that take a worker longest (seconds on the 2-core machine, quiet, 2026-12-06: the dry GPU reference run
# 281, the server tests 140, the malformed-input generator 45, the fault-injected sweeps 150 of waits), run first:
# pytest-xdist's --dist loadfile hands out files in collection order, and a long file that starts last is a tail
# with one worker idle.
LONGEST_FIRST = ("tests/scripts/test_gpu_reference.py", "tests/serve/test_server_vllm.py",
                 "tests/engines/test_vllm_workloads.py", "tests/e2e/test_sweep_faults.py",
                 "tests/e2e/test_malformed_inputs.py", "tests/engines/test_hf_engine.py")


def _long_first(item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_long_first)  # stable: a file's tests keep their order
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
