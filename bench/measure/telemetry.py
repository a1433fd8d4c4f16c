"""What the hardware did while a case ran, sampled in background threads.

PeakMemorySampler: peak memory over the whole case (engine start included).
NvmlSampler: GPU power, energy, utilisation, clocks, temperature over the timed work only.

Peak memory. GPU: device memory in use (NVML), the peak over the case; vLLM reserves
`gpu_memory_utilization` of the card, so this is what the engine takes.
CPU: the peak of the summed resident set size (RSS) of this process and all its
children (vLLM runs its engine core and workers as child processes). Shared pages
are counted once per process, so it overstates a little; it is what `top` would show.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, field


class PeakMemorySampler:
    def __init__(self, device: str, interval_s: float = 0.5) -> None:
        self.device = device
        self.interval_s = interval_s
        self.peak_bytes: int | None = None
        self.source = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._read = self._reader()

    def _reader(self):
        if self.device == "cuda":
            try:
                import pynvml

                pynvml.nvmlInit()
                handle = pynvml.nvmlDeviceGetHandleByIndex(0)
                self.source = "nvml"
                return lambda: int(pynvml.nvmlDeviceGetMemoryInfo(handle).used)
            except Exception:  # no NVML binding or driver: fall back to torch's view of this process
                try:
                    import torch

                    self.source = "torch"
                    return lambda: (lambda free, total: int(total - free))(*torch.cuda.mem_get_info())
                except Exception:
                    return None
        import psutil

        me = psutil.Process()
        self.source = "rss"

        def tree_rss() -> int:
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:  # a child that just exited
                    pass
            return total

        return tree_rss

    def sample(self) -> None:
        if self._read is None:
            return
        v = self._read()
        if self.peak_bytes is None or v > self.peak_bytes:
            self.peak_bytes = v

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception:  # a failed sample must never take the benchmark down
                pass

    def start(self) -> "PeakMemorySampler":
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="bench-memory", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> int | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.sample()
        except Exception:
            pass
        return self.peak_bytes


# --------------------------------------------------------------------------------------------------------------
# GPU power and energy (NVML), sampled around the timed work only.
#
# Energy comes from the GPU's own energy counter (nvmlDeviceGetTotalEnergyConsumption, mJ since the driver
# loaded; Volta and later) where every sampled GPU has one; otherwise from integrating the sampled power
# (nvmlDeviceGetPowerUsage, mW) over the window with the trapezoid rule. Power, memory and energy are summed
# over the run's GPUs; utilisation and clocks are averaged over them; temperature is the hottest.
# On CPU nothing is sampled: the energy columns stay empty (no RAPL reader yet).

NVML_TEMPERATURE_GPU = 0
NVML_CLOCK_SM = 1
NVML_CLOCK_MEM = 2
DEFAULT_INTERVAL_S = 0.1

# name -> how one GPU is read (value in the unit the name says)
CHANNELS = {
    "power_w": lambda nvml, h: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0,
    "memory_used_bytes": lambda nvml, h: int(nvml.nvmlDeviceGetMemoryInfo(h).used),
    "util_pct": lambda nvml, h: float(nvml.nvmlDeviceGetUtilizationRates(h).gpu),
    "sm_clock_mhz": lambda nvml, h: float(nvml.nvmlDeviceGetClockInfo(h, getattr(nvml, "NVML_CLOCK_SM", NVML_CLOCK_SM))),
    "mem_clock_mhz": lambda nvml, h: float(
        nvml.nvmlDeviceGetClockInfo(h, getattr(nvml, "NVML_CLOCK_MEM", NVML_CLOCK_MEM))),
    "temperature_c": lambda nvml, h: float(
        nvml.nvmlDeviceGetTemperature(h, getattr(nvml, "NVML_TEMPERATURE_GPU", NVML_TEMPERATURE_GPU))),
}
# how the per-GPU values of one sample combine
SUMMED = ("power_w", "memory_used_bytes")
HOTTEST = ("temperature_c",)


def energy_counter_j(nvml, handle) -> float:
    return nvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0


def combine(name: str, values: list[float]) -> float:
    if name in SUMMED:
        return sum(values)
    if name in HOTTEST:
        return max(values)
    return sum(values) / len(values)


def integrate_j(times_s: list[float], power_w: list[float]) -> float:
    """Energy in joules from power samples: the trapezoid rule over the sample times."""
    if len(times_s) != len(power_w):
        raise ValueError("one power value per time, please")
    return sum((t1 - t0) * (p0 + p1) / 2.0 for t0, t1, p0, p1 in zip(times_s, times_s[1:], power_w, power_w[1:]))


def mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


@dataclass
class GpuTelemetry:
    """What the run's GPUs did during the timed work."""

    gpus: int
    duration_s: float
    energy_j: float | None
    energy_source: str  # nvml-counter | nvml-power (integrated) | "" (none)
    avg_power_w: float | None  # energy_j / duration_s
    peak_power_w: float | None
    gpu_util_pct: float | None  # mean of NVML's utilisation.gpu: % of time a kernel ran
    peak_memory_bytes: int | None
    sm_clock_mhz_mean: float | None
    sm_clock_mhz_max: float | None
    mem_clock_mhz_mean: float | None
    temperature_c_max: float | None
    samples: int
    unsupported: list[str] = field(default_factory=list)  # readings this GPU/driver does not offer
    error: str = ""  # why sampling stopped early, if it did

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(samples: list[dict], duration_s: float, gpus: int, counter_j: float | None, complete: bool,
              unsupported: list[str] | None = None, error: str = "") -> GpuTelemetry:
    """Samples ({"t_s": ..., channel: combined value}) -> the run's figures. Pure.

    `counter_j`: the energy counter's difference over the window, when every GPU has one.
    `complete`: the samples cover the whole window (no error cut them short); only then is the
    integrated power an energy figure.
    """
    powered = [(s["t_s"], s["power_w"]) for s in samples if s.get("power_w") is not None]
    energy, source = None, ""
    if counter_j is not None:
        energy, source = counter_j, "nvml-counter"
    elif complete and len(powered) >= 2:
        energy, source = integrate_j([t for t, _ in powered], [p for _, p in powered]), "nvml-power"

    def values(name):
        return [s[name] for s in samples if s.get(name) is not None]

    power, memory, sm = values("power_w"), values("memory_used_bytes"), values("sm_clock_mhz")
    temps = values("temperature_c")
    return GpuTelemetry(
        gpus=gpus, duration_s=duration_s, energy_j=energy, energy_source=source,
        avg_power_w=energy / duration_s if energy is not None and duration_s > 0 else None,
        peak_power_w=max(power) if power else None, gpu_util_pct=mean(values("util_pct")),
        peak_memory_bytes=int(max(memory)) if memory else None, sm_clock_mhz_mean=mean(sm),
        sm_clock_mhz_max=max(sm) if sm else None, mem_clock_mhz_mean=mean(values("mem_clock_mhz")),
        temperature_c_max=max(temps) if temps else None, samples=len(samples), unsupported=list(unsupported or []),
        error=error,
    )


