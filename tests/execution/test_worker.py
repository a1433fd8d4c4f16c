"""Which GPUs a case reads (CUDA_VISIBLE_DEVICES mapped onto NVML's devices), peak memory summed
over them, telemetry notes (MIG, a frozen energy counter, a variable that hides every GPU, vLLM's Ray backend) and
gpu_env read through NVML only. A stand-in NVML (tests/fake_nvml.py), no GPU, no pynvml, no torch."""

import sys
import time
import types

import pytest

from bench.measure import gpus, telemetry
from bench.measure.telemetry import MIG_NOTE, NvmlSampler, PeakMemorySampler, start_gpu_telemetry, summarize
from tests.fake_nvml import FakeGpu, FakeNvml

GiB = 2**30


def four_gpus(**kw) -> FakeNvml:
    """NVML index i holds (i + 1) GiB."""
    return FakeNvml([FakeGpu(memory_used=[(i + 1) * GiB], **kw) for i in range(4)])


# --- CUDA_VISIBLE_DEVICES -> NVML handles ---------------------------------------------------------------------

@pytest.mark.parametrize("value, ids", [(None, None), ("", None), ("  ", None), ("1,0", ["1", "0"]),
                                        (" 2 , GPU-fake-3", ["2", "GPU-fake-3"])])
def test_visible_ids_treat_empty_as_unset_as_vllm_does(value, ids):
    assert gpus.visible_ids(value) == ids


@pytest.mark.parametrize("value, handles", [
    (None, [0, 1, 2, 3]), ("", [0, 1, 2, 3]),  # unset or empty (Ray's num_gpus=0): every GPU
    ("2,0", [2, 0]), ("GPU-fake-3,1", [3, 1]), ("MIG-fake-2", [2]),
    ("1,-1,0", [1]), ("1,7,0", [1]), ("1,GPU-nope-0,2", [1]),  # CUDA stops at the first entry naming no device
])
def test_visible_handles_map_cuda_visible_devices_onto_nvml(value, handles):
    assert gpus.visible_handles(four_gpus(), value) == handles


@pytest.mark.parametrize("value", ["-1", "7", "GPU-nope-0", "none"])
def test_a_value_that_hides_every_gpu_is_one_clear_line(value):
    with pytest.raises(gpus.NoVisibleGpu) as e:
        gpus.visible_handles(four_gpus(), value)
    msg = str(e.value)
    assert msg.startswith(f"CUDA_VISIBLE_DEVICES={value!r} hides every GPU (this machine has 4")
    assert "unset it or name the GPUs to use" in msg and "\n" not in msg
    assert "indices 0-3 or their GPU-/MIG- UUIDs" in msg
    assert "(this machine has 0: NVML sees none)" in gpus.hides_every_gpu("0", 0)


def test_run_handles_are_the_first_tensor_x_pipeline_gpus_seen():
    assert gpus.run_handles(four_gpus(), 2, "3,1,0") == [3, 1]
    assert gpus.run_handles(four_gpus(), 1, None) == [0]
    assert gpus.run_handles(four_gpus(), 8, "2,3") == [2, 3]  # fewer seen than asked: the engine fails, not bench


# --- peak memory of the GPUs the run uses -----------------------------------------------------------

def test_peak_memory_is_read_from_the_visible_gpus_and_summed():
    """Ray gave this task GPUs 2 and 1 (CUDA_VISIBLE_DEVICES=2,1), TP=2: GPU 2 holds 3 GiB, GPU 1 2 GiB;
    GPU 0 (1 GiB), which the old code read, is not this case's."""
    nvml = four_gpus()
    s = PeakMemorySampler("cuda", interval_s=60, gpu_count=2, nvml=nvml, cuda_visible_devices="2,1").start()
    peak = s.stop()
    assert peak == 3 * GiB + 2 * GiB
    assert s.per_gpu_peak_bytes == [3 * GiB, 2 * GiB] and s.source == "nvml" and s.note == ""
    assert nvml.inits == nvml.shutdowns == 1


