"""Readable terminal output (rich tables). Formatting only; no numbers are computed here."""

from __future__ import annotations

from rich.table import Table

from bench.config.engines import is_predicted
from bench.core.console import make_console
from bench.core.formats import cny, ms, num, pct, si

console = make_console()


def engine_label(row: dict) -> str:
    """`vllm 0.32.0`, `hf 5.19.0` (transformers), `sim roofline-3+published-fit-3`, ... for titles."""
    version = row.get("engine_version") or ""
    return f"{row['engine']} {'' if version == 'unknown' else version}".strip()


def kv_text(r: dict) -> str:
    if r["kv_num_blocks"] in (None, ""):  # a cache without blocks (transformers' DynamicCache): what it held
        return f"{num(r['kv_capacity_tokens'])} tokens held by the largest batch ({num(r['kv_cache_gb'])} GB)"
    return (f"{num(r['kv_capacity_tokens'])} tokens in {num(r['kv_num_blocks'])} blocks of "
            f"{num(r['kv_block_size'])} ({num(r['kv_cache_gb'])} GB)")


def workload_text(r: dict) -> str:
    """'32 prompts x 128 in / 64 out (fixed), max_num_seqs 8'; a dataset: its name, mean and p99 lengths."""
    seqs = f"max_num_seqs {r['max_num_seqs']}"
    if r.get("dataset") in (None, "", "random"):
        return f"{r['num_prompts']} prompts x {r['input_len']} in / {r['output_len']} out ({r['length_dist']}), {seqs}"
    src = f"{r['dataset']}:{r['dataset_file']}" if r.get("dataset_file") else r["dataset"]
    return (f"{src}: {r['num_prompts']} prompts, mean {r['input_len']} in / {r['output_len']} out, p99 "
            f"{num(r.get('input_len_p99'))} / {num(r.get('output_len_p99'))}, {seqs}")


def print_case(outcome) -> None:
    r = outcome.row
    if is_predicted(r["engine"]):
        cal = r.get("prediction_calibration") if "+" in str(r.get("engine_version") or "") else None
        what = f"expected, {cal}" if cal else "roofline prediction"
    else:
        what = f"{r['weights']} weights"
    t = Table(title=f"{r['model']} on {r['device_name'] or r['device']} "
                    f"({engine_label(r)}, {what})",
              show_header=False, title_justify="left")
    t.add_column("metric", style="bold")
    t.add_column("value", justify="right")
    if r["status"] != "ok":
        t.add_row("status", f"[red]{r['status']}[/red]")
        t.add_row("error", str(r["error"])[:300])
        if outcome.log_path:
            t.add_row("engine log", str(outcome.log_path))
        console.print(t)
        return
    t.add_row("workload", workload_text(r))
    if r.get("prefix_cache_hit_rate") is not None and r.get("prefix_caching") == "on":
        t.add_row("prefix cache", f"{pct(r['prefix_cache_hit_rate'])} hit rate, "
                                  f"{num(r['cached_prompt_tokens'])} prompt tokens cached")
    t.add_row("elapsed", f"{num(r['elapsed_s'])} s")
    t.add_row("throughput", f"{num(r['output_tok_s'])} output tok/s | {num(r['total_tok_s'])} total tok/s | "
                            f"{num(r['requests_per_s'])} req/s")
    t.add_row("TTFT p50 / p90 / p99", f"{ms(r['ttft_p50_ms'])} / {ms(r['ttft_p90_ms'])} / {ms(r['ttft_p99_ms'])} ms")
    t.add_row("TPOT p50 / p99", f"{ms(r['tpot_p50_ms'])} / {ms(r['tpot_p99_ms'])} ms")
    t.add_row("E2E mean / p99", f"{ms(r['e2e_mean_ms'])} / {ms(r['e2e_p99_ms'])} ms")
    t.add_row("KV cache", kv_text(r))
    t.add_row("KV bytes/token", f"{num(r['kv_bytes_per_token'])} allocated | "
                                f"{num(r['kv_bytes_per_token_analytic'])} analytic ({r['kv_cache_dtype']})")
    t.add_row("peak memory", f"{num(r['peak_memory_gb'])} GB ({r['peak_memory_source']})")
    if r.get("predicted_output_tok_s") is not None and not is_predicted(r["engine"]):
        t.add_row("predicted", f"{num(r['predicted_output_tok_s'])} output tok/s (band "
                  f"{num(r['predicted_band_low_tok_s'])}-{num(r['predicted_band_high_tok_s'])}, "
                  f"{r['prediction_calibration']})")
    if r.get("roofline_output_tok_s") is not None:
        t.add_row("roofline", f"{num(r['roofline_output_tok_s'])} output tok/s on {r.get('hardware') or r['device_name']}"
                              f" | efficiency {pct(r['efficiency'])}")
    if r.get("energy_j") is not None:
        t.add_row("energy", f"{num(r['energy_j'])} J | {num(r['avg_power_w'])} W | "
                            f"{num(r['joules_per_output_token'])} J/output token | GPU util "
                            f"{num(r['gpu_util_pct'])}% ({r['energy_source']})"
                            + (f"; {r['energy_note']}" if r.get("energy_note") else ""))
    elif outcome.record.get("telemetry_note"):
        t.add_row("energy", f"not measured: {outcome.record['telemetry_note']}")
    t.add_row("engine start / warm-up", f"{num(r['engine_start_s'])} s / {num(r['warmup_s'])} s")
    if r.get("host_other_cpu_pct") not in (None, ""):
        t.add_row("machine", machine_text(r))
    t.add_row("cost", cost_text(r))
    console.print(t)


