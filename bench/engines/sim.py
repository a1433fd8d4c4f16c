"""The simulated engine: the prediction for any catalog model on any --hardware.

Same interface as the vLLM engine; no GPU, no vllm, no torch. `generate` schedules the requests
as vLLM would (bench.roofline.batchsim) and prices every step as the current vLLM is expected to run
it (bench.roofline.efficiency with the published fit or --profile; `--sim-timing bound`: at the
hardware's lower bound, bench.roofline.bound): rows carry engine=sim, device=sim, the hardware's name
as device_name and engine_version roofline-N+CALIBRATION (roofline-N alone for the bound). It is the CPU-only mock mode:
run, cost, compare and report work on its rows exactly as on measured ones.
"""

from __future__ import annotations

from bench.roofline import memory_fit, predict
from bench.roofline.batchsim import SimError, prefix_hashes
from bench.config.engines import SIM_MODEL_VERSION
from bench.engines.base import EngineSpec, KVCacheInfo
from bench.core.errors import BenchError
from bench.measure import speculative
from bench.measure.metrics import RequestResult
from bench.roofline.bound import BLOCK_SIZE, Deployment
from bench.workload.synthetic import Request


class SimEngine:
    name = "sim"
    device = "sim"

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.run = spec.run
        self.dep: Deployment | None = None
        self.profile = None  # the calibration of expected timings (None: the bound)
        self.last = None  # the last WorkloadPrediction

    def check(self) -> None:
        name = self.run.hardware
        if not name:
            raise BenchError("--engine sim needs --hardware NAME (a GPU of hardware.yaml, e.g. H100-SXM)")
        if self.run.pipeline_parallel_size != 1:
            raise BenchError("--engine sim models tensor parallelism only; use --pipeline-parallel-size 1")
        self.dep = predict.deployment(self.run.model_dump(), self.spec.model_config, predict.require_gpu(name))
        self.profile = None
        if self.run.sim_timing == "expected":
            self.profile = predict.load_profile(self.run.profile)

    def start(self) -> None:
        dep = self.dep
        if not dep.fits:
            need = dep.weight_bytes / dep.tp / 2**30
            have = dep.gpu_memory_utilization * dep.gpu.memory_bytes / 2**30
            raise RuntimeError(
                f"predicted out of memory: {need:.1f} GiB of weights per GPU leave no KV cache in "
                f"{have:.1f} GiB ({dep.gpu.name} x{dep.tp} at gpu_memory_utilization {dep.gpu_memory_utilization}); "
                f"would fit: {'; '.join(memory_fit.suggestions(dep, self.run.max_model_len, memory_fit.RUN_WEIGHTS))}"
            )

    def limits(self) -> tuple[int, int]:
        seqs, tokens = predict.vllm_default_limits(self.dep.gpu)
        return self.run.max_num_seqs or seqs, tokens

    def generate(self, requests: list[Request]) -> tuple[list[RequestResult], float]:
        seqs, tokens = self.limits()
        lengths = [(r.prompt_len, r.output_len) for r in requests]
        # --enable-prefix-caching: vLLM's automatic prefix caching on the prompts' own tokens (shared system
        # prompts, a session's history); off, every prompt is computed whole
        blocks = prefix_hashes([r.prompt_token_ids for r in requests]) if self.run.enable_prefix_caching \
            else None
        try:
            if self.run.sim_timing == "expected":
                pred = predict.expected({**self.run.model_dump(), "max_num_seqs": seqs}, self.spec.model_config,
                                        self.dep.gpu.name, self.profile, lengths, "vllm", None, tokens,
                                        prefix_blocks=blocks)
            else:
                pred = predict.predict_lengths(self.dep, lengths, seqs, tokens, prefix_blocks=blocks)
        except SimError as e:  # vLLM's words for it, so the row is classed as oom
            raise RuntimeError(f"{e}: the request is larger than the available KV cache memory") from None
        self.last = pred
        cached = pred.cached_tokens or (None,) * len(requests)
        results = [RequestResult(prompt_len=r.prompt_len, output_len=r.output_len, ttft_s=ttft, tpot_s=tpot, e2e_s=e2e,
                                 cached_tokens=0 if hit is None else hit)
                   for r, ttft, tpot, e2e, hit in zip(requests, pred.ttft_s, pred.tpot_s, pred.e2e_s, cached)]
        return results, pred.elapsed_s

    def kv_cache_info(self) -> KVCacheInfo:
        cap = self.dep.kv_capacity_tokens
        return KVCacheInfo(block_size=BLOCK_SIZE, num_blocks=cap // BLOCK_SIZE, capacity_tokens=cap,
                           allocated_bytes=cap * self.dep.kv_bytes_per_token)

    def info(self) -> dict:
        dep = self.dep
        seqs, tokens = self.limits()
        return {
            "device": "sim",
            # the bound, or the expected value and the calibration it comes from
            "engine_version": SIM_MODEL_VERSION + (f"+{self.profile.name}" if self.profile else ""),
            "device_name": dep.gpu.name,
            "max_num_seqs": seqs,
            "max_num_batched_tokens": tokens,
            "predicted_peak_memory_bytes": int(dep.tp * dep.gpu_memory_utilization * dep.gpu.memory_bytes),
            "weight_dtype": dep.weight_dtype,
            "sim_steps": self.last.steps if self.last else None,
            "sim_preemptions": self.last.preemptions if self.last else None,
            "sim_max_running": self.last.max_running if self.last else None,
            # every simulated step split by its parts' FLOPs or bytes (bench.roofline.bound.Deployment.step_split)
            "prefill_s": self.last.prefill_s if self.last else None,
            "decode_s": self.last.decode_s if self.last else None,
            "split_method": ("steps-expected" if self.profile else "steps-roofline")
            if self.last and self.last.prefill_s is not None else None,
            # speculative decoding as priced: the acceptance is --spec-acceptance, an assumption
            **({"spec_decode": speculative.assumed(dep.draft.method, dep.draft.draft_tokens,
                                                   dep.draft.acceptance_rate).to_dict()} if dep.draft else {}),
        }

    def stop(self) -> None:
        self.dep = None
