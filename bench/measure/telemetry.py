"""What the hardware did while a case ran, sampled in background threads.

PeakMemorySampler: peak memory over the whole case (engine start included).
NvmlSampler: GPU power, energy, utilisation, clocks, temperature over the timed work only.

Peak memory. GPU: device memory in use (NVML) summed over the run's GPUs (tensor x pipeline parallel,
the ones CUDA_VISIBLE_DEVICES shows: bench.measure.gpus), the peak over the case; vLLM reserves
`gpu_memory_utilization` of each card, so this is what the engine takes. A MIG slice reports its own memory.
CPU: the peak of the summed resident set size (RSS) of this process and all its
children (vLLM runs its engine core and workers as child processes). Shared pages
are counted once per process, so it overstates a little; it is what `top` would show.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, field

from bench.measure import gpus


class PeakMemorySampler:
    """The peak of device memory in use (GPU: summed over the run's GPUs, NVML) or of the process tree's RSS (CPU).

    GPU: the GPUs are the first `gpu_count` that CUDA_VISIBLE_DEVICES shows (bench.measure.gpus), read through
    NVML, which opens no CUDA context. Without nvidia-ml-py nothing is read (`note` says why): reading through
    torch would start CUDA in this process, the engine's parent, and take ~0.5 GB of GPU 0 before the engine
    sizes its cache. `per_gpu_peak_bytes`: each GPU's own peak, in the same order.
    """

    def __init__(self, device: str, interval_s: float = 0.5, gpu_count: int = 1, nvml=None,
                 cuda_visible_devices: str | None = None) -> None:
        self.device = device
        self.interval_s = interval_s
        self.peak_bytes: int | None = None
        self.per_gpu_peak_bytes: list[int] = []
        self.source = ""
        self.note = ""
        self.cpu_s = 0.0  # CPU seconds the sampling thread used (set when it ends)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml = None
        if device == "cuda":
            self._read = self._gpu_reader(gpu_count, nvml, cuda_visible_devices)
        elif device == "none":  # memory held elsewhere (vLLM's Ray backend): nothing here to read
            self._read = None
        else:
            self._read = self._rss_reader()

    def _gpu_reader(self, gpu_count: int, nvml, cuda_visible_devices: str | None):
        if nvml is None:
            try:
                import pynvml as nvml  # nvidia-ml-py
            except ImportError:
                self.note = "nvidia-ml-py is not installed (pip install nvidia-ml-py): GPU memory not measured"
                return None
        try:
            nvml.nvmlInit()
        except Exception as e:
            self.note = f"NVML unavailable ({type(e).__name__}: {e}): GPU memory not measured"
            return None
        try:
            handles = gpus.run_handles(nvml, gpu_count, cuda_visible_devices)
        except Exception as e:
            nvml.nvmlShutdown()
            self.note = (str(e) if isinstance(e, gpus.NoVisibleGpu) else f"{type(e).__name__}: {e}") + \
                "; GPU memory not measured"
            return None
        self._nvml, self.source = nvml, "nvml"

        def used_per_gpu() -> list[int]:
            return [int(nvml.nvmlDeviceGetMemoryInfo(h).used) for h in handles]

        return used_per_gpu

    def _rss_reader(self):
        import psutil

        me = psutil.Process()
        self.source = "rss"

        def tree_rss() -> list[int]:
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:  # a child that just exited
                    pass
            return [total]

        return tree_rss

    def sample(self) -> None:
        if self._read is None:
            return
        values = self._read()
        if self.peak_bytes is None or sum(values) > self.peak_bytes:
            self.peak_bytes = sum(values)
        if len(self.per_gpu_peak_bytes) != len(values):
            self.per_gpu_peak_bytes = list(values)
        self.per_gpu_peak_bytes = [max(a, b) for a, b in zip(self.per_gpu_peak_bytes, values)]

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    self.sample()
                except Exception:  # a failed sample must never take the benchmark down
                    pass
        finally:
            self.cpu_s = time.thread_time()  # this thread's CPU seconds: what sampling took from the engine's cores

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
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass
            self._nvml = None
        return self.peak_bytes


# --------------------------------------------------------------------------------------------------------------
# GPU power and energy (NVML), sampled around the timed work only.
#
# Energy comes from the GPU's own energy counter (nvmlDeviceGetTotalEnergyConsumption, mJ since the driver
# loaded; Volta and later) where every sampled GPU has one and it advanced; otherwise from integrating the
# sampled power (nvmlDeviceGetPowerUsage, mW) over the window with the trapezoid rule. That power is, on Ampere
# (except GA100) and newer, NVML's average over the last ~1 s (NVML API reference, nvmlDeviceGetPowerUsage), so
# the integral lags the window by about half a second: its error is 0.5 s x (power before the window - power at
# its end), at most 0.5 s / the window's length of the energy (docs/telemetry.md). The counter has no lag.
# Power, memory and energy are summed over the run's GPUs; utilisation and clocks are averaged over them;
# temperature is the hottest. A MIG slice has memory but no power or energy (MIG_NOTE).
# On CPU nothing is sampled: the energy columns stay empty (no RAPL reader yet).

MIG_NOTE = ("MIG slice: NVML gives no power or energy for a MIG device (the card's belong to every slice); "
            "energy columns left empty, memory is the slice's")
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
    note: str = ""  # what the energy figures are not, or how they were made (MIG, a frozen energy counter)

    def to_dict(self) -> dict:
        return asdict(self)


def join_notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def frozen_counter(counter_j: float | None, power_w: list[float]) -> bool:
    """Whether an energy counter's difference is not believed: it did not advance (<= 0 J) while the GPUs drew
    power (some drivers and virtual GPUs report a frozen counter); the power samples are integrated instead."""
    return counter_j is not None and counter_j <= 0 and any(p > 0 for p in power_w)


def summarize(samples: list[dict], duration_s: float, gpus: int, counter_j: float | None, complete: bool,
              unsupported: list[str] | None = None, error: str = "", note: str = "") -> GpuTelemetry:
    """Samples ({"t_s": ..., channel: combined value}) -> the run's figures. Pure.

    `counter_j`: the energy counter's difference over the window, when every GPU has one.
    `complete`: the samples cover the whole window (no error cut them short); only then is the
    integrated power an energy figure.
    Energy: the counter's difference, unless frozen_counter: the power samples are integrated instead and `note`
    says so.
    """
    powered = [(s["t_s"], s["power_w"]) for s in samples if s.get("power_w") is not None]
    integrated = integrate_j([t for t, _ in powered], [p for _, p in powered]) if complete and len(powered) >= 2 \
        else None
    mean_power_w = mean([p for _, p in powered])
    stuck = frozen_counter(counter_j, [p for _, p in powered])
    energy, source = None, ""
    if counter_j is not None and not stuck:
        energy, source = counter_j, "nvml-counter"
    elif integrated is not None:
        energy, source = integrated, "nvml-power"
    if stuck:
        note = join_notes(note, f"the GPU energy counter did not advance ({counter_j:g} J) while power read "
                                f"{mean_power_w:.0f} W on average: "
                          + ("energy integrated from the power samples" if energy is not None else "energy not measured"))

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
        error=error, note=note,
    )


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
        self.note = ""
        self.unsupported: list[str] = []
        self._channels: dict = {}
        self._handles: list = []
        self._counter0: list[float] | None = None
        self._t0 = 0.0
        self.cpu_s = 0.0  # CPU seconds the sampling thread used (set when it ends)
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
        if self._counter0 is not None:  # the counter at each sample, read first to be nearest its time stamp: the
            s["energy_counter_j"] = sum(energy_counter_j(self.nvml, h) for h in self._handles)  # energy of any window
        for name, read in self._channels.items():
            s[name] = combine(name, [read(self.nvml, h) for h in self._handles])
        self.samples.append(s)

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    self.sample()
                except Exception as e:  # the GPU went away, the driver failed: stop sampling, keep what we have
                    self.error = f"{type(e).__name__}: {e}"
                    return
        finally:
            self.cpu_s = time.thread_time()  # this thread's CPU seconds (scripts/bench_overhead.py reports them)

    def start(self) -> "NvmlSampler":
        self.nvml.nvmlInit()
        try:
            self._handles = gpus.run_handles(self.nvml, self.gpu_count, self.cuda_visible_devices)
            if any(gpus.is_mig(self.nvml, h) for h in self._handles):
                self.note = MIG_NOTE
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
                         unsupported=self.unsupported, error=self.error, note=self.note)


def start_gpu_telemetry(device: str, gpu_count: int, nvml=None) -> tuple[NvmlSampler | None, str]:
    """A started sampler for a CUDA run, or (None, why not). Never raises: telemetry must not fail a case."""
    if device != "cuda":
        return None, ""
    try:
        return NvmlSampler(gpu_count, nvml=nvml, cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES")).start(), ""
    except ImportError:
        return None, "nvidia-ml-py is not installed (pip install nvidia-ml-py); energy columns left empty"
    except gpus.NoVisibleGpu as e:
        return None, f"{e}; energy columns left empty"
    except Exception as e:
        return None, f"NVML unavailable ({type(e).__name__}: {e}); energy columns left empty"


def energy_columns(telemetry: dict | None, output_tokens: int | None, note: str = "",
                   input_tokens: int | None = None) -> dict:
    """The row's energy columns from a GpuTelemetry dict (empty on CPU or without NVML) and the case's telemetry
    note (why they are empty, or how they were made)."""
    t = telemetry or {}
    energy = t.get("energy_j")
    return {
        "energy_j": energy,
        "avg_power_w": t.get("avg_power_w"),
        **per_token_j(energy, input_tokens, output_tokens),
        "gpu_util_pct": t.get("gpu_util_pct"),
        "energy_source": t.get("energy_source") or None,
        "energy_note": note or None,
    }


def per_token_j(energy_j: float | None, input_tokens: int | None, output_tokens: int | None) -> dict:
    """joules_per_output_token = E / output tokens; joules_per_total_token = E / (input + output tokens)."""
    total = (input_tokens or 0) + (output_tokens or 0)
    return {"joules_per_output_token": energy_j / output_tokens if energy_j is not None and output_tokens else None,
            "joules_per_total_token": energy_j / total if energy_j is not None and total else None}
