"""vLLM's Ray backend may span nodes. The engine's check counts the Ray cluster's GPUs
(not this process's), `bench sweep --ray` checks such a case against the whole cluster, and an empty
CUDA_VISIBLE_DEVICES (Ray's for a task with no GPU) is read as vLLM reads it. A stand-in ray module, no Ray."""

import signal
import sys
import types
from types import SimpleNamespace

import pytest

from bench.engines.gpu_check import hidden_gpus_problem, parallel_gpus_problem, ray_cluster_gpus
from bench.core.errors import BenchError
from bench.execution.ray_cluster import cluster_shortfall, task_gpus


# --- the engine's check -----------------------------------------------------------------------------------------

def test_the_ray_backend_counts_the_clusters_gpus_not_this_process():
    # TP 8 x PP 2 = 16 GPUs on a 2-node cluster of 8 + 8, from a task that sees none (CUDA_VISIBLE_DEVICES="")
    assert parallel_gpus_problem(16, "ray", visible_gpus=0, cluster_gpus=16.0, cuda_visible_devices="") is None
    too_small = parallel_gpus_problem(16, "ray", visible_gpus=0, cluster_gpus=8.0, cuda_visible_devices="")
    assert too_small == ("tensor x pipeline parallel size 16 needs 16 GPUs, the Ray cluster has 8: add GPU nodes "
                         "(`ray start --address HEAD:6379`) or lower --tensor-parallel-size/--pipeline-parallel-size")
    assert "distributed-executor-backend ray" not in too_small  # it is already chosen: not recommended again


def test_the_ray_backend_without_a_cluster_is_limited_to_this_machine():
    assert parallel_gpus_problem(2, "ray", visible_gpus=2, cluster_gpus=None, cuda_visible_devices=None) is None
    msg = parallel_gpus_problem(4, "ray", visible_gpus=2, cluster_gpus=None, cuda_visible_devices=None)
    assert msg.startswith("tensor x pipeline parallel size 4 needs 4 GPUs; no Ray cluster is running")
    assert "which has 2: start a cluster" in msg


def test_mp_counts_what_this_process_sees_and_recommends_the_ray_backend():
    assert parallel_gpus_problem(2, None, visible_gpus=2, cluster_gpus=None, cuda_visible_devices=None) is None
    msg = parallel_gpus_problem(4, "mp", visible_gpus=2, cluster_gpus=None, cuda_visible_devices="0,1")
    assert msg == ("tensor x pipeline parallel size 4 needs 4 GPUs, this process sees 2; lower "
                   "--tensor-parallel-size/--pipeline-parallel-size or, to span nodes, use "
                   "--distributed-executor-backend ray on a Ray cluster")


def test_a_process_that_sees_no_gpu_blames_cuda_visible_devices_when_set():
    assert parallel_gpus_problem(1, None, 0, None, "-1") == hidden_gpus_problem("-1") == (
        "CUDA_VISIBLE_DEVICES='-1' hides every GPU from this process; unset it or name the GPUs to use")
    assert hidden_gpus_problem(None) is None
    assert parallel_gpus_problem(1, None, 0, None, None).endswith("this process sees 0; lower "
                                                                  "--tensor-parallel-size/--pipeline-parallel-size "
                                                                  "or, to span nodes, use --distributed-executor-"
                                                                  "backend ray on a Ray cluster")


class FakeRay(types.ModuleType):
    def __init__(self, cluster_gpus=None, initialized=False):
        super().__init__("ray")
        self.cluster_gpus, self.initialized, self.inits = cluster_gpus, initialized, []

    def is_initialized(self):
        return self.initialized

    def init(self, address=None, **kw):
        self.inits.append(address)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # Ray installs its own handlers
        if self.cluster_gpus is None:
            raise ConnectionError("Could not find any running Ray instance")
        self.initialized = True

    def cluster_resources(self):
        return {"CPU": 64.0, "GPU": self.cluster_gpus}


def test_ray_cluster_gpus_connects_to_the_running_cluster_and_keeps_our_signal_handlers(monkeypatch):
    def ours(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, ours)
    try:
        ray = FakeRay(cluster_gpus=16.0)
        monkeypatch.setitem(sys.modules, "ray", ray)
        assert ray_cluster_gpus() == 16.0 and ray.inits == ["auto"]
        assert signal.getsignal(signal.SIGTERM) is ours
        assert ray_cluster_gpus() == 16.0 and ray.inits == ["auto"]  # already connected: reused, as vLLM reuses it
        monkeypatch.setitem(sys.modules, "ray", FakeRay(cluster_gpus=None))
        assert ray_cluster_gpus() is None
        assert signal.getsignal(signal.SIGTERM) is ours
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_ray_cluster_gpus_without_ray_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(BenchError, match=r"needs the ray package.*pip install 'bench\[ray\]'"):
        ray_cluster_gpus()


