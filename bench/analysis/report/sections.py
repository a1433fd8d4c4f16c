"""The performance parts of a report: throughput vs batch, latency vs load, KV bytes per token,
measured vs roofline efficiency, energy. Each returns Sections (chart + note + table); a part
whose data the rows lack returns one section saying so, never an error."""

from __future__ import annotations

from bench.measure import uncertainty
from bench.model import modelmath

from bench.analysis.repeats import rel_hw_column
from bench.analysis.report import plots
from bench.results import schema
from bench.analysis.report.model import (BATCH_LABEL, LOAD_COLUMNS, Run, Section, by_key, interval_note,
                                         machines_text, median_points, rows_of, skipped, slugify)

LOAD_LABELS = dict(LOAD_COLUMNS)


def _offline(runs: list[Run]) -> list[Run]:
    return [r for r in runs if r.load is None and r.batch is not None]


def _series(runs: list[Run], x_of, y_of, dashed: bool = False, marker: str = "o", bars: str | None = None
            ) -> list[plots.Series]:
    """One series per label; `bars` (a column): each point's error bar, its value x the widest 95% t half-width of
    that column (relative, bench.analysis.repeats.rel_hw_column) of the repeated cases at that x (none for cases
    run once)."""
    out = []
    for label, group in by_key(runs, lambda r: r.series).items():
        pts = median_points(group, x_of, y_of)
        if pts:
            yerr = None
            if bars:
                rel = {x: max((r.row.get(rel_hw_column(bars)) or 0.0 for r in g), default=0.0)
                       for x, g in by_key(group, x_of).items()}
                yerr = [p[1] * rel.get(p[0], 0.0) for p in pts]
            out.append(plots.Series(label, [p[0] for p in pts], [p[1] for p in pts], group=label,
                                    dashed=dashed, marker=marker, yerr=yerr))
    return out


def _xticks(runs: list[Run], x_of) -> list[float]:
    return sorted({x_of(r) for r in runs if x_of(r) is not None})


def throughput_sections(runs: list[Run]) -> list[Section]:
    title = "Throughput vs batch size"
    offline = [r for r in _offline(runs) if r.num("output_tok_s") is not None]
    if not offline:
        return [skipped("throughput", title, "no offline row (bench run / sweep) with output_tok_s.")]
    out = []
    for workload, group in by_key(offline, lambda r: r.workload).items():
        chart_title = f"Output throughput vs batch size · {workload} · on {machines_text(group)}"
        batch = Run.batch.fget
        series = _series(group, batch, lambda r: r.num("output_tok_s"), bars="output_tok_s")
        png = plots.line_chart(chart_title, BATCH_LABEL, "output tokens per second (tok/s)", series, logx=True,
                               xticks=_xticks(group, batch))
        rows = []
        for label, g in by_key(group, lambda r: r.series).items():
            for b, runs_b in sorted(by_key(g, batch).items()):
                pts = {col: median_points(runs_b, batch, lambda r, c=col: r.num(c))
                       for col in ("output_tok_s", "total_tok_s", "requests_per_s")}
                rows.append([label, b, *(p[0][1] if p else None for p in pts.values()), rows_of(runs_b)])
        out.append(Section(
            slug=slugify(f"throughput {workload}"), title=f"Throughput vs batch size: {workload}", png=png,
            chart_title=chart_title,
            note="Output tokens per second of the timed run (warm-up excluded) at each batch size cap; the median "
                 "where a case was run more than once. Log-2 x axis." + interval_note(group, "output tok/s"),
            headers=["series", "batch", "output tok/s", "total tok/s", "requests/s", "rows"], rows=rows))
    return out


def _load_axis(group: list[Run]) -> tuple[str, object]:
    """(x label, x of a run): a serving row's load, else the offline batch size cap."""
    if group[0].load is None:
        return BATCH_LABEL, Run.batch.fget
    col = group[0].load[0]
    return LOAD_LABELS[col], (lambda r, c=col: r.num(c))


def _log_if_wide(values: list[float]) -> bool:
    pos = [v for v in values if v and v > 0]
    return bool(pos) and max(pos) / min(pos) > 20


def p99_caveat(runs: list[Run]) -> str:
    """A sentence for rows whose p99 rests on too few requests to mean anything ("" when none)."""
    need = uncertainty.min_samples_reliable(99)
    few = [r for r in runs if any((n := r.num(f"{m}_samples")) is not None and n < need for m in ("ttft", "tpot"))]
    if not few:
        return ""
    return (f" {len(few)} of {len(runs)} rows took their p99 over fewer than {need} requests: there it is the "
            "slowest request or an interpolation towards it, not a property of the load (each row's "
            "ttft_samples, tpot_samples and *_p99_reliable say which).")


