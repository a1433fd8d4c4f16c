"""transformers' own continuous batching (ContinuousBatchingManager, what `generate_batch` drives): a paged
KV cache and a scheduler that admits requests as others finish, inside transformers.

Registered as `--engine hf-cb` only when the installed transformers ships it. Every request is added at
once with its exact output length (EOS disabled per request) and per-token timestamps; the manager runs
for the engine's life (warm-up and timed run share it), with up to `--max-num-seqs` requests per batch,
prefix sharing off, and a KV cache of `--gpu-memory-utilization` of the GPU memory free after the model
(CUDA) or, on CPU, what the batch needs within `--cpu-kv-cache-gb` (see cpu_num_blocks).

Two APIs of transformers' continuous batching are known, told apart by ContinuousBatchingConfig's fields and the
cache's attributes (detect_api, cache_kv_bytes), since a lent GPU machine may have either:
  5.17 (and 5.16): `block_size` tokens per block; the cache is per-layer key_cache/value_cache tensors of
       (num_blocks + 2) blocks, the last two blocks trash.
  5.19: `page_size` (block_size deprecated); the cache is one byte tensor of num_sectors + 2 sectors of
       bytes_per_sector, the last two trash.
Any other shape is refused in check() with the versions that work.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from bench.model import modelmath
from bench.engines.base import KVCacheInfo
from bench.engines.hf import HfEngine
from bench.engines.static_batch import request_timing
from bench.engines.vllm_args import DEFAULT_CPU_KV_CACHE_GIB
from bench.core.errors import BenchError
from bench.measure.metrics import RequestResult
from bench.workload.synthetic import Request

PAGE_SIZE = 256  # tokens per block (transformers' default page size)
RESULT_WAIT_S = 1.0
# ContinuousBatchingConfig fields bench sets besides the page size (5.17 and 5.19 have all of them)
REQUIRED_FIELDS = ("num_blocks", "max_memory_percent", "max_requests_per_batch", "allow_block_sharing", "seed")
KNOWN_API_VERSIONS = "transformers 5.17 to 5.19"


@dataclass(frozen=True)
class CbApi:
    """What differs between the continuous-batching APIs bench drives."""

    page_size_field: str  # "page_size" (5.19) or "block_size" (5.17)


def detect_api(config_fields: set[str], version: str) -> CbApi:
    """The installed API from ContinuousBatchingConfig's field names; BenchError naming what is missing. Pure."""
    page = next((f for f in ("page_size", "block_size") if f in config_fields), None)
    missing = [f for f in REQUIRED_FIELDS if f not in config_fields] + ([] if page else ["page_size or block_size"])
    if missing:
        raise BenchError(f"transformers {version}'s continuous batching has no {', '.join(missing)} (bench's hf-cb "
                         f"drives the API of {KNOWN_API_VERSIONS}); install one (pip install "
                         "'transformers>=5.17,<5.20') or use --engine hf")
    return CbApi(page_size_field=page)


def _tensor_bytes(t) -> int:
    return t.numel() * t.element_size()