def test_peak_memory_is_the_peak_of_the_sum_and_each_gpu_keeps_its_own_peak():
    """GPU 0 reads 1 then 5 then 2 GiB, GPU 1 reads 4 then 1 then 1 GiB: sums 5, 6, 3 -> peak 6 GiB;
    per GPU 5 and 4 GiB."""
    nvml = FakeNvml([FakeGpu(memory_used=[1 * GiB, 5 * GiB, 2 * GiB]), FakeGpu(memory_used=[4 * GiB, GiB, GiB])])
    s = PeakMemorySampler("cuda", interval_s=60, gpu_count=2, nvml=nvml).start()
    s.sample()
    assert s.stop() == 6 * GiB
    assert s.per_gpu_peak_bytes == [5 * GiB, 4 * GiB]


def test_a_mig_slice_reports_its_memory():
    nvml = FakeNvml([FakeGpu(name="NVIDIA H100 80GB HBM3 MIG 3g.40gb", memory_used=[7 * GiB], mig=True)])
    s = PeakMemorySampler("cuda", interval_s=60, nvml=nvml, cuda_visible_devices="MIG-fake-0").start()
    assert s.stop() == 7 * GiB and s.source == "nvml"


class TorchTripwire(types.ModuleType):
    """Stands in for torch: any use of it fails the test (bench must not start CUDA in the engine's parent)."""

    def __getattr__(self, name):
        raise AssertionError(f"torch.{name} used: CUDA would start in the parent process")


