"""`bench serve`'s terminal output: one line per level as it ends, then the table and the verdict.
Formatting only; every number comes from the rows."""

from __future__ import annotations

from rich.table import Table

from bench.analysis.slo import cost_of
from bench.config.engines import is_predicted
from bench.core.formats import cny, given, ms, num, pct
from bench.display.run import console


def level_name(row: dict) -> str:
    if row.get("load_mode") == "trace":
        return "trace"
    if row.get("load_mode") == "rate":
        return f"rate {given(float(row['request_rate']))}/s" if row["request_rate"] != "inf" else "rate inf"
    return f"conc. {row.get('concurrency')}"


FAILURE_CLASSES = (("errors_http", "http"), ("errors_connection", "connection"), ("errors_timeout", "timeout"),
                   ("errors_stream", "stream"), ("cancelled", "cancelled"))


def failure_classes(row: dict) -> str:
    """' (8 http, 4 connection)': the failed requests' classes, as the row counts them; '' when none failed."""
    parts = [f"{row[c]} {name}" for c, name in FAILURE_CLASSES if row.get(c)]
    return f" ({', '.join(parts)})" if parts else ""


def print_level(outcome) -> None:
    r = outcome.row
    if r["status"] == "failed" or r["status"] == "oom":
        counts = (f" {r['completed']} ok / {r['failed']} failed{failure_classes(r)}, {r['unsent']} not sent:"
                  if r.get("completed") is not None else "")
        console.print(f"{level_name(r)}: [red]{r['status']}[/red]{counts} {str(r['error'])[:300]}")
    else:
        colour = "green" if r["status"] == "ok" else "yellow"
        console.print(f"{level_name(r)}: [{colour}]{r['status']}[/{colour}] {r['completed']} ok / {r['failed']} failed"
                      f"{failure_classes(r)}, "
                      f"{num(r['output_tok_s'])} output tok/s, TTFT p50 {ms(r['ttft_p50_ms'])} ms, "
                      f"TPOT p50 {ms(r['tpot_p50_ms'])} ms")
    for w in outcome.warnings:
        console.print(f"[yellow]warning[/yellow]: {w}")


def _pair(a, b) -> str:
    return f"{ms(a)} / {ms(b)}"


def _band(row: dict, figure: str) -> str:
    """'12.1-15.8 ms', or '12.1 ms-unbounded' where the slow edge cannot sustain the level's rate ('unbounded at
    both edges' where neither can: a band wholly below the prediction)."""
    low, high = row[f"predicted_band_low_{figure}_p99_ms"], row[f"predicted_band_high_{figure}_p99_ms"]
    if low in ("inf", float("inf")):
        return "unbounded at both edges (above the capacity there)"
    if high in ("inf", float("inf")):
        return f"{ms(low)} ms-unbounded (above the capacity there)"
    return f"{ms(low)}-{ms(high)} ms"


def print_sweep(outcome, hardware: str | None, slo_attainment: float) -> None:
    rows = [o.row for o in outcome.levels]
    if not rows:
        return
    first = rows[0]
    where = first["endpoint"] or f"vLLM {first['vllm_version'] or ''} server on {first['device_name'] or first['device']}"
    if is_predicted(first["engine"]):  # a prediction, named by what timed it
        where = (f"the simulated server on {first['device_name']} (predicted: {first['engine_version']}, capacity "
                 f"{num(first['predicted_capacity_req_s'])} requests/s)")
    t = Table(title=f"{first['model']} via {where}: {first['num_prompts']} requests a level, {first['input_len']} in / "
                    f"{first['output_len']} out; latencies in ms", title_justify="left")
    cols = ["level", "status", "ok/fail", "req/s", "out tok/s", "TTFT p50/p99", "TPOT p50/p99", "ITL p50/p99",
            "E2E p50/p99", "goodput", "SLO met", "KV max", "preempt"]
    if hardware:
        cols.append("CNY/M")
    for c in cols:
        t.add_column(c, justify="left" if c in ("level", "status") else "right", no_wrap=c == "level")
    for r in rows:
        kv = r.get("server_kv_cache_usage_max")
        limited = r.get("rate_limited") or str(r.get("error") or "").startswith("rate-limited")  # a warm-up's 429s
        status = r["status"] + (" (rate-limited)" if limited else "")
        cells = [level_name(r), status, f"{num(r['completed'])}/{num(r['failed'])}", num(r["requests_per_s"]),
                 num(r["output_tok_s"]), _pair(r["ttft_p50_ms"], r["ttft_p99_ms"]),
                 _pair(r["tpot_p50_ms"], r["tpot_p99_ms"]), _pair(r["itl_p50_ms"], r["itl_p99_ms"]),
                 _pair(r["e2e_p50_ms"], r["e2e_p99_ms"]), _goodput(r),
                 _met(r), pct(kv), num(r.get("server_preemptions"))]
        if hardware:
            cells.append(cny(cost_of(r)))
        t.add_row(*cells)
    console.print(t)
    notes = (["goodput: requests/s meeting the SLO (how many of the level's requests did); a failed request never "
              "does"] if first.get("slo_ttft_ms") or first.get("slo_tpot_ms") else [])
    if hardware:
        notes.append(f"CNY/M: blended {first.get('cost_mix') or '3:1'} input:output on {hardware}, over the tokens of "
                     "the ok requests only (ok/fail)")
    if notes:
        console.print("; ".join(notes))
    bands = [f"{level_name(r)}: TTFT p99 {_band(r, 'ttft')}, TPOT p99 {_band(r, 'tpot')}" for r in rows
             if r.get("predicted_band_low_ttft_p99_ms") not in (None, "")]
    if bands:  # a simulated server's latencies with every engine step at the edges of its calibration's band
        console.print(f"with every engine step at the edges of {first['prediction_calibration']}'s band: "
                      + "; ".join(bands))
    if first.get("slo_ttft_ms") or first.get("slo_tpot_ms"):
        console.print(f"SLO: TTFT <= {ms(first['slo_ttft_ms'])} ms and TPOT <= {ms(first['slo_tpot_ms'])} ms "
                      f"for at least {pct(slo_attainment)} of a level's requests")
    if outcome.search is not None:
        print_search(outcome.search, first)
    if hardware:
        _print_cheapest(outcome, hardware)


