"""Hugging Face transformers `generate` with static batching: the baseline vLLM's decode loop is measured against.

Requests run in batches of `--max-num-seqs` in submission order (bench.engines.static_batch), prompts
left-padded, `min_new_tokens = max_new_tokens` so every request gets exactly its output length (EOS is
masked until then), sampling as vLLM's engine does here (temperature 1, top-p 1, no top-k). Random
weights from the bundled config.json when there are no real weights (`torch.manual_seed(seed)` first).
Per-token times come from a streamer that stamps every decoding step when its tokens reach the host.
The KV columns are the model's own cache (a DynamicCache) of the largest batch, read after generate.
"""

from __future__ import annotations

import time

from bench.engines.base import EngineSpec, KVCacheInfo
from bench.engines.static_batch import batches, left_pad, request_timing
from bench.core.errors import BenchError
from bench.measure.metrics import RequestResult
from bench.workload.synthetic import Request

# The batch size when --max-num-seqs is not given: vLLM 0.32's offline default on CPU and on GPUs under 70 GB
# (it takes 1024 on H100/H200); pass --max-num-seqs to compare the engines at the same batch size.
DEFAULT_MAX_NUM_SEQS = 256


def import_hf():
    """(torch, transformers), or BenchError naming the fix."""
    try:
        import torch
        import transformers
    except ImportError as e:
        raise BenchError(
            f"the hf engine needs torch and transformers ({e.name or e} is not installed here); "
            "`bash scripts/setup.sh` installs both with vLLM, or `pip install torch transformers`"
        ) from None
    return torch, transformers


def pad_token_id(cfg: dict) -> int:
    """The config's pad token, else its (first) EOS, else 0: what fills the left of shorter prompts."""
    for key in ("pad_token_id", "eos_token_id"):
        v = cfg.get(key)
        if isinstance(v, list):
            v = v[0] if v else None
        if isinstance(v, int):
            return v
    return 0


def torch_dtype(torch, dtype: str, cfg: dict):
    if dtype == "auto":
        dtype = str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16")
    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}.get(dtype, torch.bfloat16)