def test_without_nvidia_ml_py_gpu_memory_is_not_read_and_cuda_is_never_touched(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    monkeypatch.setitem(sys.modules, "torch", TorchTripwire("torch"))
    s = PeakMemorySampler("cuda", interval_s=60).start()
    assert s.stop() is None and s.source == ""
    assert s.note == "nvidia-ml-py is not installed (pip install nvidia-ml-py): GPU memory not measured"


def test_peak_memory_with_every_gpu_hidden_says_so():
    s = PeakMemorySampler("cuda", interval_s=60, nvml=four_gpus(), cuda_visible_devices="-1").start()
    assert s.stop() is None
    assert s.note.startswith("CUDA_VISIBLE_DEVICES='-1' hides every GPU") and s.note.endswith("GPU memory not measured")


def test_device_none_reads_nothing():
    s = PeakMemorySampler("none", interval_s=60).start()
    assert s.stop() is None and s.source == ""


# --- telemetry that tells the truth -------------------------------------------------------------------

def test_a_frozen_energy_counter_is_not_zero_joules():
    """Counter difference 0 J while the GPU drew 300 W for 2 s: the samples are integrated instead.
    Trapezoid over t = 0, 1, 2 s at 300 W: (1 x 300) + (1 x 300) = 600 J; 600 J / 2 s = 300 W."""
    samples = [{"t_s": t, "power_w": 300.0} for t in (0.0, 1.0, 2.0)]
    t = summarize(samples, duration_s=2.0, gpus=1, counter_j=0.0, complete=True)
    assert t.energy_j == 600.0 and t.energy_source == "nvml-power" and t.avg_power_w == 300.0
    assert t.note == ("the GPU energy counter did not advance (0 J) while power read 300 W on average: "
                      "energy integrated from the power samples")
    # cut short as well: no energy figure at all, and the note says why
    t = summarize(samples, duration_s=2.0, gpus=1, counter_j=0.0, complete=False, error="boom")
    assert t.energy_j is None and t.energy_source == "" and t.note.endswith("energy not measured")
    # a counter that advanced is believed; a GPU that drew nothing keeps its 0 J counter
    assert summarize(samples, 2.0, 1, counter_j=590.0, complete=True).energy_source == "nvml-counter"
    idle = [{"t_s": t, "power_w": 0.0} for t in (0.0, 1.0)]
    assert summarize(idle, 1.0, 1, counter_j=0.0, complete=True).energy_source == "nvml-counter"


def test_the_sampler_falls_back_when_the_counter_is_frozen():
    nvml = FakeNvml([FakeGpu(power_w=300.0, counter="frozen")])
    s = NvmlSampler(nvml=nvml, interval_s=0.02).start()
    time.sleep(0.2)
    t = s.stop()
    assert t.energy_source == "nvml-power" and "did not advance" in t.note
    assert t.energy_j == pytest.approx(300.0 * t.duration_s, rel=0.05)


def test_a_mig_slice_has_memory_and_no_energy_and_says_so():
    nvml = FakeNvml([FakeGpu(mig=True, memory_used=[5 * GiB])])
    s = NvmlSampler(nvml=nvml, interval_s=0.02, cuda_visible_devices="MIG-fake-0").start()
    time.sleep(0.05)
    t = s.stop()
    assert t.energy_j is None and t.avg_power_w is None and t.energy_source == "" and t.note == MIG_NOTE
    assert t.peak_memory_bytes == 5 * GiB and {"power_w", "energy_counter"} <= set(t.unsupported)
    cols = telemetry.energy_columns(t.to_dict(), 100, t.note)
    assert cols["energy_j"] is None and cols["energy_note"].startswith("MIG slice: NVML gives no power or energy")


def test_telemetry_with_every_gpu_hidden_is_one_line_not_a_zero_division(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    sampler, why = start_gpu_telemetry("cuda", 1, nvml=four_gpus())
    assert sampler is None
    assert why.startswith("CUDA_VISIBLE_DEVICES='-1' hides every GPU") and why.endswith("energy columns left empty")
    assert "ZeroDivision" not in why


def test_telemetry_follows_cuda_visible_devices(monkeypatch):
    """GPUs 1 and 3 draw 100 W and 400 W; CUDA_VISIBLE_DEVICES=3,1 and TP=2: 500 W, never GPU 0's."""
    nvml = FakeNvml([FakeGpu(power_w=w) for w in (50.0, 100.0, 200.0, 400.0)])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    sampler, why = start_gpu_telemetry("cuda", 2, nvml=nvml)
    assert why == ""
    t = sampler.stop()
    assert t.gpus == 2 and t.peak_power_w == 500.0


# --- gpu_env through NVML, each fact on its own ---------------------------------------------------------------

def test_device_facts_each_field_on_its_own():
    nvml = FakeNvml([FakeGpu(name="NVIDIA A100-SXM4-40GB"), FakeGpu(name="NVIDIA H200")], driver=b"550.54.15",
                    cuda=12040)
    assert gpus.device_facts(nvml, "1") == {"driver_version": "550.54.15", "driver_cuda_version": "12.4",
                                            "gpu_count": 1, "device_name": "NVIDIA H200"}
    assert gpus.device_facts(nvml, None)["gpu_count"] == 2
    nvml.broken = {"nvmlDeviceGetName", "nvmlSystemGetCudaDriverVersion"}
    assert gpus.device_facts(nvml, None) == {"driver_version": "550.54.15", "gpu_count": 2}
    assert nvml.inits == nvml.shutdowns == 3


def test_device_facts_without_nvml_or_driver_is_empty(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert gpus.device_facts() == {}

    class NoDriver(FakeNvml):
        def nvmlInit(self):
            raise RuntimeError("Driver Not Loaded")

    assert gpus.device_facts(NoDriver([FakeGpu()])) == {}


def test_gpu_env_reads_nvml_and_never_starts_cuda(monkeypatch):
    from bench.measure.environment import gpu_env

    fake = FakeNvml([FakeGpu(name="NVIDIA H100 80GB HBM3")], driver="570.86.15", cuda=12080)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    tripwire = TorchTripwire("torch")
    tripwire.__dict__["version"] = types.SimpleNamespace(cuda="12.8")  # a plain string: no CUDA context
    monkeypatch.setitem(sys.modules, "torch", tripwire)
    assert gpu_env() == {"device_name": "NVIDIA H100 80GB HBM3", "gpu_count": 1, "driver_version": "570.86.15",
                         "driver_cuda_version": "12.8", "cuda_version": "12.8"}


# --- the worker: what it samples -------------------------------------------------------------------------------

def test_vllms_ray_backend_samples_nothing_here_and_says_why():
    from bench.config.run import RunConfig
    from bench.execution.worker import RAY_BACKEND_NOTE, sampled_device

    def run(backend):
        return RunConfig(model="tiny-qwen2", distributed_executor_backend=backend)

    assert sampled_device("cuda", run("ray")) == ("none", RAY_BACKEND_NOTE)
    assert sampled_device("cuda", run("mp")) == ("cuda", "")
    assert sampled_device("cuda", run(None)) == ("cuda", "")
    assert sampled_device("cpu", run("ray")) == ("cpu", "")


def _run_fake_gpu_case(monkeypatch, nvml, **run):
    """worker.run_case with an engine that says it is on CUDA (tests/measure/test_telemetry.py) and NVML stood in."""
    from functools import partial

    from bench.config import run as runconfig
    from bench.config.catalog import choose_weights
    from bench.execution import worker
    from bench.execution.case import engine_spec
    from tests.measure.test_telemetry import FakeCudaEngine

    monkeypatch.setattr(worker, "load_engine", lambda name: FakeCudaEngine)
    monkeypatch.setattr(worker, "PeakMemorySampler", partial(PeakMemorySampler, nvml=nvml, interval_s=60))
    monkeypatch.setattr(worker, "start_gpu_telemetry", lambda device, n: start_gpu_telemetry(device, n, nvml=nvml))
    cfg, model = runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "engine": "hf", "num_prompts": 2,
                                                    "input_len": 8, "output_len": 4, **run}))
    return worker.run_case(engine_spec(cfg, model, choose_weights(model, "dummy")))


