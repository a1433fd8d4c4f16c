"""The expected throughput against published measurements: fit, leave-one-out table, band.

For every row of reference/published_runs.csv the workload is rebuilt and scheduled once
(bench.roofline.trace). The efficiency parameters (bench.roofline.efficiency) are fitted to the rows
marked `fit` (bench.roofline.fit); then each row is predicted by a fit that did not see it, and the
table prints measured, the roofline bound, that held-out prediction and its error, with a summary by
engine generation and regime. `check` rows are shown against the bound only.

    python scripts/validate_prediction.py [--format table|markdown] [--write-profile] [--cache FILE]
    python scripts/validate_prediction.py --cpu-results results/cpu.csv --hardware this-cpu   # CPU check

--write-profile stores the full fit and the held-out band as reference/published_fit.yaml (the
`published-fit` calibration every prediction names). --cache keeps the traced schedules in a pickle
(tracing all rows takes minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import datetime
import pickle
import statistics
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.roofline import fit, profile, published, trace  # noqa: E402
from bench.roofline.batchsim import SimError  # noqa: E402

PROFILE_NAME = "published-fit-1"


def traced_cases(runs, cache: Path | None) -> dict:
    cached = {}
    if cache and cache.is_file():
        cached = pickle.loads(cache.read_bytes())
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
        cache.write_bytes(pickle.dumps(out))
    return out


def observation(r, tr) -> fit.Observation:
    return fit.observation(tr, r.generation, r.value, r.metric, r.faster_is_higher)


def layout_for(runs) -> fit.Layout:
    gens = tuple(sorted({r.generation for r in runs}))
    return fit.Layout(free=fit.SHARED, generations=gens)


def exact(r, tr, eff) -> float:
    return published.metric_value(r, trace.timings(tr, eff))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--format", choices=["table", "markdown"], default="table")
    ap.add_argument("--write-profile", action="store_true", help="write reference/published_fit.yaml")
    ap.add_argument("--cache", type=Path, help="pickle of traced schedules (reused when present)")
    args = ap.parse_args(argv)

    runs = published.load()
    cases = traced_cases(runs, args.cache)
    fit_rows = [(r, tr) for r, tr in cases.values() if r.use == "fit" and tr is not None]
    obs = [observation(r, tr) for r, tr in fit_rows]
    layout = layout_for([r for r, _ in fit_rows])
    print(f"fitting {len(obs)} rows ...", file=sys.stderr, flush=True)
    full = fit.fit(obs, layout)
    print("leave-one-out ...", file=sys.stderr, flush=True)
    loo = fit.leave_one_out(obs, layout, full)

    lines = []
    table = []
    ratios = []  # predicted / measured as speeds, held out
    for (r, tr), held in zip(fit_rows, loo):
        eff = held.efficiency_for(r.generation)
        pred = exact(r, tr, eff)
        bound = exact(r, tr, None)
        ratio = published.speed_ratio(r, pred)
        ratios.append(ratio)
        table.append((r, bound, pred, ratio, published.speed_ratio(r, bound)))
    checks = [(r, exact(r, tr, None) if tr is not None else None) for r, tr in cases.values() if r.use == "check"]

    head = ["row", "model", "GPU", "engine", "metric", "measured", "bound", "predicted", "error", "bound/meas"]
    body = []
    for r, bound, pred, ratio, bratio in table:
        body.append([r.id, r.model, f"{r.hardware} x{r.tp}", f"{r.engine} {r.engine_version}".strip(), r.metric,
                     f"{r.value:,.4g}", f"{bound:,.4g}", f"{pred:,.4g}", f"{ratio - 1:+.0%}", f"{bratio:.2f}"])
    for r, bound in checks:
        body.append([r.id, r.model, f"{r.hardware} x{r.tp}", f"{r.engine} {r.engine_version}".strip(), r.metric,
                     f"{r.value:,.4g}", f"{bound:,.4g}" if bound else "-", "(check)", "-",
                     f"{published.speed_ratio(r, bound):.2f}" if bound else "-"])
    lines += render(head, body, args.format)

    errs = [abs(x - 1) for x in ratios]
    lines.append("")
    lines.append(f"held-out rows: {len(ratios)}; median |predicted/measured - 1| = {statistics.median(errs):.1%}; "
                 f"within 2x: {sum(0.5 <= x <= 2 for x in ratios)}/{len(ratios)}; "
                 f"worst {min(ratios):.2f}x / {max(ratios):.2f}x")
    below = [r.id for r, b, _, _, br in table if br < 1] + [r.id for r, b in checks if b and published.speed_ratio(r, b) < 1]
    lines.append(f"bound below the measurement: {len(below)} rows{(' (' + ', '.join(below) + ')') if below else ''}")
    lines.append("")
    lines += summary(table, "engine generation", lambda r: r.generation, args.format)
    lines.append("")
    lines += summary(table, "regime", lambda r: r.regime, args.format)
    lines.append("")
    meas_over_pred = sorted(1 / x for x in ratios)
    low, high = float(np.quantile(meas_over_pred, 0.1)), float(np.quantile(meas_over_pred, 0.9))
    lines.append(f"band (measured / predicted, 10th-90th percentile of held-out rows): {low:.2f} - {high:.2f}")
    lines.append("full fit: " + ", ".join(f"{k} {v:.4g}" for k, v in full.shared.as_dict().items()))
    lines.append("overhead multipliers by generation: " + ", ".join(f"{g} {m:.3g}" for g, m in full.multipliers.items()))
    print("\n".join(lines))

    if args.write_profile:
        gens = {g: {"step_overhead_s": full.efficiency_for(g).step_overhead_s,
                    "sequence_overhead_s": full.efficiency_for(g).sequence_overhead_s} for g in layout.generations}
        prof = profile.Profile(name=PROFILE_NAME, kind="published", parameters=full.shared, generations=gens,
                               band_low=low, band_high=high, fitted_on=datetime.date.today().isoformat(),
                               rows=len(obs))
        profile.save(prof, profile.PUBLISHED_FILE)
        print(f"wrote {profile.PUBLISHED_FILE.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 0


def summary(table, what, key, fmt) -> list[str]:
    groups = {}
    for r, _, _, ratio, _ in table:
        groups.setdefault(key(r), []).append(ratio)
    head = [what, "rows", "median |error|", "worst", "within 2x"]
    body = [[g, str(len(v)), f"{statistics.median(abs(x - 1) for x in v):.0%}",
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