def machine_text(r: dict) -> str:
    """'0.6% of the CPU elsewhere, 0.2% stolen' over the timed run (bench.measure.hostload), and its warning where
    the machine was not quiet beyond the figures' tick rounding over that window."""
    from bench.measure import hostload

    text = f"{num(r['host_other_cpu_pct'])}% of the CPU elsewhere, {num(r['host_steal_pct'])}% stolen"
    why = hostload.warning({**r, "host_bound_pct": hostload.row_bound_pct(r.get("elapsed_s"))})
    return text + (f"; [yellow]{why}[/yellow]" if why else "")


def cost_text(r: dict) -> str:
    """'0.42 CNY/M blended (3:1), 1.98 CNY/GPU-h: SOURCE (rental on-demand ...)' or why the row carries no cost."""
    from bench.cost.pricing import run_cost_why

    if r.get("cny_per_m_total") in (None, ""):
        return run_cost_why(r, r.get("hardware"))
    blended = r.get("cny_per_m_blended")
    head = (f"{cny(blended)} CNY/M blended ({r.get('cost_mix')})" if blended not in (None, "") else
            f"{cny(r['cny_per_m_total'])} CNY/M any token")
    return (f"{head}, {cny(r.get('gpu_cny_per_hour'))} CNY/GPU-h: {r.get('gpu_price_source')}, "
            f"{r.get('gpu_price_date')}")


def print_summary(rows: list[dict]) -> None:
    t = Table(title="summary", title_justify="left")
    for col in ("model", "engine", "max_num_seqs", "status", "output_tok_s", "total_tok_s", "ttft_p50_ms",
                "tpot_p50_ms", "kv_bytes_per_token", "peak_memory_gb", "joules_per_output_token"):
        t.add_column(col, justify="left" if col in ("model", "engine", "status") else "right")
    for r in rows:
        t.add_row(r["model"], r["engine"], num(r["max_num_seqs"]), r["status"], num(r["output_tok_s"]),
                  num(r["total_tok_s"]), ms(r["ttft_p50_ms"]), ms(r["tpot_p50_ms"]),
                  num(r["kv_bytes_per_token"]), num(r["peak_memory_gb"]),
                  num(r.get("joules_per_output_token")))
    console.print(t)


def print_models(models, show_tiny: bool = False) -> None:
    from bench.model.modelmath import kv_bytes_per_token

    t = Table(title="model catalog (models.yaml)", title_justify="left")
    for col in ("name", "hub id", "architecture", "dtype", "max_model_len", "TP", "KV B/token", "weights"):
        t.add_column(col)
    for m in models:
        if m.tiny and not show_tiny:
            continue
        kv = kv_bytes_per_token(m.config, "auto", m.dtype, 1)
        t.add_row(m.name, m.hub_id or "-", m.architecture, m.dtype, num(m.max_model_len), str(m.tensor_parallel_size),
                  num(kv), "local" if m.weights_dir else "cache|dummy")
    console.print(t)
    if not show_tiny:
        console.print("tiny test variants hidden; `bench models --all` shows them")