def latency_sections(runs: list[Run]) -> list[Section]:
    title = "TTFT and TPOT vs load"
    timed = [r for r in runs if r.num("ttft_p50_ms") is not None or r.num("tpot_p50_ms") is not None]
    timed = [r for r in timed if r.load is not None or r.batch is not None]
    if not timed:
        return [skipped("latency", title, "no row with TTFT/TPOT percentiles.")]
    out = []
    groups = by_key(timed, lambda r: (r.workload, r.load[0] if r.load else ""))
    for (workload, load_col), group in groups.items():
        xlabel, x_of = _load_axis(group)
        panels = []
        for metric, name in (("ttft", "time to first token, TTFT (ms)"), ("tpot", "time per output token, TPOT (ms)")):
            series = (_series(group, x_of, lambda r, m=metric: r.num(f"{m}_p50_ms"), bars=f"{metric}_p50_ms")
                      + _series(group, x_of, lambda r, m=metric: r.num(f"{m}_p99_ms"), dashed=True, marker="^",
                                bars=f"{metric}_p99_ms"))
            ys = [y for s in series for y in s.ys]
            panels.append(plots.Panel(name, series, logy=_log_if_wide(ys), ylim_bottom=0))
        kind = "serving" if load_col else "offline"
        how = "" if load_col else ", all requests submitted at once"
        chart_title = f"Latency vs load ({kind}{how}) · {workload} · on {machines_text(group)}"
        png = plots.line_panels(chart_title, xlabel, panels, logx=not load_col, xticks=_xticks(group, x_of),
                                style_labels=("p50 (median)", "p99"))
        cols = ["ttft_p50_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p99_ms", "itl_p50_ms", "itl_p99_ms"]
        cols = [c for c in cols if any(r.num(c) is not None for r in group)]
        rows = []
        for label, g in by_key(group, lambda r: r.series).items():
            for x, runs_x in sorted(by_key(g, x_of).items()):
                meds = [median_points(runs_x, x_of, lambda r, c=c: r.num(c)) for c in cols]
                rows.append([label, x, *(m[0][1] if m else None for m in meds), rows_of(runs_x)])
        note = ("Solid lines: median (p50); dashed: p99, in milliseconds. TTFT counts from submission, so offline "
                "it includes the wait for a batch slot; TPOT is (last token - first token) / (tokens - 1) per "
                "request." + p99_caveat(group)
                + interval_note(group, "each percentile (the p50 and the p99 a row reports)"))
        out.append(Section(
            slug=slugify(f"latency {kind} {load_col} {workload}"), title=f"TTFT and TPOT vs load ({kind}): {workload}",
            png=png, chart_title=chart_title,
            note=note, headers=["series", xlabel, *(schema.label(c) for c in cols), "rows"],
            rows=rows))
    return out


def attention_kind(cfg: dict) -> str:
    """MLA (a compressed latent per layer), MQA (one KV head), GQA (fewer KV heads than query
    heads) or MHA."""
    if modelmath.is_mla(cfg):
        return "MLA"
    kv = modelmath.num_kv_heads(cfg)
    heads = int(cfg.get("num_attention_heads") or kv)
    if kv == 1:
        return "MQA"
    return "GQA" if kv < heads else "MHA"


def kv_section(runs: list[Run], catalog_configs: dict[str, dict]) -> Section:
    """Measured (allocated) KV bytes per token per model, beside the config.json arithmetic of the
    catalog's full-size models that were not run."""
    title = "KV-cache bytes per token, per model (MLA vs GQA)"
    bars, rows = [], []
    run_models = by_key([r for r in runs if r.num("kv_bytes_per_token") or r.num("kv_bytes_per_token_analytic")],
                        lambda r: (r.model, r.row.get("kv_cache_dtype") or "auto"))
    for (model, kv_dtype), group in run_models.items():
        cfg = catalog_configs.get(model)
        kind = attention_kind(cfg) if cfg else ("MLA" if "DeepseekV" in str(group[0].row.get("architecture")) else "?")
        measured = median_points(group, lambda r: 0.0, lambda r: r.num("kv_bytes_per_token"))
        analytic = median_points(group, lambda r: 0.0, lambda r: r.num("kv_bytes_per_token_analytic"))
        value = measured[0][1] if measured else analytic[0][1]
        how = "measured" if measured else "analytic"
        bars.append(plots.Bar(f"{model} ({how}, KV {kv_dtype}, {group[0].machine})", value, kind))
        rows.append([model, kind, kv_dtype, measured[0][1] if measured else None,
                     analytic[0][1] if analytic else None, f"these results ({group[0].machine})"])
    run_names = {m for m, _ in run_models}
    for model, cfg in catalog_configs.items():
        if model in run_names:
            continue
        try:
            value = modelmath.kv_bytes_per_token(cfg, "auto", str(cfg.get("torch_dtype") or "bfloat16"))
        except (KeyError, ValueError):
            continue
        kind = attention_kind(cfg)
        bars.append(plots.Bar(f"{model} (config.json, not run)", value, kind))
        rows.append([model, kind, "auto", None, value, "catalog config.json (not run)"])
    if not bars:
        return skipped("kv-bytes-per-token", title, "no row with KV-cache figures and no catalog model to compute.")
    order = sorted(range(len(bars)), key=lambda i: -bars[i].value)
    bars = [bars[i] for i in order]
    rows = [rows[i] for i in order]
    machines = machines_text([r for g in run_models.values() for r in g]) or "no run"
    chart_title = (f"KV-cache bytes per token of context, per model · allocated by the engine on {machines}; "
                   "catalog models by config.json")
    png = plots.hbar_chart(chart_title, "bytes per token (all layers, K+V or MLA latent)", bars)
    note = ("What one more token of context costs in KV-cache memory. MHA/GQA: layers × 2 × KV heads × head_dim × "
            "dtype bytes; MLA (DeepSeek-V2): layers × (kv_lora_rank + qk_rope_head_dim) × dtype bytes. Measured = "
            "the KV bytes the engine allocated / the tokens it holds; catalog models not in these results are "
            "computed from their config.json at their own dtype.")
    return Section(slug="kv-bytes-per-token", title=title, png=png, chart_title=chart_title, note=note,
                   headers=["model", "attention", "KV dtype", "measured B/token", "analytic B/token", "from"],
                   rows=rows)


