"""A stand-in for pynvml (nvidia-ml-py) describing a whole machine: named GPUs with UUIDs, MIG slices, memory
that changes as it is read, an energy counter that may be frozen. No GPU, no pynvml, no torch."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import SimpleNamespace


class NVMLError(Exception):
    pass


@dataclass
class FakeGpu:
    name: str = "NVIDIA H100 80GB HBM3"
    memory_used: list[int] = field(default_factory=lambda: [1 * 2**30])  # successive reads; the last repeats
    power_w: float = 300.0
    mig: bool = False
    counter: str = "live"  # live: grows with time at power_w; frozen: never advances; none: not supported
    reads: int = 0


class FakeNvml:
    """The pynvml functions bench uses, over `gpus` (NVML index i = gpus[i], UUID GPU-fake-i or MIG-fake-i)."""

    NVML_TEMPERATURE_GPU, NVML_CLOCK_SM, NVML_CLOCK_MEM = 0, 1, 2

    def __init__(self, gpus: list[FakeGpu], driver="580.65.06", cuda=13000):
        self.gpus = gpus
        self.driver, self.cuda = driver, cuda
        self.inits = self.shutdowns = 0
        self.broken: set[str] = set()  # names of functions that raise

    def _check(self, fn):
        if fn in self.broken:
            raise NVMLError(f"{fn}: Unknown Error")

    def nvmlInit(self):
        self.inits += 1

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i):
        if not 0 <= i < len(self.gpus):
            raise NVMLError("Invalid Argument")
        return i

    def nvmlDeviceGetHandleByUUID(self, uuid: bytes):
        kind, _, index = uuid.decode().rpartition("-")
        if not index.isdigit() or int(index) >= len(self.gpus) or kind not in ("GPU-fake", "MIG-fake"):
            raise NVMLError("Not Found")
        return int(index)

    def nvmlDeviceIsMigDeviceHandle(self, h):
        return int(self.gpus[h].mig)

    def nvmlDeviceGetName(self, h):
        self._check("nvmlDeviceGetName")
        return self.gpus[h].name

    def nvmlSystemGetDriverVersion(self):
        self._check("nvmlSystemGetDriverVersion")
        return self.driver

    def nvmlSystemGetCudaDriverVersion(self):
        self._check("nvmlSystemGetCudaDriverVersion")
        return self.cuda

    def nvmlDeviceGetMemoryInfo(self, h):
        g = self.gpus[h]
        used = g.memory_used[min(g.reads, len(g.memory_used) - 1)]
        g.reads += 1
        return SimpleNamespace(used=used, total=80 * 2**30, free=80 * 2**30 - used)

    def nvmlDeviceGetPowerUsage(self, h):
        if self.gpus[h].mig:
            raise NVMLError("Not Supported")
        return int(self.gpus[h].power_w * 1000)  # mW

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        g = self.gpus[h]
        if g.mig or g.counter == "none":
            raise NVMLError("Not Supported")
        if g.counter == "frozen":
            return 123_456_789
        return int(g.power_w * time.perf_counter() * 1000)  # mJ

    def nvmlDeviceGetUtilizationRates(self, h):
        return SimpleNamespace(gpu=90, memory=10)

    def nvmlDeviceGetClockInfo(self, h, kind):
        return 1980 if kind == self.NVML_CLOCK_SM else 2619

    def nvmlDeviceGetTemperature(self, h, kind):
        return 60
