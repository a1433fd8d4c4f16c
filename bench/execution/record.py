"""One constructor per kind of results row: `offline_row` (a bench run / sweep case) and `serve_row`
(one bench serve load level). Both return the row in CSV order with exactly the columns schema.py
declares for their writer: a column left unfilled, or one outside the declaration, raises
IncompleteRow at once, so a new column cannot be forgotten by one writer.

Columns whose declared source is a dict the writer computed (metrics, server, cost, energy, roofline)
are copied from it by name; the rest are set here, the parts both writers share by shared helpers.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys

from bench.config.catalog import ResolvedModel
from bench.config.run import RunConfig, case_key, draft_tokens, mtp_draft_layers
from bench.measure import hostload, speculative
from bench.cost.pricing import run_cost_columns
from bench.config.engines import engine_version, is_predicted, modelled_engine
from bench.measure.telemetry import energy_columns
from bench.results.schema import BY_NAME, RUN, SCHEMA_VERSION, SERVE, columns_of, names_of
from bench.roofline import predict
from bench.model import modelmath

SEARCH_COLUMNS = ("search_step", "search_passed", "slo_boundary")  # set on a --find-max-load level's row
ERROR_CHARS = 1000  # an error cell stays one readable line; the full text is in the JSON and the log
UNKNOWN_VERSION = "unknown"


class IncompleteRow(ValueError):
    """A row builder and the schema disagree: a bug in bench, never the user's input."""


def analytic_kv(cfg: RunConfig, model: ResolvedModel) -> int | None:
    """KV bytes per token from the config (bench.model.modelmath), at the case's dtypes and TP; an MTP draft's
    layers included (--speculative-config method mtp)."""
    dtype = cfg.dtype if cfg.dtype != "auto" else model.dtype
    method = json.loads(cfg.speculative_config)["method"] if cfg.speculative_config else None
    return derived("kv_bytes_per_token_analytic", None, modelmath.kv_bytes_per_token, model.config,
                   cfg.kv_cache_dtype, dtype, cfg.tensor_parallel_size or 1, False, 0,
                   mtp_draft_layers(model.config, method))


def derived(what: str, fallback, compute, *args):
    """`compute(*args)`, or `fallback` with a note on stderr when it fails: a column derived from a measured row
    (its analytic KV, roofline, energy, cost) must never cost the row itself. The checks before a case runs
    (catalog.read_config: config_checks.config_problems) keep this for inputs nobody foresaw."""
    try:
        return compute(*args)
    except Exception as e:  # noqa: BLE001 - any failure here would lose a row that was measured
        text = " ".join(f"{type(e).__name__}: {e}".split())[:200]
        print(f"note: {what} left empty ({text}); the measured row is kept", file=sys.stderr)
        return fallback


def complete(writer: str, values: dict, sources: dict[str, dict]) -> dict:
    """`values` plus the columns copied from each source dict, checked against the declaration, in CSV order."""
    copied = _copied(writer, sources)
    clash = sorted(set(copied) & set(values))
    if clash:
        raise IncompleteRow(f"{writer} row: {clash[0]} is set by hand and declared as copied from "
                            f"{BY_NAME[clash[0]].source}")
    row = {**values, **copied}
    declared = names_of(writer)
    missing, extra = set(declared) - set(row), set(row) - set(declared)
    if missing or extra:
        raise IncompleteRow(f"{writer} row disagrees with bench/results/schema.py: unfilled {sorted(missing)}, "
                            f"undeclared {sorted(extra)}")
    wrong = [f"{c.name}={row[c.name]!r}" for c in columns_of(writer) if c.numeric and not _number_or_none(row[c.name])]
    if wrong:
        raise IncompleteRow(f"{writer} row: not a number in a numeric column: {', '.join(wrong)}")
    return {name: row[name] for name in declared}


def _copied(writer: str, sources: dict[str, dict]) -> dict:
    """The columns `writer` copies by name from each computed dict (their declared source)."""
    return {name: found.get(name) for source, found in sources.items() for name in names_of(writer, source)}


def _number_or_none(v) -> bool:
    """None, an int or a float (not a bool), or "inf" (an unbounded request rate, as the CSV writes it)."""
    return v is None or v == "inf" or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _identity(run_id: str, when: dt.datetime, repeat_index: int = 0) -> dict:
    return {"schema_version": SCHEMA_VERSION, "run_id": run_id, "timestamp": when.isoformat(timespec="seconds"),
            "repeat_index": repeat_index}