def print_search(search: dict, first: dict) -> None:
    """The --find-max-load verdict: the boundary, the levels it took, the bracket and why the search stopped."""
    unit = "requests/s (Poisson)" if search["axis"] == "rate" else "concurrent streams"
    targets = " and ".join(t for t in (f"TTFT p99 bound <= {ms(first.get('slo_ttft_ms'))} ms"
                                       if first.get("slo_ttft_ms") else "",
                                       f"TPOT p99 bound <= {ms(first.get('slo_tpot_ms'))} ms"
                                       if first.get("slo_tpot_ms") else "") if t)
    steps = len(search["steps"])
    if search["boundary"] is None:
        console.print(f"[yellow]max load: none found[/yellow] for {targets} in {steps} levels ({search['stopped']})")
        return
    lo, hi = search["bracket"] or (None, None)
    above = f", the lowest failing {num(hi)}" if hi is not None else ""
    label = f"predicted: {first['engine_version']}" if is_predicted(first.get("engine") or "") else "measured"
    pooled = next((s.get("pooled") for s in search["steps"] if s["run_id"] == search["boundary_run_id"]), None)
    confirmed = "" if not pooled else " and ".join(
        f"{name} p99 bound {ms(pooled[key])} ms" for name, key in (("TTFT", "ttft_p99_bound_ms"),
                                                                  ("TPOT", "tpot_p99_bound_ms")) if pooled.get(key)
    ) + f" over its {pooled['runs']} runs' requests pooled; "
    console.print(f"max load meeting {targets}: [bold]{num(search['boundary'])} {unit}[/bold] ({label}, row "
                  f"{search['boundary_run_id']}, slo_boundary true), found in {steps} levels{above}; {confirmed}"
                  f"stopped: {search['stopped']}")


def _goodput(r: dict) -> str:
    """Goodput with the number of good requests it stands on (slo_attainment x the level's requests)."""
    if r.get("goodput_req_s") is None or r.get("slo_attainment") is None:
        return num(r.get("goodput_req_s"))
    return f"{num(r['goodput_req_s'])} ({round(r['slo_attainment'] * r['num_prompts'])})"


def _met(r: dict) -> str:
    if r.get("meets_slo") is None:
        return "-"
    return f"{'yes' if r['meets_slo'] else 'no'} ({pct(r['slo_attainment'])})"


def _print_cheapest(outcome, hardware: str) -> None:
    best = outcome.cheapest
    slo_given = any(o.row.get("meets_slo") is not None for o in outcome.levels)
    if best is None:
        why = "no level met the SLO" if slo_given else "no level could be priced"
        console.print(f"[yellow]{why}[/yellow] on {hardware}; lower the load or relax the SLO")
        return
    from bench.config.hardware import load_hardware

    unit = "GPU-hour" if load_hardware().hardware[best["hardware"]].kind == "gpu" else "server-hour"
    what = "cheapest level meeting the SLO" if slo_given else "cheapest level (no SLO given)"
    console.print(f"{what}: [bold]{level_name(best)}[/bold] at [bold]{cny(cost_of(best))} CNY per M tokens[/bold] "
                  f"(blended {best['cost_mix']} input:output, {best['hardware']} {best['cost_basis']}, "
                  f"{cny(best['gpu_cny_per_hour'])} CNY per {unit}): the self-hosted price to set beside vendors "
                  "(`bench prices`)")
    if best.get("gpu_price_source"):
        console.print(f"  price: {best['gpu_price_source']}, {best.get('gpu_price_date')}; FX {best['fx_cny_per_usd']} "
                      f"CNY/USD ({best.get('fx_date')})", soft_wrap=True)
