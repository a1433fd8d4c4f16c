"""`bench explain MODEL --hardware GPU`: what the hardware allows for a model (parameters, memory, KV
capacity, decode bounds) from the roofline; no GPU needed. The options it shares with bench run
(-tp, --kv-cache-dtype, --gpu-memory-utilization) are RunConfig's, default and choices included; the price of
its cost line is bench.config.pricing's GpuHourOptions, as bench cost reads them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from bench.cli.options import add_command, parsed
from bench.config.flags import option, reworded
from bench.config.pricing import GpuHourOptions
from bench.config.run import KvCacheDtype, RunConfig, tp_refusal
from bench.core.errors import BenchError
from bench.roofline.explain import EXPLAIN_BATCHES
from bench.model.config_checks import tensor_parallel_problem
from bench.model.modelmath import WEIGHT_DTYPES

DEFAULT_EXPLAIN_CONTEXT = 4096
WeightDtype = Literal[tuple(WEIGHT_DTYPES)]


class ExplainOptions(BaseModel):
    model_config = {"protected_namespaces": ()}

    model: str = option(help="catalog name (see `bench models --all`) or a directory with a config.json",
                        positional=True)
    hardware: str = option(help="a GPU of hardware.yaml (case-insensitive), e.g. H20")
    tensor_parallel_size: int | None = reworded(RunConfig, "tensor_parallel_size", "GPUs; default from models.yaml")
    kv_cache_dtype: KvCacheDtype = reworded(RunConfig, "kv_cache_dtype")
    weight_dtype: WeightDtype | None = option(None, "weight format (fp8, int8/int4 weight-only, mxfp4 on the MLP "
                                                    "and expert matrices); default the checkpoint's (fp8, mxfp4) or "
                                                    "the model's dtype")
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
                                "bounds (roofline; no GPU needed)", cmd_explain, (ExplainOptions, GpuHourOptions))


def fit_and_cost(dep, context: int, price: GpuHourOptions, decode_rows: list[dict]) -> dict:
    """Whether one sequence of `context` fits and what would (bench.roofline.memory_fit); the hourly price of the TP
    group on --basis and each decode bound's CNY per M output tokens (price / bound tokens an hour); a warning for
    PCIe-only cards at TP > 1. Fills `cny_per_m_output` in `decode_rows` (None where the batch's KV does not fit)."""
    from bench.config.hardware import load_hardware
    from bench.cost import formulas as cost
    from bench.cost.gpu_hour import cny_per_hour_for
    from bench.cost.pricing import cost_options, power_of
    from bench.roofline import memory_fit as fit

    book = load_hardware()
    hw = book.hardware[dep.gpu.name]
    out: dict = {"fits_context": fit.fits_context(dep, context), "does_not_fit": fit.why_not(dep, context),
                 "suggestions": fit.suggestions(dep, context) if not fit.fits_context(dep, context) else [],
                 "warning": ""}
    if hw.interconnect == "pcie" and dep.tp > 1:
        out["warning"] = (f"{dep.gpu.name} has no NVLink: at TP {dep.tp} every layer's all-reduce crosses PCIe, "
                          "which this bound does not charge (the expected value does); real decode is slower, more "
                          "so at small batches")
    try:
        power_w, _ = power_of({}, hw, dep.tp)
        hourly = cny_per_hour_for(dep.gpu.name, hw, dep.tp, power_w, cost_options(price))
    except BenchError as e:
        out["price"] = {"basis": price.basis, "cny_per_hour": None, "why": str(e)}
        hourly = None
    else:
        out["price"] = {"basis": hourly.basis, "cny_per_hour": hourly.cny_per_hour, "source": hourly.label,
                        "market": price.market}
    for r in decode_rows:
        ok = hourly is not None and r["fits_kv"]
        r["cny_per_m_output"] = cost.cny_per_m_total(hourly.cny_per_hour, r["tok_s"]) if ok else None
    return out


def expected_costs(decode_rows: list[dict], cny_per_hour: float | None) -> None:
    """Fills `cny_per_m_output_expected` in `decode_rows`: the TP group's hourly price / output tokens an hour at
    the expected decode rate (price / (expected tok/s x 3,600 / 1e6)), beside the bound's floor; None where there
    is no price or the batch's KV does not fit."""
    from bench.cost import formulas as cost

    for r in decode_rows:
        ok = cny_per_hour is not None and r["fits_kv"] and r.get("expected_tok_s")
        r["cny_per_m_output_expected"] = cost.cny_per_m_total(cny_per_hour, r["expected_tok_s"]) if ok else None


def cmd_explain(args) -> int:
    import json

    from bench.config import catalog
    from bench.display.run import print_explain
    from bench.roofline import bound as roofline
    from bench.roofline import predict
    from bench.roofline.explain import explain as explain_numbers

    opts: ExplainOptions = parsed(args, ExplainOptions, "bench explain")
    price = parsed(args, GpuHourOptions, "bench explain")
    if opts.context is not None and opts.context < 1:
        raise BenchError(f"--context must be a positive number of tokens, got {opts.context}")
    model = catalog.resolve_model(opts.model)
    gpu = predict.require_gpu(opts.hardware)
    dtype = model.dtype if model.dtype != "auto" else predict.model_dtype({}, model.config)
    context = opts.context or min(DEFAULT_EXPLAIN_CONTEXT, model.max_model_len)
    limit = model.config.get("max_position_embeddings")
    if limit and context > int(limit):
        raise BenchError(f"--context {context} exceeds the model's max_position_embeddings {limit}")
    tp = opts.tensor_parallel_size or model.tensor_parallel_size
    split = tensor_parallel_problem(model.config, tp)
    if split:
        raise BenchError(tp_refusal(model, tp, split))
    dep = roofline.Deployment(cfg=model.config, gpu=gpu,
                              tensor_parallel_size=opts.tensor_parallel_size or model.tensor_parallel_size,
                              weight_dtype=(predict.QUANTIZATION_WEIGHTS[opts.quantization] if opts.quantization
                                            else opts.weight_dtype or predict.weight_format({}, dtype, model.config)),
                              kv_cache_dtype=opts.kv_cache_dtype,
                              model_dtype=dtype, gpu_memory_utilization=opts.gpu_memory_utilization,
                              attention_data_parallel=opts.attention_data_parallel)
    out = {"model": model.name, **explain_numbers(dep, context, tuple(opts.batch))}
    out.update(fit_and_cost(dep, context, price, out["decode"]))
    prof = predict.load_profile(opts.profile)
    eff = prof.efficiency_for("vllm")
    for r in out["decode"]:  # the current vLLM's expected rate beside each bound
        r["expected_tok_s"] = predict.expected_decode_tok_s(dep, r["batch"], context, eff)
    expected_costs(out["decode"], out["price"].get("cny_per_hour"))
    out["expected_decode_tok_s"] = {str(r["batch"]): r["expected_tok_s"] for r in out["decode"]}
    out["calibration"] = prof.name
    if opts.format == "json":
        print(json.dumps(out, indent=2))
    else:
        print_explain(out)
    return 0
