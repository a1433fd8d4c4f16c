"""One results row per load level: bench run's columns where they mean the same, the serving
columns (results.SERVE_COLUMNS) after them, and the cost columns of `--hardware`."""

from __future__ import annotations

import datetime as dt
import math

from bench.results import store as results
from bench.config.catalog import ResolvedModel
from bench.cost.pricing import run_cost_columns
from bench.config.run import case_key
from bench.config.serve import ServeConfig
from bench.serve.load import Level

# Row keys copied from compute_serve_metrics() as they are.
METRIC_COLUMNS = (
    "input_tokens", "output_tokens", "elapsed_s", "requests_per_s", "input_tok_s", "output_tok_s", "total_tok_s",
    "ttft_mean_ms", "ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "tpot_mean_ms", "tpot_p50_ms", "tpot_p99_ms",
    "itl_mean_ms", "itl_p50_ms", "itl_p99_ms", "e2e_mean_ms", "e2e_p50_ms", "e2e_p99_ms", "completed", "failed",
    "goodput_req_s", "slo_attainment", "meets_slo", "mean_concurrency", "unsent", "client_overhead_per_token_ms",
    "client_loop_lag_p50_ms", "client_overhead_pct_itl",
)
SERVER_COLUMNS = ("server_kv_cache_usage_max", "server_running_max", "server_waiting_max", "server_preemptions")


def level_key(cfg: ServeConfig, model: ResolvedModel, level: Level) -> str:
    """bench run's case key over the serve options with this one level."""
    one = cfg.model_copy(update={"request_rates": [level.value] if level.kind == "rate" else None,
                                 "concurrencies": [int(level.value)] if level.kind == "concurrency" else None})
    return case_key(one, model)


def serve_row(*, run_id: str, sweep_id: str, when: dt.datetime, cfg: ServeConfig, model: ResolvedModel,
              level: Level, weights: str, engine: str, endpoint_url: str, api_model: str, metrics: dict,
              server: dict, facts: dict, env: dict, status: str, error: str, engine_start_s: float | None,
              peak_memory: tuple[int | None, str]) -> dict:
    from bench.execution.case import analytic_kv

    device = facts.get("device") or ""
    peak, source = peak_memory
    row = {
        "schema_version": results.SCHEMA_VERSION, "run_id": run_id, "timestamp": when.isoformat(timespec="seconds"),
        "model": model.name, "engine": engine, "device": device,
        "device_name": facts.get("device_name") or (env.get("cpu_model") if device == "cpu" else None),
        "weights": weights, "dtype": cfg.dtype, "kv_cache_dtype": cfg.kv_cache_dtype,
        "tensor_parallel_size": cfg.tensor_parallel_size, "pipeline_parallel_size": cfg.pipeline_parallel_size,
        "input_len": cfg.input_len, "output_len": cfg.output_len, "num_prompts": cfg.num_prompts,
        "length_dist": cfg.length_dist, "seed": cfg.seed, "max_num_seqs": cfg.max_num_seqs,
        "max_model_len": cfg.max_model_len,
        "kv_capacity_tokens": facts.get("kv_capacity_tokens"),
        "kv_bytes_per_token_analytic": analytic_kv(cfg, model) if engine == "vllm-server" else None,
        "peak_memory_gb": peak / 1e9 if peak else None, "peak_memory_source": source if peak else None,
        "vllm_version": facts.get("vllm_version"), "torch_version": facts.get("torch_version"),
        "git_sha": env.get("git_sha"), "config_hash": level_key(cfg, model, level), "status": status,
        "error": " ".join(str(error or "").split())[:1000], "hub_id": model.hub_id,
        "architecture": model.architecture, "engine_start_s": engine_start_s, "gpu_count": facts.get("gpu_count"),
        "driver_version": facts.get("driver_version"), "cpu_model": env.get("cpu_model"),
        "hostname": env.get("hostname"), "config_sha": model.config_sha,
        "sweep_id": sweep_id, "endpoint": endpoint_url, "api_model": api_model, "load_mode": level.kind,
        "request_rate": _rate(level.value) if level.kind == "rate" else None, "burstiness": cfg.burstiness
        if level.kind == "rate" else None, "concurrency": int(level.value) if level.kind == "concurrency" else None,
        "slo_ttft_ms": cfg.slo_ttft_ms, "slo_tpot_ms": cfg.slo_tpot_ms,
        "warmup_requests": cfg.warmup_requests if cfg.warmup else 0,
    }
    row.update({k: metrics.get(k) for k in METRIC_COLUMNS})
    row.update({k: server.get(k) for k in SERVER_COLUMNS})
    row.update(run_cost_columns(row, cfg.hardware))
    return row


def _rate(v: float) -> float | str:
    return "inf" if math.isinf(v) else v


def cost_of(row: dict) -> float | None:
    """The figure levels are compared on: blended CNY/M at the default mix, else CNY/M of any token."""
    for k in ("cny_per_m_blended", "cny_per_m_total"):
        v = row.get(k)
        if v is not None and v != "" and math.isfinite(float(v)):
            return float(v)
    return None


def cheapest_meeting_slo(rows: list[dict]) -> dict | None:
    """The ok level with the lowest cost among those that meet the SLO (all ok levels when no SLO was given)."""
    slo_given = any(r.get("meets_slo") is not None for r in rows)
    fit = [r for r in rows if r.get("status") == "ok" and cost_of(r) is not None
           and (r.get("meets_slo") is True or not slo_given)]
    return min(fit, key=cost_of) if fit else None