def cache_kv_bytes(cache) -> int | None:
    """Bytes of a PagedAttentionCache's K/V storage without its two trash blocks/sectors; None for an unknown layout.

    5.19: num_sectors x bytes_per_sector. 5.17: each key/value tensor holds (num_blocks + 2) x block_size token
    rows; num_blocks x block_size of them are cache."""
    if hasattr(cache, "num_sectors") and hasattr(cache, "bytes_per_sector"):
        return int(cache.num_sectors) * int(cache.bytes_per_sector)
    tensors = list(getattr(cache, "key_cache", None) or []) + list(getattr(cache, "value_cache", None) or [])
    if not tensors:
        return None
    rows = cache.num_blocks * cache.block_size
    return sum(_tensor_bytes(t) // t.shape[0] * rows for t in tensors)


def cpu_num_blocks(cfg: dict, dtype: str, cache_gib: float, batch: int, max_len: int,
                   page_size: int = PAGE_SIZE) -> int:
    """Blocks of `page_size` tokens (all layers) for the CPU cache: what `batch` requests of `max_len` tokens need,
    at most `cache_gib` GiB. Not simply the GiB (as vLLM's CPU cache is): on CPU transformers attends through a
    dense mask of batch tokens x cache tokens, so a 2 GiB cache of a tiny model would cost tens of GB of mask."""
    per_block = modelmath.kv_bytes_per_token(cfg, "auto", dtype) * page_size
    needed = batch * -(-max_len // page_size)
    return max(1, min(int(cache_gib * 2**30) // per_block, needed))


class HfContinuousBatchingEngine(HfEngine):
    name = "hf-cb"

    def __init__(self, spec) -> None:
        super().__init__(spec)
        self.manager = None
        self.api: CbApi | None = None
        self._next_id = 0

    def check(self) -> None:
        super().check()
        try:
            from transformers import ContinuousBatchingConfig
        except ImportError:
            raise BenchError(f"transformers {self.transformers.__version__} has no continuous batching; "
                             "use --engine hf") from None
        fields = {f.name for f in dataclasses.fields(ContinuousBatchingConfig)} \
            if dataclasses.is_dataclass(ContinuousBatchingConfig) else set()
        self.api = detect_api(fields, self.transformers.__version__)
        if modelmath.is_mla(self.spec.model_config):
            raise BenchError(f"transformers {self.transformers.__version__}'s continuous batching cache holds "
                             "per-head K/V, not MLA latents (DeepSeek-V2 fails in it); use --engine hf or vllm")

    def start(self) -> None:
        super().start()
        from transformers import ContinuousBatchingConfig, GenerationConfig
        from transformers.generation.continuous_batching.utils import WorkloadHints

        run = self.run
        max_in, max_out = self.spec.workload.max_lengths()
        cb = dict(max_requests_per_batch=self.max_num_seqs, allow_block_sharing=False, seed=run.seed)
        cb[self.api.page_size_field] = PAGE_SIZE
        if self.device == "cpu":
            dtype = str(self.model.dtype).removeprefix("torch.")
            cb["num_blocks"] = cpu_num_blocks(self.spec.model_config, dtype,
                                              run.cpu_kv_cache_gb or DEFAULT_CPU_KV_CACHE_GIB,
                                              min(self.max_num_seqs, run.num_prompts), max_in + max_out)
        else:
            cb["max_memory_percent"] = run.gpu_memory_utilization
        gen = GenerationConfig(do_sample=True, temperature=1.0, top_p=1.0, top_k=0, eos_token_id=-1,
                               pad_token_id=self.pad_id, max_new_tokens=max_out)
        self.manager = self.model.init_continuous_batching(
            generation_config=gen, continuous_batching_config=ContinuousBatchingConfig(**cb),
            workload_hints=WorkloadHints(max_prompt_length=max_in, max_generated_length=max_out,
                                         num_requests=run.num_prompts))
        self.manager.start()

    def generate(self, requests: list[Request]) -> tuple[list[RequestResult], float]:
        manager = self.manager
        t0 = time.perf_counter()
        ids = []
        for r in requests:
            rid = f"bench-{self._next_id}"
            self._next_id += 1
            ids.append(manager.add_request(r.prompt_token_ids, request_id=rid, max_new_tokens=r.output_len,
                                           record_timestamps=True, eos_token_id=-1))
        done: dict = {}
        while len(done) < len(ids):
            out = manager.get_result(timeout=RESULT_WAIT_S)
            if out is None:
                if not manager.is_running():
                    raise RuntimeError(f"transformers' continuous batching loop stopped with {len(ids) - len(done)} "
                                       f"requests unfinished ({manager.background_thread_status.fatal_error})")
                continue
            if out.is_finished():
                done[out.request_id] = out
        elapsed = time.perf_counter() - t0
        results = [self._result(req, done[rid], t0) for req, rid in zip(requests, ids)]
        if not any(r.success for r in results):
            raise RuntimeError(results[0].error)
        return results, elapsed

    @staticmethod
    def _result(req: Request, out, submitted_s: float) -> RequestResult:
        if out.error is not None:
            return RequestResult(prompt_len=req.prompt_len, output_len=0, success=False, error=str(out.error))
        n = len(out.generated_tokens)
        ttft, tpot, e2e = request_timing(submitted_s, out.timestamps or [], n)
        return RequestResult(prompt_len=req.prompt_len, output_len=n, ttft_s=ttft, tpot_s=tpot, e2e_s=e2e)

    def kv_cache_info(self) -> KVCacheInfo:
        cache = self.manager.batch_processor.cache
        return KVCacheInfo(block_size=PAGE_SIZE, num_blocks=cache.num_blocks, capacity_tokens=cache.num_blocks * PAGE_SIZE,
                           allocated_bytes=cache_kv_bytes(cache))

    def info(self) -> dict:
        cfg = self.manager.continuous_batching_config
        return {**super().info(), "batching": "continuous", "cache": "PagedAttentionCache",
                "cb_page_size_field": self.api.page_size_field,
                "attn_implementation": getattr(self.model.config, "_attn_implementation", None),
                "max_batch_tokens": getattr(self.manager.batch_processor.cache, "max_batch_tokens", None),
                "continuous_batching_config": {k: str(v) for k, v in vars(cfg).items()}}

    def stop(self) -> None:
        if self.manager is not None:
            self.manager.stop(block=True, timeout=30)
            self.manager.destroy()
            self.manager = None
        super().stop()