def _case(cfg: RunConfig, model: ResolvedModel, weights: str, config_hash: str, workload: dict) -> dict:
    """What was asked: the model and the resolved options both writers record alike (with a dataset, its mean
    lengths as input_len/output_len)."""
    return {
        "model": model.name, "hub_id": model.hub_id, "architecture": model.architecture,
        "config_sha": model.config_sha, "weights": weights, "config_hash": config_hash,
        "dtype": cfg.dtype, "kv_cache_dtype": cfg.kv_cache_dtype, "tensor_parallel_size": cfg.tensor_parallel_size,
        "pipeline_parallel_size": cfg.pipeline_parallel_size, "max_model_len": cfg.max_model_len,
        "input_len": workload.get("input_len") or cfg.input_len,
        "output_len": workload.get("output_len") or cfg.output_len,
        "num_prompts": workload.get("num_prompts") or cfg.num_prompts,
        "length_dist": cfg.length_dist, "seed": cfg.seed,
    }


def _host(env: dict) -> dict:
    return {"git_sha": env.get("git_sha"), "cpu_model": env.get("cpu_model"), "hostname": env.get("hostname")}


def _status(status: str | None, error) -> dict:
    return {"status": status, "error": " ".join(str(error or "").split())[:ERROR_CHARS]}


def _priced(writer: str, values: dict, sources: dict[str, dict], cfg: RunConfig) -> dict:
    """The row with its cost columns: priced from its own measured cells on --hardware, as the case's pricing
    options say (bench.cost.pricing)."""
    unpriced = {**values, **_copied(writer, sources)}
    return complete(writer, values, {**sources, "cost": derived("cost columns", {}, run_cost_columns, unpriced,
                                                                cfg.hardware, cfg)})


def offline_row(*, run_id: str, when: dt.datetime, cfg: RunConfig, model: ResolvedModel, weights: str, out: dict,
                env: dict, workload: dict | None = None) -> dict:
    """The row of one offline case from the worker's JSON `out` (any status) and the host's `env`; `workload`:
    bench.workload.source.Workload.columns() of its requests."""
    workload = workload or {}
    m = out.get("metrics") or {}
    kv = out.get("kv") or {}
    info = out.get("engine_info") or {}
    gpu = out.get("gpu_env") or {}
    device = info.get("device") or (cfg.device if cfg.device != "auto" else "")
    device_name = info.get("device_name") or (gpu.get("device_name") if device == "cuda" else env.get("cpu_model"))
    peak = out.get("peak_memory_bytes")
    allocated = kv.get("allocated_bytes")
    values = {
        **_identity(run_id, when, cfg.repeat_index), **_case(cfg, model, weights, case_key(cfg, model), workload),
        **_host(env),
        **_status(out.get("status"), out.get("error")),
        "engine": cfg.engine,
        "engine_version": info.get("engine_version") or out.get("engine_version") or engine_version(cfg.engine),
        "device": device, "device_name": device_name,
        "max_num_seqs": info.get("max_num_seqs") or cfg.max_num_seqs,
        "kv_block_size": kv.get("block_size"), "kv_num_blocks": kv.get("num_blocks"),
        "kv_capacity_tokens": kv.get("capacity_tokens"), "kv_bytes_per_token": kv.get("bytes_per_token"),
        "kv_bytes_per_token_analytic": analytic_kv(cfg, model),
        "kv_cache_gb": allocated / 1e9 if allocated else None,
        "peak_memory_gb": peak / 1e9 if peak else None, "peak_memory_source": out.get("peak_memory_source"),
        "vllm_version": info.get("vllm_version"), "torch_version": info.get("torch_version"),
        "engine_start_s": out.get("engine_start_s"), "warmup_s": out.get("warmup_s"),
        "gpu_count": gpu.get("gpu_count"), "driver_version": gpu.get("driver_version"),
        # the engine's step-by-step input/output split, when it reports one (sim; vLLM 0.32+)
        "prefill_s": info.get("prefill_s"), "decode_s": info.get("decode_s"),
        "split_method": info.get("split_method"),
        "prefix_caching": ("on" if cfg.enable_prefix_caching else "off") if modelled_engine(cfg.engine) == "vllm" else None,
        **speculative.columns(info.get("spec_decode")),
    }
    sources = {
        "metrics": m,
        "energy": derived("energy columns", {}, energy_columns, out.get("telemetry"), m.get("output_tokens"),
                          out.get("telemetry_note") or "", m.get("input_tokens")),
        "roofline": {**derived("roofline columns", {}, predict.roofline_columns, cfg.model_dump(), model.config,
                               device, device_name, out),
                     **derived("predicted columns", {}, predict.prediction_columns, cfg.model_dump(), model.config,
                               device, device_name, out)},
        "workload": workload,
        "host": {**hostload.NOT_MEASURED, **(out.get("host_load") or {})},
    }
    return _priced(RUN, values, sources, cfg)