# --- bench sweep --ray: what each case needs of the cluster ----------------------------------------------------

def case(index, engine="vllm", device="cuda", tp=1, pp=1, backend=None):
    cfg = SimpleNamespace(engine=engine, device=device, tensor_parallel_size=tp, pipeline_parallel_size=pp,
                          distributed_executor_backend=backend)
    return SimpleNamespace(cfg=cfg, spec=SimpleNamespace(index=index))


def test_a_ray_backend_case_asks_for_no_gpu_and_must_fit_the_cluster():
    big = case(1, tp=8, pp=2, backend="ray")
    assert task_gpus(big.cfg, cluster_has_gpus=True) == 0
    # two nodes of 8 GPUs: fits across them, though no node has 16
    assert cluster_shortfall([big, case(2, tp=8)], largest_node_gpus=8, cluster_gpus=16) is None
    assert cluster_shortfall([big], largest_node_gpus=8, cluster_gpus=8) == (
        "the Ray cluster has 8 GPUs in all: #1 needs 16 (distributed_executor_backend: ray); add GPU nodes "
        "(`ray start --address HEAD:6379`) or lower tensor_parallel_size x pipeline_parallel_size")


def test_a_plain_case_must_fit_one_node():
    msg = cluster_shortfall([case(1, tp=16), case(2, engine="sim")], largest_node_gpus=8, cluster_gpus=16)
    assert msg == ("no node of the Ray cluster has enough GPUs (largest: 8): #1 needs 16; lower tensor_parallel_size "
                   "or use distributed_executor_backend: ray")
    assert cluster_shortfall([case(1, device="cpu", tp=4, backend="ray")], 0, 0) is None  # CPU: no GPU asked


# --- the wiring: vllm's check() as a `bench sweep --ray` task runs it (stand-ins for vllm, torch and ray) --------

def vllm_on_cuda_here(monkeypatch, torch_gpus: int, ray_module):
    """Stand-ins: vLLM's CUDA build (the platform is found through NVML, so it is cuda even when torch sees no GPU),
    torch seeing `torch_gpus` GPUs, and `ray_module`."""
    vllm = types.ModuleType("vllm")
    vllm.__version__ = "0.32.0"
    vllm.ModelRegistry = SimpleNamespace(get_supported_archs=lambda: ["Qwen2ForCausalLM"])
    platforms = types.ModuleType("vllm.platforms")
    platforms.current_platform = SimpleNamespace(device_type="cuda")
    torch = types.ModuleType("torch")
    torch.cuda = SimpleNamespace(device_count=lambda: torch_gpus)
    for name, module in {"vllm": vllm, "vllm.platforms": platforms, "torch": torch, "ray": ray_module}.items():
        monkeypatch.setitem(sys.modules, name, module)


def vllm_engine(tp, pp=1, backend=None):
    from bench.config.run import RunConfig
    from bench.engines.base import EngineSpec
    from bench.engines.vllm_offline import VllmOfflineEngine

    run = RunConfig(model="tiny-qwen2", device="cuda", tensor_parallel_size=tp, pipeline_parallel_size=pp,
                    distributed_executor_backend=backend)
    return VllmOfflineEngine(EngineSpec(run=run, load_path="", load_format="dummy",
                                        model_config={"architectures": ["Qwen2ForCausalLM"]}))


def test_a_ray_backend_case_in_a_task_that_sees_no_gpu_is_accepted_on_a_big_enough_cluster(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # Ray's, for a task with num_gpus=0
    vllm_on_cuda_here(monkeypatch, torch_gpus=0, ray_module=FakeRay(cluster_gpus=16.0))
    engine = vllm_engine(tp=8, pp=2, backend="ray")
    engine.check()
    assert engine.device == "cuda"
    vllm_on_cuda_here(monkeypatch, torch_gpus=0, ray_module=FakeRay(cluster_gpus=8.0))
    with pytest.raises(BenchError, match="needs 16 GPUs, the Ray cluster has 8"):
        vllm_engine(tp=8, pp=2, backend="ray").check()


def test_an_mp_case_is_limited_to_the_gpus_this_process_sees(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    vllm_on_cuda_here(monkeypatch, torch_gpus=8, ray_module=None)
    vllm_engine(tp=8).check()
    with pytest.raises(BenchError, match="needs 16 GPUs, this process sees 8; .*--distributed-executor-backend ray"):
        vllm_engine(tp=8, pp=2).check()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    vllm_on_cuda_here(monkeypatch, torch_gpus=0, ray_module=None)
    with pytest.raises(BenchError, match=r"^CUDA_VISIBLE_DEVICES='-1' hides every GPU from this process"):
        vllm_engine(tp=1).check()