def test_a_tp2_case_given_gpus_3_and_1_reports_their_memory(monkeypatch):
    """GPU i holds (i + 1) GiB; CUDA_VISIBLE_DEVICES=3,1 and TP=2: 4 + 2 = 6 GiB, never GPU 0's 1 GiB."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    out = _run_fake_gpu_case(monkeypatch, four_gpus(), tensor_parallel_size=2)
    assert out["status"] == "ok" and out["peak_memory_source"] == "nvml"
    assert out["peak_memory_bytes"] == 6 * GiB and out["peak_memory_per_gpu_bytes"] == [4 * GiB, 2 * GiB]
    assert out["telemetry"]["gpus"] == 2 and out["telemetry_note"] == ""


def test_a_case_on_vllms_ray_backend_measures_nothing_here_and_says_why(monkeypatch):
    from bench.execution.worker import RAY_BACKEND_NOTE

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # what Ray sets for a task that asked for no GPU
    out = _run_fake_gpu_case(monkeypatch, four_gpus(), tensor_parallel_size=2, distributed_executor_backend="ray")
    assert out["status"] == "ok" and out["telemetry"] is None
    assert out["peak_memory_bytes"] is None and out["peak_memory_source"] == "" and out["peak_memory_per_gpu_bytes"] == []
    assert out["telemetry_note"] == RAY_BACKEND_NOTE


# --- what the worker process gets: a RunConfig and the parent's requests -----------------------------------------

# A plugin engine that reports what the worker handed it.
TYPED_ENGINE = '''
from bench.engines.base import KVCacheInfo
from bench.measure.metrics import RequestResult


class TypedEngine:
    device = "cpu"

    def __init__(self, spec):
        self.spec = spec
        self.timed = []

    def check(self):
        pass

    def start(self):
        pass

    def generate(self, requests):
        self.timed = requests
        return [RequestResult(prompt_len=r.prompt_len, output_len=r.output_len, ttft_s=0.01, tpot_s=0.001,
                              e2e_s=0.1) for r in requests], 0.1

    def kv_cache_info(self):
        return KVCacheInfo()

    def info(self):
        run = self.spec.run
        return {"device": "cpu", "run_type": f"{type(run).__module__}.{type(run).__qualname__}",
                "max_num_seqs": run.max_num_seqs, "workload_type": type(self.spec.workload).__name__,
                "timed_ids": [r.prompt_token_ids for r in self.timed]}

    def stop(self):
        pass
'''


def test_the_worker_process_gets_a_validated_runconfig_and_the_parents_requests(monkeypatch, tmp_path):
    from bench.config.catalog import choose_weights
    from bench.config.run import parse, resolve
    from bench.execution.case import engine_spec
    from bench.execution.process import spawn_worker
    from tests.fault_engine import plug_in

    plug_in(monkeypatch, tmp_path, "typed", "typed_engine", TYPED_ENGINE, "TypedEngine")
    cfg, model = resolve(parse({"model": "tiny-qwen2", "engine": "typed", "num_prompts": 3, "input_len": 8,
                                "output_len": 4, "max_num_seqs": 2}))
    spec = engine_spec(cfg, model, choose_weights(model, "dummy"))
    out = spawn_worker(spec, timeout_s=120, log_path=None)
    assert out["status"] == "ok", out
    info = out["engine_info"]
    assert info["run_type"] == "bench.config.run.RunConfig" and info["max_num_seqs"] == 2
    assert info["workload_type"] == "Workload"
    # the timed requests are the 3 requests of 8 token ids the parent built, id for id
    assert info["timed_ids"] == [r.prompt_token_ids for r in spec.workload.requests]
    assert [len(ids) for ids in info["timed_ids"]] == [8, 8, 8]
