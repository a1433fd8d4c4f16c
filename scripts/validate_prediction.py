"""The expected throughput against published measurements: fit, leave-one-out table, band.

For every row of reference/published_runs.csv the workload is rebuilt and scheduled once
(bench.roofline.trace). The efficiency parameters (bench.roofline.efficiency) are fitted to the rows
marked `fit` (bench.roofline.fit); then each row is predicted by a fit that did not see it, and the
table prints measured, the roofline bound, that held-out prediction and its error, with a summary by
engine generation and regime. `check` rows are shown against the bound only.

    python scripts/validate_prediction.py [--format table|markdown] [--write-profile] [--cache FILE]
    python scripts/validate_prediction.py --cpu-only --cpu-results cpu-1.csv cpu-2.csv --hardware this-cpu \
        --calibrate-on qwen2.5-0.5b-instruct:1,4      # calibrate on two batch sizes, predict the other rows

The CPU check takes the median of a case's repeats (rows of the same model, batch limit, dtype and lengths)
and compares throughput and the TTFT (p50, p90, p99) and TPOT (p50, p99) distributions with the prediction.

--write-profile stores the full fit and the held-out band as reference/published_fit.yaml (the
`published-fit` calibration every prediction names). --cache keeps the traced schedules in a pickle
(tracing all rows takes minutes on 2 cores), keyed by a sha256 of the bench/roofline sources, hardware.yaml
and the models' config.json: a change to any of them traces every row again.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import pickle
import statistics
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.roofline import fit, profile, published, reserve, trace  # noqa: E402
from bench.roofline.batchsim import SimError  # noqa: E402
from bench.roofline.efficiency import Efficiency  # noqa: E402

PROFILE_NAME = "published-fit-3"


def trace_inputs_sha(runs) -> str:
    """sha256 of what a traced schedule depends on besides a row's own fields: the bench/roofline sources,
    hardware.yaml and the config.json of every model the rows use. A cache made under another value is stale."""
    from bench.config import catalog, hardware

    h = hashlib.sha256(b"kv-reserve" if published.KV_RESERVE else b"no-kv-reserve")
    for path in sorted((REPO_ROOT / "bench" / "roofline").glob("*.py")) + [hardware.hardware_path()]:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    for model in sorted({r.model for r in runs}):
        h.update(model.encode() + b"\0" + catalog.resolve_model(model).config_sha.encode())
    return h.hexdigest()


def traced_cases(runs, cache: Path | None) -> dict:
    """Each row's traced schedule; from `cache` where the row and trace_inputs_sha are unchanged."""
    key = trace_inputs_sha(runs)
    cached = {}
    if cache and cache.is_file():
        stored = pickle.loads(cache.read_bytes())
        if isinstance(stored, dict) and stored.get("inputs_sha256") == key:
            cached = stored["cases"]
        else:
            print(f"{cache}: made from other model code, hardware or configs; tracing again", file=sys.stderr)
    out = {}
    for r in runs:
        if r.id in cached and cached[r.id][0] == r:
            out[r.id] = cached[r.id]
            continue
        print(f"tracing {r.id} ...", file=sys.stderr, flush=True)
        try:
            out[r.id] = (r, published.Case(r).trace)
        except SimError as e:
            out[r.id] = (r, None)
            print(f"  no schedule: {e}", file=sys.stderr)
    if cache:
        cache.write_bytes(pickle.dumps({"inputs_sha256": key, "cases": out}))
    return out


def observation(r, tr) -> fit.Observation:
    return fit.observation(tr, r.generation, r.value, r.metric, r.faster_is_higher, r.moe_era)


def layout_for(runs, fixed_costs: bool = True) -> fit.Layout:
    """The published fit's free parameters; the sourced fixed costs (all-reduce latency, launches) charged, never fitted."""
    gens = tuple(sorted({r.generation for r in runs}))
    eras = tuple(sorted({r.moe_era for r in runs}))
    return fit.Layout(free=fit.SHARED, generations=gens, moe_eras=eras,
                      fixed=Efficiency(physical_fixed_costs=1.0 if fixed_costs else 0.0))