def visible_device_ids(cuda_visible_devices: str | None) -> list[str] | None:
    """CUDA_VISIBLE_DEVICES as a list of ids (indices or GPU-UUIDs); None when unset (all GPUs)."""
    if cuda_visible_devices is None:
        return None
    return [x.strip() for x in cuda_visible_devices.split(",") if x.strip()]


def gpu_handles(nvml, count: int, cuda_visible_devices: str | None) -> list:
    """NVML handles of the first `count` GPUs this process sees (NVML itself ignores CUDA_VISIBLE_DEVICES)."""
    ids = visible_device_ids(cuda_visible_devices)
    if ids is None:
        ids = [str(i) for i in range(nvml.nvmlDeviceGetCount())]
    handles = []
    for i in ids[:max(count, 1)]:
        if i.isdigit():
            handles.append(nvml.nvmlDeviceGetHandleByIndex(int(i)))
        else:
            handles.append(nvml.nvmlDeviceGetHandleByUUID(i.encode()))  # bytes: old and new bindings take them
    return handles


class NvmlSampler:
    """Power, energy, memory, utilisation, clocks and temperature of the run's GPUs, in a background thread.

    start() before the timed work, stop() after it; stop() returns a GpuTelemetry. A reading the
    GPU does not support is left out from the start (listed in `unsupported`); a reading that fails
    later ends the thread (the error is kept) so a lost GPU never spins or hangs the benchmark.
    `nvml` is the pynvml module (nvidia-ml-py) or a stand-in with the same functions.
    """

    def __init__(self, gpu_count: int = 1, interval_s: float = DEFAULT_INTERVAL_S, nvml=None,
                 cuda_visible_devices: str | None = None, clock=time.perf_counter) -> None:
        if nvml is None:
            import pynvml as nvml  # nvidia-ml-py
        self.nvml = nvml
        self.gpu_count = gpu_count
        self.interval_s = interval_s
        self.clock = clock
        self.cuda_visible_devices = cuda_visible_devices
        self.samples: list[dict] = []
        self.error = ""
        self.unsupported: list[str] = []
        self._channels: dict = {}
        self._handles: list = []
        self._counter0: list[float] | None = None
        self._t0 = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _probe(self) -> None:
        for name, read in CHANNELS.items():
            try:
                for h in self._handles:
                    read(self.nvml, h)
                self._channels[name] = read
            except Exception:  # NVMLError_NotSupported and kin: this GPU/driver does not offer it
                self.unsupported.append(name)
        try:
            self._counter0 = [energy_counter_j(self.nvml, h) for h in self._handles]
        except Exception:
            self._counter0 = None
            self.unsupported.append("energy_counter")

    def sample(self) -> None:
        s = {"t_s": self.clock()}
        for name, read in self._channels.items():
            s[name] = combine(name, [read(self.nvml, h) for h in self._handles])
        self.samples.append(s)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception as e:  # the GPU went away, the driver failed: stop sampling, keep what we have
                self.error = f"{type(e).__name__}: {e}"
                return

    def start(self) -> "NvmlSampler":
        self.nvml.nvmlInit()
        try:
            self._handles = gpu_handles(self.nvml, self.gpu_count, self.cuda_visible_devices)
            self._probe()
            self._t0 = self.clock()
            self.sample()
        except BaseException:
            self.nvml.nvmlShutdown()
            raise
        self._thread = threading.Thread(target=self._loop, name="bench-nvml", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> GpuTelemetry:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        counter_j = None
        try:
            if not self.error:
                self.sample()
            t1 = self.clock()
            if self._counter0 is not None:
                counter1 = [energy_counter_j(self.nvml, h) for h in self._handles]
                counter_j = sum(b - a for a, b in zip(self._counter0, counter1))
        except Exception as e:
            self.error = self.error or f"{type(e).__name__}: {e}"
            t1 = self.clock()
        finally:
            try:
                self.nvml.nvmlShutdown()
            except Exception:
                pass
        return summarize(self.samples, t1 - self._t0, len(self._handles), counter_j, complete=not self.error,
                         unsupported=self.unsupported, error=self.error)


def start_gpu_telemetry(device: str, gpu_count: int, nvml=None) -> tuple[NvmlSampler | None, str]:
    """A started sampler for a CUDA run, or (None, why not). Never raises: telemetry must not fail a case."""
    if device != "cuda":
        return None, ""
    try:
        return NvmlSampler(gpu_count, nvml=nvml, cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES")).start(), ""
    except ImportError:
        return None, "nvidia-ml-py is not installed (pip install nvidia-ml-py); energy columns left empty"
    except Exception as e:
        return None, f"NVML unavailable ({type(e).__name__}: {e}); energy columns left empty"


def energy_columns(telemetry: dict | None, output_tokens: int | None) -> dict:
    """The row's energy columns from a GpuTelemetry dict (empty on CPU or without NVML)."""
    t = telemetry or {}
    energy = t.get("energy_j")
    return {
        "energy_j": energy,
        "avg_power_w": t.get("avg_power_w"),
        "joules_per_output_token": energy / output_tokens if energy is not None and output_tokens else None,
        "gpu_util_pct": t.get("gpu_util_pct"),
        "energy_source": t.get("energy_source") or None,
    }
