"""The NVML sampler against a stand-in NVML module: values, energy (counter and integrated), thread stop on error.
No GPU, no pynvml, no torch."""

import threading
import time
from types import SimpleNamespace

import pytest

from bench.measure import telemetry
from bench.measure.telemetry import NvmlSampler, energy_columns, integrate_j, start_gpu_telemetry, summarize


class NVMLError(Exception):
    pass


class FakeNvml:
    """The pynvml functions bench uses. Power is constant per GPU; the energy counter (mJ) grows with real time."""

    NVML_TEMPERATURE_GPU, NVML_CLOCK_SM, NVML_CLOCK_MEM = 0, 1, 2

    def __init__(self, power_w=(200.0,), counter=True, fail_after=None):
        self.power_w = list(power_w)
        self.counter = counter
        self.fail_after = fail_after  # power reads that succeed before the GPU "falls off the bus"
        self.power_reads = 0
        self.inits = self.shutdowns = 0
        self.lock = threading.Lock()

    def nvmlInit(self):
        self.inits += 1

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):
        return len(self.power_w)

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetHandleByUUID(self, uuid):
        return int(uuid.decode().rsplit("-", 1)[1])

    def nvmlDeviceGetPowerUsage(self, h):
        with self.lock:
            self.power_reads += 1
            if self.fail_after is not None and self.power_reads > self.fail_after:
                raise NVMLError("GPU is lost")
        return int(self.power_w[h] * 1000)  # mW

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        if not self.counter:
            raise NVMLError("Not Supported")
        return int(self.power_w[h] * time.perf_counter() * 1000)  # mJ

    def nvmlDeviceGetMemoryInfo(self, h):
        return SimpleNamespace(used=(h + 1) * 2**30, total=80 * 2**30, free=0)

    def nvmlDeviceGetUtilizationRates(self, h):
        return SimpleNamespace(gpu=50 + 40 * h, memory=10)

    def nvmlDeviceGetClockInfo(self, h, kind):
        return 1980 if kind == self.NVML_CLOCK_SM else 2619

    def nvmlDeviceGetTemperature(self, h, kind):
        assert kind == self.NVML_TEMPERATURE_GPU
        return 40 + 10 * h


def run_sampler(nvml, seconds=0.3, **kw):
    s = NvmlSampler(nvml=nvml, interval_s=0.02, **kw).start()
    time.sleep(seconds)
    return s, s.stop()


def test_integrate_is_the_trapezoid_rule():
    assert integrate_j([0.0, 1.0, 3.0], [100.0, 200.0, 200.0]) == pytest.approx(150 + 400)
    assert integrate_j([5.0], [300.0]) == 0.0
    with pytest.raises(ValueError):
        integrate_j([0.0, 1.0], [1.0])


def test_summarize_prefers_the_counter_then_integrates_then_gives_nothing():
    samples = [{"t_s": 0.0, "power_w": 100.0, "util_pct": 20.0, "memory_used_bytes": 5, "temperature_c": 50.0},
               {"t_s": 2.0, "power_w": 300.0, "util_pct": 80.0, "memory_used_bytes": 9, "temperature_c": 60.0}]
    by_counter = summarize(samples, duration_s=2.0, gpus=1, counter_j=500.0, complete=True)
    assert by_counter.energy_j == 500.0 and by_counter.energy_source == "nvml-counter"
    assert by_counter.avg_power_w == 250.0 and by_counter.peak_power_w == 300.0
    assert by_counter.gpu_util_pct == 50.0 and by_counter.peak_memory_bytes == 9 and by_counter.temperature_c_max == 60
    integrated = summarize(samples, duration_s=2.0, gpus=1, counter_j=None, complete=True)
    assert integrated.energy_j == 400.0 and integrated.energy_source == "nvml-power" and integrated.avg_power_w == 200
    cut_short = summarize(samples, duration_s=2.0, gpus=1, counter_j=None, complete=False, error="boom")
    assert cut_short.energy_j is None and cut_short.avg_power_w is None and cut_short.energy_source == ""
    assert cut_short.error == "boom" and cut_short.peak_power_w == 300.0