def print_explain(e: dict) -> None:
    """`bench explain`: the model's sizes and the hardware's bounds, from bench.roofline.explain.explain."""
    dp = ", data-parallel attention" if e["attention_data_parallel"] else ""
    t = Table(title=f"{e['model']} on {e['hardware']} x{e['tensor_parallel_size']} "
                    f"(weights {e['weight_dtype']}, KV {e['kv_cache_dtype']}{dp}, context {num(e['context'])})",
              show_header=False, title_justify="left")
    t.add_column("what", style="bold")
    t.add_column("value", justify="right")
    t.add_row("parameters", f"{num(e['params_total'] / 1e9)} billion total | "
                          f"{num(e['params_active'] / 1e9)} billion active per token")
    t.add_row("weights", f"{num(e['weight_bytes'] / 1e9)} GB in all | {num(e['weight_bytes_per_gpu'] / 2**30)} GiB per GPU")
    t.add_row("attention layers", e.get("attention_layers") or "-")
    t.add_row("KV cache per token", f"{num(e['kv_bytes_per_token'])} bytes (all GPUs)")
    per_seq = e.get("kv_bytes_per_sequence")
    if per_seq is not None and per_seq != e["kv_bytes_per_token"] * e["context"]:  # a window, a state or top-k
        t.add_row(f"KV cache per sequence of {num(e['context'])}", f"{num(per_seq / 2**20)} MiB (all GPUs)")
    if not e["fits"]:
        t.add_row("fits", "[red]no: the weights leave no room for a KV cache at "
                          f"gpu_memory_utilization {e['gpu_memory_utilization']}[/red]")
    t.add_row("KV cache", f"{num(e['kv_cache_bytes'] / 2**30)} GiB = {num(e['kv_capacity_tokens'])} tokens")
    t.add_row(f"max sequences of {num(e['context'])}", num(e['max_batch']))
    if e.get("fits_context", True):  # no speed for a setup that does not fit
        t.add_row("prefill bound", f"{num(e['prefill_tok_s_bound'])} tok/s ({e['prefill_bound']}-bound, one prompt)")
        cb = e["compute_bound_from_batch"]
        t.add_row("decode turns compute-bound", f"from batch {num(cb)}" if cb else "never (memory-bound at this context)")
    t.add_row("peak / bandwidth", f"{si(e['peak_flops'], 'FLOPS')} | {si(e['bandwidth_bytes_s'], 'B/s')}")
    console.print(t)
    if e.get("weight_format_note"):
        console.print(f"weights: {e['weight_format_note']}", highlight=False)
    if e.get("warning"):
        console.print(f"[yellow]warning: {e['warning']}[/yellow]")
    if not e.get("fits_context", True):
        console.print(f"[red]does not fit: {e['does_not_fit']}; no speed is given for it[/red]", highlight=False)
        would = e.get("suggestions") or []
        console.print("would fit: " + ("; ".join(would) if would else "none of more TP (up to 8), fp8 or int4 weights, "
                                       "an fp8 KV cache alone; a larger card or a shorter --context"), highlight=False)
        return
    price = e.get("price") or {}
    cost_col = price.get("cny_per_hour") is not None
    d = Table(title="decode bound (one step = max(bytes / bandwidth, FLOPs / peak)) and expected "
                    f"({e.get('calibration', '-')})", title_justify="left")
    for col in ("batch", "step ms", "tok/s", "expected tok/s", "bound", "weights read", "KV read", "fits KV") + \
            (("CNY/M decode-only, bound", "CNY/M decode-only, expected") if cost_col else ()):
        d.add_column(col, justify="right")
    for r in e["decode"]:
        exp = r.get("expected_tok_s")
        cells = [num(r["batch"]), ms(r["step_ms"]), num(r["tok_s"]), num(exp) if exp else "-",
                 r["bound"], si(r["weight_bytes_read"], "B"), si(r["kv_bytes_read"], "B"),
                 "yes" if r["fits_kv"] else "[red]no[/red]"]
        if cost_col:
            cells += [cny(r.get("cny_per_m_output")), cny(r.get("cny_per_m_output_expected"))]
        d.add_row(*cells)
    console.print(d)
    if cost_col:
        console.print(f"cost: {price['basis']} {cny(price['cny_per_hour'])} CNY per hour for {e['tensor_parallel_size']} "
                      f"GPU(s) ({price['source']}) / output tokens an hour, the card fully busy and only decoding (no "
                      f"prefill charged): at the bound (a floor) and at the expected tok/s (calibration "
                      f"{e.get('calibration', '-')}). Not bench cost's 'CNY per M output', which is the decode share "
                      "of a run's time over its output tokens", highlight=False)
    elif price.get("why"):
        console.print(f"cost: {price['why']}", highlight=False)