def metric_kind(r) -> str:
    """What a row's metric measures: TPOT (1 / decode_tok_s), a latency (E2E, a batch's) or a throughput."""
    if r.metric == "decode_tok_s":
        return "TPOT"
    return "latency (E2E)" if r.metric in ("mean_e2e_ms", "batch_latency_ms") else "throughput"


def exact(r, tr, eff) -> float:
    return published.metric_value(r, trace.timings(tr, eff))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--format", choices=["table", "markdown"], default="table")
    ap.add_argument("--write-profile", action="store_true", help="write reference/published_fit.yaml")
    ap.add_argument("--cache", type=Path, help="pickle of traced schedules, reused for unchanged rows while the "
                    "bench/roofline sources, hardware.yaml and model configs are unchanged (else traced again)")
    ap.add_argument("--cpu-results", type=Path, nargs="+",
                    help="results CSVs of vLLM runs on this machine (CPU check; repeats of a case: their median)")
    ap.add_argument("--hardware", help="the machine's hardware entry (bench probe) for the CPU check")
    ap.add_argument("--calibrate-on", nargs="+", help="MODEL:SEQS,SEQS ...: the cases the CPU check calibrates on")
    ap.add_argument("--cpu-only", action="store_true", help="only the CPU check")
    ap.add_argument("--without", nargs="+", default=[], choices=["fixed-costs", "kv-reserve"],
                    help="leave a physics term out (to show its effect): the sourced all-reduce latency and kernel "
                    "launches, or vLLM's activation / CUDA-graph / non-torch memory reserve")
    args = ap.parse_args(argv)
    if args.write_profile and ("kv-reserve" not in args.without) != reserve.CHARGED:
        ap.error("--write-profile fits the KV cache predictions use: vLLM's reserve is "
                 + ("charged, drop --without kv-reserve" if reserve.CHARGED else "not charged "
                    "(bench.roofline.reserve.CHARGED), add --without kv-reserve"))
    if args.cpu_results and not (args.hardware and args.calibrate_on):
        ap.error("--cpu-results needs --hardware (the bench probe entry) and --calibrate-on MODEL:SEQS,SEQS")
    if args.cpu_results:
        print("\n".join(cpu_check(args.cpu_results, args.hardware, args.calibrate_on, args.format)))
        if args.cpu_only:
            return 0

    runs = published.load()
    if "kv-reserve" in args.without:
        published.KV_RESERVE = False
    cases = traced_cases(runs, args.cache)
    fit_rows = [(r, tr) for r, tr in cases.values() if r.use == "fit" and tr is not None]
    obs = [observation(r, tr) for r, tr in fit_rows]
    layout = layout_for([r for r, _ in fit_rows], fixed_costs="fixed-costs" not in args.without)
    print(f"fitting {len(obs)} rows ...", file=sys.stderr, flush=True)
    full = fit.fit(obs, layout)
    print("leave-one-out ...", file=sys.stderr, flush=True)
    loo = fit.leave_one_out(obs, layout, full)

    lines = []
    table = []
    ratios = []  # predicted / measured as speeds, held out
    for (r, tr), held in zip(fit_rows, loo):
        eff = held.efficiency_for(r.generation, r.moe_era)
        pred = exact(r, tr, eff)
        bound = exact(r, tr, None)
        ratio = published.speed_ratio(r, pred)
        ratios.append(ratio)
        table.append((r, bound, pred, ratio, published.speed_ratio(r, bound)))
    checks = [(r, exact(r, tr, None) if tr is not None else None,
               exact(r, tr, full.efficiency_for(r.generation, r.moe_era)) if tr is not None else None)
              for r, tr in cases.values() if r.use == "check"]  # the full fit's prediction, not counted

    head = ["row", "model", "GPU", "engine", "metric", "measured", "bound", "predicted", "error", "bound/meas"]
    body = []
    for r, bound, pred, ratio, bratio in table:
        body.append([r.id, r.model, f"{r.hardware} x{r.tp}", f"{r.engine} {r.engine_version}".strip(), r.metric,
                     f"{r.value:,.4g}", f"{bound:,.4g}", f"{pred:,.4g}", f"{ratio - 1:+.0%}", f"{bratio:.2f}"])
    for r, bound, pred in checks:
        body.append([r.id, r.model, f"{r.hardware} x{r.tp}", f"{r.engine} {r.engine_version}".strip(), r.metric,
                     f"{r.value:,.4g}", f"{bound:,.4g}" if bound else "-", f"({pred:,.4g})" if pred else "-",
                     f"({published.speed_ratio(r, pred) - 1:+.0%})" if pred else "-",
                     f"{published.speed_ratio(r, bound):.2f}" if bound else "-"])
    lines += render(head, body, args.format)

    errs = [abs(x - 1) for x in ratios]
    lines.append("")
    lines.append(f"held-out rows: {len(ratios)}; median |predicted/measured - 1| = {statistics.median(errs):.1%}; "
                 f"within 2x: {sum(0.5 <= x <= 2 for x in ratios)}/{len(ratios)}; "
                 f"worst {min(ratios):.2f}x / {max(ratios):.2f}x")
    below = [r.id for r, b, _, _, br in table if br < 1] + [r.id for r, b, _ in checks if b and published.speed_ratio(r, b) < 1]
    lines.append(f"bound below the measurement: {len(below)} rows{(' (' + ', '.join(below) + ')') if below else ''}")
    lines.append("")
    lines += summary(table, "engine generation", lambda r: r.generation, args.format)
    lines.append("")
    lines += summary(table, "regime", lambda r: r.regime, args.format)
    lines.append("")
    lines += summary(table, "what the metric measures", metric_kind, args.format)
    lines.append("")
    lines += summary(table, "TP", lambda r: f"TP {r.tp}", args.format)
    lines.append("")
    meas_over_pred = sorted(1 / x for x in ratios)
    low, high = float(np.quantile(meas_over_pred, 0.1)), float(np.quantile(meas_over_pred, 0.9))
    lines.append(f"band (measured / predicted, 10th-90th percentile of held-out rows): {low:.2f} - {high:.2f}")
    lines.append("full fit: " + ", ".join(f"{k} {v:.4g}" for k, v in full.shared.as_dict().items()))
    lines.append("multipliers by generation (overheads) and MoE-kernel era (slice loss): "
                 + ", ".join(f"{g} {m:.3g}" for g, m in full.multipliers.items()))
    print("\n".join(lines))

    if args.write_profile:
        gens = {g: {"step_overhead_s": full.efficiency_for(g).step_overhead_s,
                    "sequence_overhead_s": full.efficiency_for(g).sequence_overhead_s} for g in layout.generations}
        eras = {g: {"moe_expert_overhead_bytes": full.efficiency_for("", g).moe_expert_overhead_bytes}
                for g in layout.moe_eras}
        prof = profile.Profile(name=PROFILE_NAME, kind="published", parameters=full.shared, generations=gens,
                               moe_eras=eras,
                               band_low=low, band_high=high, fitted_on=datetime.date.today().isoformat(),
                               rows=len(obs))
        profile.save(prof, profile.PUBLISHED_FILE)
        print(f"wrote {profile.PUBLISHED_FILE.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 0


def cpu_check(paths: list[Path], hardware_name: str, calibrate_on: list[str], fmt: str) -> list[str]:
    """Calibrate on some measured cases of one machine, predict the others: throughput and the TTFT/TPOT
    distributions, measured (median of the repeats) vs predicted (bench.roofline.distributions)."""
    import dataclasses

    from bench.results import typed
    from bench.roofline import calibrate, distributions

    wanted = {(model, int(x)) for spec in calibrate_on for model, _, seqs in [spec.partition(":")]
              for x in seqs.split(",")}
    rows = [r for p in paths for r in typed.read_rows(p)[1]]
    by_id = {m.label: m for m in calibrate.measured_from_rows(rows)}
    cases = distributions.medians([r for r in rows if r.get("run_id") in by_id])
    runs = [dataclasses.replace(by_id[c["run_ids"][0]], output_tok_s=c["output_tok_s"]) for c in cases]
    chosen = [m for m, c in zip(runs, cases) if (c["model"], int(c["max_num_seqs"])) in wanted]
    prof = calibrate.calibrate(chosen, hardware_name, "cpu-check")
    head = ["model", "max_num_seqs", "role", "repeats", "measured tok/s", "spread", "predicted tok/s", "error"]
    dist_head = ["model", "max_num_seqs"] + [f"{c.replace('_ms', '').replace('_', ' ').upper()} ms meas / pred"
                                             for c in distributions.DISTRIBUTION]
    body, dist, errs, lat = [], [], [], {c: [] for c in distributions.DISTRIBUTION}
    for m, c in zip(runs, cases):
        t = trace.timings(calibrate.traced(m, hardware_name), prof.parameters)
        role = "calibrated on" if m in chosen else "predicted"
        err = t.output_tok_s / c["output_tok_s"] - 1
        if role == "predicted":
            errs.append(abs(err))
        body.append([c["model"], c["max_num_seqs"], role, str(c["repeats"]), f"{c['output_tok_s']:.2f}",
                     f"{c['spread']:.2f}x", f"{t.output_tok_s:.2f}", f"{err:+.0%}"])
        pred = distributions.predicted_distribution_ms(t.ttft_s, t.tpot_s)
        cells = []
        for col in distributions.DISTRIBUTION:
            x = distributions.ratio(c[col], pred[col])
            if x is not None:
                lat[col].append(x)
            digits = 1 if col.startswith("tpot") else 0
            cells.append("-" if x is None else f"{c[col]:,.{digits}f} / {pred[col]:,.{digits}f} ({x:.2f})")
        dist.append([c["model"], c["max_num_seqs"]] + cells)
    p = prof.parameters
    free = calibrate.DEFAULT_FREE[:len(chosen)]
    said = {"bandwidth_fraction": f"bandwidth {p.bandwidth_fraction:.0%}",
            "step_overhead_s": f"step overhead {p.step_overhead_s * 1e3:.2f} ms",
            "compute_fraction": f"compute {p.compute_fraction:.0%}",
            "sequence_overhead_s": f"per sequence {p.sequence_overhead_s * 1e3:.3f} ms"}
    lines = [f"CPU check on {hardware_name}: calibrated on {' '.join(calibrate_on)} "
             f"(fitted: {', '.join(v for k, v in said.items() if k in free)}; from the published fit: "
             f"{', '.join(v for k, v in said.items() if k not in free) or 'none of these'})", ""]
    lines += render(head, body, fmt)
    if errs:
        lines += ["", f"predicted rows: {len(errs)}; median |error| {statistics.median(errs):.0%}, worst {max(errs):.0%}"]
    lines += ["", "Latency distributions, measured (median of repeats) / predicted (predicted / measured):", ""]
    lines += render(dist_head, dist, fmt)
    lines += ["", "predicted / measured over all cases, median (range): " + "; ".join(
        f"{col.replace('_ms', '')} {statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"
        for col, v in lat.items() if v)]
    return lines


def summary(table, what, key, fmt) -> list[str]:
    groups = {}
    for r, _, _, ratio, _ in table:
        groups.setdefault(key(r), []).append(ratio)
    head = [what, "rows", "median |error|", "geometric mean", "worst", "within 2x"]
    body = [[g, str(len(v)), f"{statistics.median(abs(x - 1) for x in v):.0%}", f"{np.exp(np.mean(np.log(v))):.2f}x",
             f"{max(v, key=lambda x: abs(np.log(x))):.2f}x", f"{sum(0.5 <= x <= 2 for x in v)}/{len(v)}"]
            for g, v in sorted(groups.items())]
    return render(head, body, fmt)


def render(head, body, fmt) -> list[str]:
    if fmt == "markdown":
        return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in body]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(head)]
    return ["  ".join(x.ljust(w) for x, w in zip(r, widths)) for r in [head] + body]


if __name__ == "__main__":
    sys.exit(main())