def test_values_from_two_gpus_sum_power_and_memory_average_util_take_the_hottest():
    nvml = FakeNvml(power_w=(200.0, 300.0))
    sampler, t = run_sampler(nvml, gpu_count=2)
    assert t.gpus == 2 and t.samples >= 3 and not t.error and t.unsupported == []
    assert t.peak_power_w == 500.0
    assert t.peak_memory_bytes == 3 * 2**30
    assert t.gpu_util_pct == 70.0  # (50 + 90) / 2
    assert t.sm_clock_mhz_mean == t.sm_clock_mhz_max == 1980 and t.mem_clock_mhz_mean == 2619
    assert t.temperature_c_max == 50.0
    # the counter: 500 W x the window, to the counter's 1 mJ resolution and the few microseconds between reads
    assert t.energy_source == "nvml-counter"
    assert t.energy_j == pytest.approx(500.0 * t.duration_s, rel=0.02)
    assert t.avg_power_w == pytest.approx(500.0, rel=0.02)
    assert nvml.inits == nvml.shutdowns == 1
    assert not sampler._thread.is_alive()


def test_without_an_energy_counter_power_is_integrated_over_the_window():
    _, t = run_sampler(FakeNvml(power_w=(250.0,), counter=False))
    assert "energy_counter" in t.unsupported
    assert t.energy_source == "nvml-power"
    # constant power: the trapezoid is exact over the sampled span, which is the window less two clock reads
    assert t.energy_j == pytest.approx(250.0 * t.duration_s, rel=0.02)
    assert t.avg_power_w == pytest.approx(250.0, rel=0.02)


def test_an_unsupported_reading_is_left_out_not_fatal():
    nvml = FakeNvml()

    def no_clocks(h, kind):
        raise NVMLError("Not Supported")

    nvml.nvmlDeviceGetClockInfo = no_clocks
    _, t = run_sampler(nvml, seconds=0.1)
    assert set(t.unsupported) == {"sm_clock_mhz", "mem_clock_mhz"} and not t.error
    assert t.sm_clock_mhz_mean is None and t.energy_j is not None


def test_a_failing_gpu_stops_the_thread_and_keeps_what_was_measured():
    nvml = FakeNvml(counter=False, fail_after=4)  # probe + first sample + 2 loop samples, then it fails
    sampler = NvmlSampler(nvml=nvml, interval_s=0.01).start()
    deadline = time.monotonic() + 5
    while sampler._thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not sampler._thread.is_alive(), "the sampling thread should end on its own after an NVML error"
    reads = nvml.power_reads
    time.sleep(0.05)
    assert nvml.power_reads == reads  # nothing spins after the error
    t = sampler.stop()
    assert "GPU is lost" in t.error and t.samples == 3
    assert t.energy_j is None and t.avg_power_w is None  # a cut-short integral is not an energy figure
    assert t.peak_power_w == 200.0
    assert nvml.shutdowns == 1


def test_the_counter_still_gives_energy_when_sampling_failed():
    nvml = FakeNvml(fail_after=3)
    _, t = run_sampler(nvml, seconds=0.2)
    assert t.error and t.energy_source == "nvml-counter" and t.energy_j > 0


def test_cuda_visible_devices_picks_the_gpus_sampled():
    nvml = FakeNvml(power_w=(100.0, 200.0, 300.0, 400.0))
    _, t = run_sampler(nvml, seconds=0.05, gpu_count=2, cuda_visible_devices="3,1")
    assert t.peak_power_w == 600.0
    _, t = run_sampler(nvml, seconds=0.05, gpu_count=1, cuda_visible_devices="GPU-aaaa-2")
    assert t.peak_power_w == 300.0
    _, t = run_sampler(nvml, seconds=0.05, gpu_count=2)  # unset: the first GPUs
    assert t.peak_power_w == 300.0


def test_start_gpu_telemetry_never_raises(monkeypatch):
    assert start_gpu_telemetry("cpu", 1) == (None, "")
    monkeypatch.setitem(__import__("sys").modules, "pynvml", None)  # import pynvml -> ImportError
    sampler, why = start_gpu_telemetry("cuda", 1)
    assert sampler is None and "nvidia-ml-py is not installed" in why

    class Broken(FakeNvml):
        def nvmlInit(self):
            raise NVMLError("Driver Not Loaded")

    sampler, why = start_gpu_telemetry("cuda", 1, nvml=Broken())
    assert sampler is None and "Driver Not Loaded" in why
    sampler, why = start_gpu_telemetry("cuda", 1, nvml=FakeNvml())
    assert why == "" and sampler.stop().samples >= 1