class StepClock:
    """A `generate` streamer: the perf_counter time each decoding step's tokens reach the host.

    generate() first puts the prompt, then one tensor of new tokens per step (copied to the host,
    which on CUDA waits for the step to finish)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._prompt_seen = False

    def put(self, value) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


class HfEngine:
    name = "hf"

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.run = spec.run
        self.model = None
        self.device: str | None = None
        self.torch = None
        self.transformers = None
        self.kv = KVCacheInfo()

    @property
    def max_num_seqs(self) -> int:
        return self.run.max_num_seqs or DEFAULT_MAX_NUM_SEQS

    def check(self) -> None:
        torch, transformers = import_hf()
        self.torch, self.transformers = torch, transformers
        arch = (self.spec.model_config.get("architectures") or ["?"])[0]
        if not hasattr(transformers, arch):
            raise BenchError(f"architecture {arch} is not in transformers {transformers.__version__}; "
                             "pick a model whose config.json names a class transformers has")
        run = self.run
        if (run.tensor_parallel_size or 1) * run.pipeline_parallel_size > 1:
            raise BenchError("the hf engine runs on one device; drop --tensor-parallel-size/--pipeline-parallel-size "
                             "(or use --engine vllm)")
        if run.kv_cache_dtype != "auto":
            raise BenchError(f"--kv-cache-dtype {run.kv_cache_dtype}: the hf engine keeps its KV cache in the "
                             "model's dtype; use --kv-cache-dtype auto (or --engine vllm)")
        has_cuda = torch.cuda.is_available()
        wanted = run.device
        if wanted == "cuda" and not has_cuda:
            import os

            from bench.engines.gpu_check import hidden_gpus_problem

            hidden = hidden_gpus_problem(os.environ.get("CUDA_VISIBLE_DEVICES"))
            raise BenchError(f"--device cuda: {hidden or 'torch here has no CUDA device; use --device cpu or auto'}")
        self.device = "cuda" if wanted == "auto" and has_cuda else ("cpu" if wanted == "auto" else wanted)

    def start(self) -> None:
        torch, transformers = self.torch, self.transformers
        cfg = self.spec.model_config
        dtype = torch_dtype(torch, self.run.dtype, cfg)
        torch.manual_seed(self.run.seed)
        if self.spec.load_format == "dummy":
            config = transformers.AutoConfig.from_pretrained(self.spec.load_path)
            with torch.device(self.device):  # random weights made where they run: no host copy of a large model
                model = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype)
        else:
            model = transformers.AutoModelForCausalLM.from_pretrained(self.spec.load_path, dtype=dtype).to(self.device)
        self.model = model.eval()
        self.pad_id = pad_token_id(cfg)

    def generate(self, requests: list[Request]) -> tuple[list[RequestResult], float]:
        self.torch.manual_seed(self.run.seed)
        results: list[RequestResult | None] = [None] * len(requests)
        t0 = time.perf_counter()
        for batch in batches(len(requests), self.max_num_seqs):
            for i, r in zip(batch, self._generate_batch([requests[i] for i in batch], t0)):
                results[i] = r
        return results, time.perf_counter() - t0

    def _generate_batch(self, batch: list[Request], submitted_s: float) -> list[RequestResult]:
        torch = self.torch
        ids, mask = left_pad([r.prompt_token_ids for r in batch], self.pad_id)
        steps = max(r.output_len for r in batch)
        clock = StepClock()
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=torch.tensor(ids, device=self.device), attention_mask=torch.tensor(mask, device=self.device),
                max_new_tokens=steps, min_new_tokens=steps, do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                pad_token_id=self.pad_id, streamer=clock, return_dict_in_generate=True,
            )
        generated = out.sequences.shape[1] - len(ids[0])
        if generated != steps or len(clock.times) != steps:
            raise RuntimeError(f"generate made {generated} tokens ({len(clock.times)} steps timed), "
                               f"{steps} were asked for")
        self._note_cache(out.past_key_values, len(batch))
        del out
        results = []
        for r in batch:
            ttft, tpot, e2e = request_timing(submitted_s, clock.times, r.output_len)
            results.append(RequestResult(prompt_len=r.prompt_len, output_len=r.output_len, ttft_s=ttft, tpot_s=tpot,
                                         e2e_s=e2e))
        return results

    def _note_cache(self, cache, batch_size: int) -> None:
        """Keep the KV cache of the largest batch: its bytes and the tokens it holds (batch x cached length)."""
        from bench.engines.tensor_bytes import storage_bytes

        if cache is None or not hasattr(cache, "layers"):
            return  # a model without a transformers Cache: the KV columns stay empty rather than guessed
        allocated = storage_bytes([(getattr(layer, "keys", None), getattr(layer, "values", None))
                                   for layer in cache.layers])
        tokens = batch_size * cache.get_seq_length()
        if self.kv.allocated_bytes is None or allocated > self.kv.allocated_bytes:
            self.kv = KVCacheInfo(capacity_tokens=tokens, allocated_bytes=allocated)

    def kv_cache_info(self) -> KVCacheInfo:
        return self.kv

    def info(self) -> dict:
        torch, transformers = self.torch, self.transformers
        return {
            "device": self.device,
            "transformers_version": transformers.__version__,
            "engine_version": transformers.__version__,
            "torch_version": torch.__version__,
            "max_num_seqs": self.max_num_seqs,
            "batching": "static",
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "attn_implementation": getattr(self.model.config, "_attn_implementation", None),
            "cache": "DynamicCache",
            "engine_args": {"do_sample": True, "temperature": 1.0, "top_p": 1.0, "top_k": 0,
                            "min_new_tokens": "max_new_tokens", "padding_side": "left", "pad_token_id": self.pad_id},
        }

    def stop(self) -> None:
        self.model = None