def serve_row(*, run_id: str, sweep_id: str, when: dt.datetime, cfg, model: ResolvedModel, level, weights: str,
              engine: str, endpoint_url: str, api_model: str, metrics: dict, server: dict, facts: dict, env: dict,
              status: str, error: str, engine_start_s: float | None, peak_memory: tuple[int | None, str],
              workload: dict | None = None, energy: dict | None = None, search: dict | None = None,
              roofline: dict | None = None, host: dict | None = None) -> dict:
    """The row of one serve level (`cfg` a ServeConfig, `level` a config.serve.Level). `facts`: what is known of
    the server (device, versions, KV capacity from its log); `metrics`: measure.streaming's figures;
    `workload`: bench.workload.source.Workload.columns() of its requests; `energy`: bench.measure.level_energy's
    columns; `search`: a --find-max-load level's search_step, search_passed, slo_boundary; `roofline`: the
    simulated server's calibration, band and capacity (bench serve --engine sim); `host`: bench.measure.hostload's
    columns over the level's window."""
    workload = workload or {}
    search = search or {}
    device = facts.get("device") or ""
    peak, source = peak_memory
    rate = level.kind == "rate"
    values = {
        **_identity(run_id, when, level.repeat),
        **_case(cfg, model, weights, level_key(cfg, model, level), workload),
        **_host(env),
        **_status(status, error),
        "engine": engine,
        "engine_version": facts.get("engine_version") or facts.get("vllm_version") or UNKNOWN_VERSION,
        "device": device,
        "device_name": facts.get("device_name") or (env.get("cpu_model") if device == "cpu" else None),
        "max_num_seqs": cfg.max_num_seqs,
        "kv_capacity_tokens": facts.get("kv_capacity_tokens"),
        "kv_bytes_per_token_analytic": analytic_kv(cfg, model) if engine == "vllm-server" or is_predicted(engine) else None,
        "peak_memory_gb": peak / 1e9 if peak else None, "peak_memory_source": source if peak else None,
        "vllm_version": facts.get("vllm_version"), "torch_version": facts.get("torch_version"),
        "engine_start_s": engine_start_s, "gpu_count": facts.get("gpu_count"),
        "driver_version": facts.get("driver_version"),
        "sweep_id": sweep_id, "endpoint": endpoint_url, "api_model": api_model, "load_mode": level.kind,
        "request_rate": _rate(level.value) if rate else None, "burstiness": cfg.burstiness if rate else None,
        "concurrency": int(level.value) if level.kind == "concurrency" else None,
        "slo_ttft_ms": cfg.slo_ttft_ms, "slo_tpot_ms": cfg.slo_tpot_ms,
        "warmup_requests": cfg.warmup_requests if cfg.warmup else 0,
        "max_failure_rate": cfg.max_failure_rate,
        "prefix_caching": ("on" if cfg.enable_prefix_caching else "off")
        if engine == "vllm-server" or is_predicted(engine) else None,
        **speculative.columns(_served_spec(cfg, model, server)),
        **{k: search.get(k) for k in SEARCH_COLUMNS},
    }
    return _priced(SERVE, values, {"metrics": metrics, "server": server, "workload": workload,
                                   "energy": energy or {}, "roofline": roofline or {},
                                   "host": {**hostload.NOT_MEASURED, **(host or {})}}, cfg)


def level_key(cfg, model: ResolvedModel, level) -> str:
    """bench run's case key over the serve options with this one level."""
    one = cfg.model_copy(update={"request_rates": [level.value] if level.kind == "rate" else None,
                                 "concurrencies": [int(level.value)] if level.kind == "concurrency" else None})
    return case_key(one, model)


def case_record(row: dict, *, config: dict, model: ResolvedModel | None, environment: dict, log: str | None,
                requests: list, with_model_config: bool = False, **parts) -> dict:
    """The JSON beside a row (<csv folder>/<run_id>.json), for both writers: the schema version, the row, the
    resolved config, the model, the environment, the log's name and the per-request records, then the
    writer's own `parts` (engine facts, timings, level, server metrics...)."""
    facts = None
    if model is not None:
        facts = {"name": model.name, "hub_id": model.hub_id, "family": model.family,
                 "architecture": model.architecture, "config_sha": model.config_sha}
        if with_model_config:
            facts["config"] = model.config
    head = {"schema_version": SCHEMA_VERSION, "row": row, "config": config, "model": facts,
            "environment": environment}
    return {**head, **parts, "log": log, "requests": requests}


def _served_spec(cfg, model: ResolvedModel, server: dict) -> dict | None:
    """A level's speculative figures from the server's counters (bench.serve.prometheus), for a local server run
    with --speculative-config; None otherwise (an endpoint's speculation is not bench's to know)."""
    if not getattr(cfg, "speculative_config", None) or server.get("server_spec_drafts") is None:
        return None
    spec = json.loads(cfg.speculative_config)
    return speculative.from_server(server, spec["method"], draft_tokens(spec, model.config)).to_dict()


def _rate(v: float) -> float | str:
    return "inf" if math.isinf(v) else v
