"""vLLM's engine options for a resolved case, once: keyword arguments for the offline `LLM(...)` and the
same options as `--flag value` for the OpenAI server (`bench serve`).

Pure: nothing here imports vllm. Only EngineArgs fields of vLLM's public API, so one mapping serves the
GPU package and the CPU build across versions; the server's CLI flags are those field names in kebab case.
"""

from __future__ import annotations

import json

from bench.config.run import RunConfig

# vLLM's CPU default sizes the KV cache from gpu_memory_utilization x all RAM (90%), which fails on a
# shared machine; 2 GiB holds one full-context (32K) sequence of every catalog model.
DEFAULT_CPU_KV_CACHE_GIB = 2.0

# Boolean options vLLM turns on by default: False must be said (`--no-...`); the others are off unless given.
ON_BY_DEFAULT = frozenset({"enable_prefix_caching"})


def cpu_kv_cache_bytes(run: RunConfig) -> int:
    return int((run.cpu_kv_cache_gb or DEFAULT_CPU_KV_CACHE_GIB) * 2**30)


def engine_options(run: RunConfig, load_path: str, load_format: str, device: str, token_prompts: bool = True) -> dict:
    """EngineArgs for a resolved case `run` (a RunConfig, or serve's ServeConfig) on `device` (cpu or cuda):
    prefix caching off unless asked (--enable-prefix-caching; random prompts: measure compute, not cache hits),
    eager on CPU unless told (torch.compile on a small CPU costs minutes; CUDA graphs matter on GPU), the CPU KV
    cache sized. `token_prompts`: token-id prompts, so no tokenizer files are needed (dummy weights)."""
    eager = run.enforce_eager if run.enforce_eager is not None else device == "cpu"
    options = dict(
        model=load_path,
        load_format=load_format,
        skip_tokenizer_init=token_prompts,
        dtype=run.dtype,
        kv_cache_dtype=run.kv_cache_dtype,
        max_model_len=run.max_model_len,
        tensor_parallel_size=run.tensor_parallel_size,
        pipeline_parallel_size=run.pipeline_parallel_size,
        gpu_memory_utilization=run.gpu_memory_utilization,
        enforce_eager=eager,
        seed=run.seed,
        enable_prefix_caching=run.enable_prefix_caching,
    )
    if run.max_num_seqs:
        options["max_num_seqs"] = run.max_num_seqs
    if run.quantization:
        options["quantization"] = run.quantization
    if run.distributed_executor_backend:
        options["distributed_executor_backend"] = run.distributed_executor_backend
    if run.speculative_config:  # JSON text, checked to be an object (bench.config.run.speculative_config)
        options["speculative_config"] = json.loads(run.speculative_config)
    if device == "cpu":
        options["kv_cache_memory_bytes"] = cpu_kv_cache_bytes(run)
    return options


def cli_args(options: dict) -> list[str]:
    """The server's command-line form of engine options: `--max-model-len 2048`, `--enforce-eager`,
    `--no-enable-prefix-caching`; a False option vLLM leaves off by default, or a None, is not written."""
    args: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                args.append(flag)
            elif key in ON_BY_DEFAULT:
                args.append("--no-" + flag[2:])
        elif isinstance(value, dict):  # a config object (speculative_config): the server takes it as JSON
            args += [flag, json.dumps(value, sort_keys=True)]
        else:
            args += [flag, str(value)]
    return args