def test_energy_columns():
    cols = energy_columns({"energy_j": 300.0, "avg_power_w": 150.0, "gpu_util_pct": 87.5,
                           "energy_source": "nvml-counter"}, output_tokens=1000, input_tokens=3000)
    # 300 J / 1,000 output tokens = 0.3; / (3,000 + 1,000) tokens = 0.075
    assert cols == {"energy_j": 300.0, "avg_power_w": 150.0, "joules_per_output_token": 0.3,
                    "joules_per_total_token": 0.075, "gpu_util_pct": 87.5, "energy_source": "nvml-counter",
                    "energy_note": None}
    assert set(energy_columns(None, 10).values()) == {None}
    assert energy_columns(None, 10, note="MIG slice: ...")["energy_note"] == "MIG slice: ..."
    assert energy_columns({"energy_j": 1.0}, 0)["joules_per_output_token"] is None


def test_peak_memory_sampler_still_works_on_cpu():
    s = telemetry.PeakMemorySampler("cpu", interval_s=0.01).start()
    time.sleep(0.03)
    assert s.stop() > 0 and s.source == "rss"


def test_the_samplers_own_cpu_time_is_counted_in_their_thread():
    """cpu_s is time.thread_time() of the sampling thread: each sample here spins until its thread has used 2 ms
    of CPU, so after k samples the count is at least 2k ms whatever else the machine runs (CPU, not wall, time);
    the thread that started it spent nothing in the loop."""
    s = telemetry.PeakMemorySampler("cpu", interval_s=0.001)
    samples = []

    def busy_read():
        t0 = time.thread_time()
        while time.thread_time() - t0 < 0.002:
            pass
        samples.append(1)
        return [1]

    s._read = busy_read
    s.start()  # one sample here, in the caller's thread
    while len(samples) < 6:
        time.sleep(0.005)
    s.stop()  # and one more here
    in_thread = len(samples) - 2
    assert in_thread >= 4 and s.cpu_s >= 0.002 * in_thread


class FakeCudaEngine:
    """Stands in for an engine on a GPU: each request's output in 10 ms steps, no torch."""

    device = "cuda"

    def __init__(self, spec):
        self.spec = spec

    def check(self):
        pass

    def start(self):
        pass

    def generate(self, requests):
        from bench.measure.metrics import RequestResult

        t0 = time.perf_counter()
        time.sleep(0.2)
        return [RequestResult(prompt_len=r.prompt_len, output_len=r.output_len, ttft_s=0.01, tpot_s=0.01, e2e_s=0.2)
                for r in requests], time.perf_counter() - t0

    def kv_cache_info(self):
        from bench.engines.base import KVCacheInfo

        return KVCacheInfo()

    def info(self):
        return {"device": "cuda"}

    def stop(self):
        pass


class NoMemorySampler:
    source = "none"
    note = ""
    cpu_s = 0.0
    per_gpu_peak_bytes: list = []

    def __init__(self, device, **kw):
        pass

    def start(self):
        return self

    def stop(self):
        return None


def test_a_gpu_case_fills_the_energy_columns_of_its_row(monkeypatch):
    """worker.run_case -> results.record.offline_row with the fake engine and fake NVML: peak memory and energy end to end on CPU."""
    import datetime as dt

    from bench.config import run as runconfig

    from bench.execution import worker
    from bench.config.catalog import choose_weights
    from bench.execution.case import engine_spec
    from bench.execution.record import offline_row

    nvml = FakeNvml(power_w=(400.0,))
    monkeypatch.setattr(worker, "load_engine", lambda name: FakeCudaEngine)
    monkeypatch.setattr(worker, "PeakMemorySampler", NoMemorySampler)
    monkeypatch.setattr(worker, "start_gpu_telemetry", lambda device, n: start_gpu_telemetry(device, n, nvml=nvml))
    cfg, model = runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "engine": "hf", "num_prompts": 4,
                                                    "input_len": 8, "output_len": 5}))
    out = worker.run_case(engine_spec(cfg, model, choose_weights(model, "dummy")))
    assert out["status"] == "ok" and out["telemetry"]["gpus"] == 1 and out["telemetry_note"] == ""
    row = offline_row(run_id="r", when=dt.datetime.now(dt.timezone.utc), cfg=cfg, model=model, weights="dummy",
                      out=out, env={})
    assert row["energy_source"] == "nvml-counter"
    assert row["avg_power_w"] == pytest.approx(400.0, rel=0.05)
    assert row["energy_j"] == pytest.approx(400.0 * out["telemetry"]["duration_s"], rel=0.05)
    assert row["energy_j"] == pytest.approx(400.0 * row["elapsed_s"], rel=0.2)  # sampled around generate, only it
    assert row["joules_per_output_token"] == pytest.approx(row["energy_j"] / 20)
    assert row["gpu_util_pct"] == 50.0