def _sim_twin(run: Run, sims: dict) -> Run | None:
    r = run.row
    return sims.get((run.model, run.workload, run.batch, run.hardware or r.get("device_name")))


def efficiency_points(runs: list[Run]) -> list[tuple[Run, float, float, str]]:
    """(measured run, measured output tok/s, roofline output tok/s, source) for every measured run
    with a roofline figure: its own roofline columns, else a sim row of the same case and hardware."""
    sims = {(r.model, r.workload, r.batch, r.machine): r for r in runs if r.predicted}
    out = []
    for r in runs:
        measured = r.num("output_tok_s")
        if r.predicted or not measured:
            continue
        roof = r.num("roofline_output_tok_s")
        if roof is None and r.num("efficiency"):
            roof = measured / r.num("efficiency")
        source = "roofline columns"
        if roof is None:
            twin = _sim_twin(r, sims)  # its bound column; rows of --sim-timing bound (and older sims) are the bound
            roof = (twin.num("roofline_output_tok_s") or twin.num("output_tok_s")) if twin else None
            source = "sim row of the same case"
        if roof:
            out.append((r, measured, roof, source))
    return out


def efficiency_section(runs: list[Run]) -> Section:
    title = "Measured vs roofline throughput (efficiency)"
    points = efficiency_points(runs)
    if not points:
        only_sim = any(r.predicted for r in runs)
        why = ("no measured row has a roofline figure (the efficiency columns of GPU runs with --hardware, or a sim "
               "row of the same case); CPU rows have no roofline.")
        if only_sim:
            why += " Rows of engine=sim are the roofline itself (efficiency 1 by construction)."
        return skipped("efficiency", title, why)
    eff = {id(r): m / roof for r, m, roof, _ in points}
    measured_runs = [p[0] for p in points]
    batch = Run.batch.fget
    series = _series(measured_runs, batch, lambda r: 100 * eff[id(r)], bars="output_tok_s")
    workloads = sorted({r.workload for r in measured_runs})
    chart_title = (f"Measured / roofline output throughput · {'; '.join(workloads)} · on "
                   f"{machines_text(measured_runs)}")
    png = plots.line_chart(chart_title, BATCH_LABEL, "efficiency (% of roofline tok/s)", series, logx=True,
                           xticks=_xticks(measured_runs, batch))
    rows = [[r.series, r.workload, r.batch, m, roof, 100 * m / roof, src] for r, m, roof, src in points]
    return Section(slug="efficiency", title=title, png=png, chart_title=chart_title,
                   note="Efficiency = measured output tok/s / the roofline's (the fastest the GPU's memory bandwidth "
                        "and FLOPS allow for the same requests and batch limits), in percent."
                        + interval_note(measured_runs, "the measured output tok/s (the roofline's is fixed)"),
                   headers=["series", "workload", "batch", "measured tok/s", "roofline tok/s", "efficiency %",
                            "roofline from"], rows=rows)


def energy_section(runs: list[Run]) -> Section:
    title = "Energy per output token vs batch size"
    have = [r for r in _offline(runs) if r.num("joules_per_output_token") is not None]
    if not have:
        return skipped("energy", title, "no row has energy columns (joules_per_output_token).")
    batch = Run.batch.fget
    series = _series(have, batch, lambda r: r.num("joules_per_output_token"), bars="joules_per_output_token")
    workloads = sorted({r.workload for r in have})
    chart_title = f"Energy per output token vs batch size · {'; '.join(workloads)} · on {machines_text(have)}"
    png = plots.line_chart(chart_title, BATCH_LABEL, "energy per output token (J/token)", series, logx=True,
                           xticks=_xticks(have, batch))
    rows = []
    for label, g in by_key(have, lambda r: r.series).items():
        for b, rb in sorted(by_key(g, batch).items()):
            med = [median_points(rb, batch, lambda r, c=c: r.num(c)) for c in
                   ("joules_per_output_token", "avg_power_w", "energy_j")]
            rows.append([label, b, *(m[0][1] if m else None for m in med), rows_of(rb)])
    return Section(slug="energy", title=title, png=png, chart_title=chart_title,
                   note="Energy of the timed run (accelerator power integrated over it) / output tokens."
                        + interval_note(have, "joules per output token"),
                   headers=["series", "batch", "J/output token", "avg power W", "energy J", "rows"], rows=rows)
