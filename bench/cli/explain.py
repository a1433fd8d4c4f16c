"""`bench explain MODEL --hardware GPU`: what the hardware allows for a model (parameters, memory, KV
capacity, decode bounds) from the roofline; no GPU needed. The options it shares with bench run
(-tp, --kv-cache-dtype, --gpu-memory-utilization) are RunConfig's, default and choices included."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from bench.cli.options import add_command, parsed
from bench.config.flags import option, reworded
from bench.config.run import KvCacheDtype, RunConfig
from bench.errors import BenchError
from bench.roofline.bound import EXPLAIN_BATCHES
from bench.roofline.modelmath import WEIGHT_DTYPES

DEFAULT_EXPLAIN_CONTEXT = 4096
WeightDtype = Literal[tuple(WEIGHT_DTYPES)]


class ExplainOptions(BaseModel):
    model_config = {"protected_namespaces": ()}

    model: str = option(help="catalog name (see `bench models --all`) or a directory with a config.json",
                        positional=True)
    hardware: str = option(help="a GPU of hardware.yaml (case-insensitive), e.g. H20")
    tensor_parallel_size: int | None = reworded(RunConfig, "tensor_parallel_size", "GPUs; default from models.yaml")
    kv_cache_dtype: KvCacheDtype = reworded(RunConfig, "kv_cache_dtype")
    weight_dtype: WeightDtype | None = option(None, "weight format (fp8, int8/int4 weight-only); default the "
                                                    "model's dtype")
    context: int | None = option(None, f"tokens per sequence (default {DEFAULT_EXPLAIN_CONTEXT} or the model's "
                                       "max_model_len if less)")
    gpu_memory_utilization: float = reworded(RunConfig, "gpu_memory_utilization")
    attention_data_parallel: bool = option(False, "each GPU keeps its own sequences' KV (SGLang "
                                                  "--enable-dp-attention): MLA's latent stored once")
    batch: list[int] = option(list(EXPLAIN_BATCHES), "decode batch sizes")
    quantization: Literal["fp8", "awq", "gptq"] | None = reworded(RunConfig, "quantization", "weight format as "
                                                                  "vLLM's --quantization: fp8 W8A8, awq/gptq int4 "
                                                                  "weight-only (overrides --weight-dtype)")
    profile: str | None = reworded(RunConfig, "profile", "calibration of the expected decode tok/s (default the "
                                                         "published fit)")
    format: Literal["table", "json"] = option("table", "output format")


def add_explain_command(sub) -> None:
    add_command(sub, "explain", "what the hardware allows for a model: parameters, memory, KV capacity and decode "
                                "bounds (roofline; no GPU needed)", cmd_explain, (ExplainOptions,))


def cmd_explain(args) -> int:
    import json

    from bench.config import catalog
    from bench.display.run import print_explain
    from bench.roofline import bound as roofline
    from bench.roofline import predict

    opts: ExplainOptions = parsed(args, ExplainOptions, "bench explain")
    if opts.context is not None and opts.context < 1:
        raise BenchError(f"--context must be a positive number of tokens, got {opts.context}")
    model = catalog.resolve_model(opts.model)
    gpu = predict.require_gpu(opts.hardware)
    dtype = model.dtype if model.dtype != "auto" else predict.model_dtype({}, model.config)
    context = opts.context or min(DEFAULT_EXPLAIN_CONTEXT, model.max_model_len)
    limit = model.config.get("max_position_embeddings")
    if limit and context > int(limit):
        raise BenchError(f"--context {context} exceeds the model's max_position_embeddings {limit}")
    dep = roofline.Deployment(cfg=model.config, gpu=gpu,
                              tensor_parallel_size=opts.tensor_parallel_size or model.tensor_parallel_size,
                              weight_dtype=(predict.QUANTIZATION_WEIGHTS[opts.quantization] if opts.quantization
                                            else opts.weight_dtype or dtype), kv_cache_dtype=opts.kv_cache_dtype,
                              model_dtype=dtype, gpu_memory_utilization=opts.gpu_memory_utilization,
                              attention_data_parallel=opts.attention_data_parallel)
    out = {"model": model.name, **roofline.explain(dep, context, tuple(opts.batch))}
    prof = predict.load_profile(opts.profile)
    eff = prof.efficiency_for("vllm")
    for r in out["decode"]:  # the current vLLM's expected rate beside each bound
        r["expected_tok_s"] = predict.expected_decode_tok_s(dep, r["batch"], context, eff)
    out["expected_decode_tok_s"] = {str(r["batch"]): r["expected_tok_s"] for r in out["decode"]}
    out["calibration"] = prof.name
    if opts.format == "json":
        print(json.dumps(out, indent=2))
    else:
        print_explain(out)
    return 0
