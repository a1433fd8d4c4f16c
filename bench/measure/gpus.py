"""Which GPUs a case uses and what they are, read through NVML only: never through CUDA.

NVML numbers every GPU of the machine and ignores CUDA_VISIBLE_DEVICES; CUDA (torch, vLLM) numbers only
the GPUs that variable names, in its order. So the GPUs a process uses are CUDA_VISIBLE_DEVICES mapped
onto NVML's devices, by index or by UUID (GPU-..., MIG-...), read the way CUDA reads it: entries in
order up to the first one that names no device. Unset, or empty, means every GPU: vLLM treats an empty
value as unset (Ray sets it empty for a task that asked for no GPU, e.g. an engine whose workers are
Ray actors placed elsewhere), and so does bench.

Nothing here opens a CUDA context: in the parent of an engine a context would take ~0.5 GB of GPU 0
before the engine sized its cache. `nvml` is the pynvml module (nvidia-ml-py) or a stand-in with the
same functions.
"""

from __future__ import annotations

import os


class NoVisibleGpu(Exception):
    """CUDA_VISIBLE_DEVICES names no GPU of this machine; the message says the value and the fix."""


def visible_ids(cuda_visible_devices: str | None) -> list[str] | None:
    """CUDA_VISIBLE_DEVICES as its entries (indices or UUIDs); None when unset or empty (every GPU, as vLLM)."""
    if cuda_visible_devices is None or not cuda_visible_devices.strip():
        return None
    return [x.strip() for x in cuda_visible_devices.split(",")]


def _handle(nvml, entry: str, count: int):
    """The NVML handle an entry of CUDA_VISIBLE_DEVICES names, or None when it names no device."""
    if entry.isdigit():
        return nvml.nvmlDeviceGetHandleByIndex(int(entry)) if int(entry) < count else None
    if entry.startswith(("GPU-", "MIG-")):
        try:
            return nvml.nvmlDeviceGetHandleByUUID(entry.encode())  # bytes: old and new bindings take them
        except Exception:  # NVMLError_NotFound: no such device here
            return None
    return None  # "-1", "none", ...: CUDA stops reading here


def visible_handles(nvml, cuda_visible_devices: str | None) -> list:
    """NVML handles of the GPUs this process sees, in CUDA's order. NoVisibleGpu when the variable hides all."""
    count = nvml.nvmlDeviceGetCount()
    ids = visible_ids(cuda_visible_devices)
    if ids is None:
        return [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    handles = []
    for entry in ids:
        h = _handle(nvml, entry, count)
        if h is None:
            break
        handles.append(h)
    if not handles:
        raise NoVisibleGpu(hides_every_gpu(cuda_visible_devices, count))
    return handles


def hides_every_gpu(cuda_visible_devices: str | None, count: int) -> str:
    """The one line for a CUDA_VISIBLE_DEVICES that names none of this machine's GPUs."""
    seen = f"indices 0-{count - 1} or their GPU-/MIG- UUIDs" if count else "NVML sees none"
    return (f"CUDA_VISIBLE_DEVICES={cuda_visible_devices!r} hides every GPU (this machine has {count}: {seen}); "
            "unset it or name the GPUs to use")


def run_handles(nvml, gpus: int, cuda_visible_devices: str | None) -> list:
    """The handles of the GPUs a case of `gpus` GPUs (tensor x pipeline parallel) runs on: the first `gpus` it sees,
    as CUDA's device 0, 1, ... are (vLLM's workers take ranks 0..gpus-1 of the visible GPUs)."""
    return visible_handles(nvml, cuda_visible_devices)[:max(gpus, 1)]


def is_mig(nvml, handle) -> bool:
    """Whether a handle is a MIG slice (power and energy are the whole card's, so NVML offers neither)."""
    try:
        return bool(nvml.nvmlDeviceIsMigDeviceHandle(handle))
    except Exception:  # an old binding or driver without MIG
        return False


def _text(x) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def cuda_version_text(driver_cuda: int) -> str:
    """NVML's CUDA driver version (1000 x major + 10 x minor, e.g. 12080) as "12.8"."""
    return f"{driver_cuda // 1000}.{driver_cuda % 1000 // 10}"


def device_facts(nvml=None, cuda_visible_devices: str | None = None) -> dict:
    """device_name, gpu_count (GPUs this process sees), driver_version, driver_cuda_version, each read on its
    own: a field NVML cannot give is left out, the others stay. {} without NVML. Never raises."""
    if nvml is None:
        try:
            import pynvml as nvml  # nvidia-ml-py
        except ImportError:
            return {}
    if cuda_visible_devices is None:
        cuda_visible_devices = os.environ.get("CUDA_VISIBLE_DEVICES")
    try:
        nvml.nvmlInit()
    except Exception:
        return {}
    out: dict = {}
    try:
        readers = {
            "driver_version": lambda: _text(nvml.nvmlSystemGetDriverVersion()),
            "driver_cuda_version": lambda: cuda_version_text(int(nvml.nvmlSystemGetCudaDriverVersion())),
            "gpu_count": lambda: len(visible_handles(nvml, cuda_visible_devices)),
            "device_name": lambda: _text(nvml.nvmlDeviceGetName(visible_handles(nvml, cuda_visible_devices)[0])),
        }
        for name, read in readers.items():
            try:
                out[name] = read()
            except Exception:
                pass
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:
            pass
    return out
