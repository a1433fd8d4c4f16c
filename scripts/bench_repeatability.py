"""Repeatability on the CPU build: 12 identical `bench run` cases and 12 identical `bench serve` levels of a tiny
model (dummy weights), and what their spread says about intervals and percentiles. A benchmark, not a test: it
prints figures, it asserts nothing.

Printed:
- each headline metric's spread over the 12 runs: (max - min) / mean and the coefficient of variation (s / mean);
- how often the 95% t-interval of 3 repeats holds the 12-run mean, over every 3-subset of the 12 (220) and over
  the 10 consecutive triples (runs i, i+1, i+2: what `--repeats 3` in one session gives); about 95% is expected
  if the runs were independent draws of one distribution, less where the machine drifts;
- serve's TTFT and E2E latencies pooled over the 12 levels (every completed request in order): the p99 (numpy's
  linear percentile) of the first n = 16, 64, 256 and all of them, with the upper bound the true p99 lies under at
  95% confidence (bench.measure.uncertainty.percentile_upper_bound: none below 299 samples).

    .venv/bin/python scripts/bench_repeatability.py                       # tiny-qwen2, 12 x run, 12 x serve
    .venv/bin/python scripts/bench_repeatability.py --repeats 6 --num-prompts 8 --serve-prompts 16
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import uncertainty  # noqa: E402

RUN_METRICS = ("output_tok_s", "ttft_p50_ms", "tpot_p50_ms")
SERVE_METRICS = ("output_tok_s", "ttft_p50_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p99_ms")


def bench(*args: str) -> None:
    cmd = [sys.executable, "-m", "bench", *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-3000:]}")


def rows_of(path: Path) -> list[dict]:
    from bench.results import store

    _, rows = store.read_results(path)
    return [r for r in rows if r.get("status") == "ok"]


def fnum(x) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def spread_lines(rows: list[dict], metrics: tuple[str, ...]) -> list[str]:
    out = []
    for m in metrics:
        xs = [v for v in (fnum(r.get(m)) for r in rows) if v is not None]
        if len(xs) < 2:
            out.append(f"  {m}: {len(xs)} value(s)")
            continue
        mean = statistics.fmean(xs)
        out.append(f"  {m:<14} n={len(xs)}  mean {mean:.4g}  min-max {min(xs):.4g}-{max(xs):.4g}  "
                   f"range/mean {(max(xs) - min(xs)) / mean:.1%}  CV {statistics.stdev(xs) / mean:.1%}  "
                   f"95% t {uncertainty.t_interval(xs).text()}")
    return out


def coverage_lines(rows: list[dict], metric: str = "output_tok_s") -> list[str]:
    xs = [v for v in (fnum(r.get(metric)) for r in rows) if v is not None]
    if len(xs) < 4:
        return [f"  {metric}: too few runs"]
    grand = statistics.fmean(xs)

    def holds(triple) -> bool:
        iv = uncertainty.t_interval(list(triple))
        return iv.lo <= grand <= iv.hi

    subsets = list(itertools.combinations(xs, 3))
    consecutive = [xs[i:i + 3] for i in range(len(xs) - 2)]
    a, b = sum(map(holds, subsets)), sum(map(holds, consecutive))
    return [f"  {metric}: the 95% t-interval of 3 repeats holds the {len(xs)}-run mean {grand:.4g} in "
            f"{a}/{len(subsets)} 3-subsets ({a / len(subsets):.0%}) and {b}/{len(consecutive)} consecutive triples "
            f"({b / len(consecutive):.0%})"]


def latencies(out: Path, rows: list[dict]) -> dict[str, list[float]]:
    """Every completed request's TTFT and E2E (ms), level by level in run order."""
    got = {"ttft_ms": [], "e2e_ms": []}
    for r in rows:
        rec = json.loads((out.with_suffix("") / f"{r['run_id']}.json").read_text())
        for q in rec.get("requests", []):
            if q.get("success"):
                for key, field in (("ttft_ms", "ttft_s"), ("e2e_ms", "e2e_s")):
                    if q.get(field) is not None:
                        got[key].append(1000 * q[field])
    return got


def p99_lines(pooled: dict[str, list[float]]) -> list[str]:
    import numpy as np

    out = []
    for name, xs in pooled.items():
        for n in (16, 64, 256, len(xs)):
            if n > len(xs):
                continue
            head = xs[:n]
            bound = uncertainty.percentile_upper_bound(head, 99)
            out.append(f"  {name:<8} n={n:<4} p99 {float(np.percentile(head, 99)):8.1f}  max {max(head):8.1f}  "
                       f"reliable {uncertainty.percentile_reliable(n, 99)!s:<5}  95% bound "
                       + (f"{bound:.1f}" if bound is not None else "none (needs n >= 299)"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny-qwen2")
    ap.add_argument("--repeats", type=int, default=12)
    ap.add_argument("--num-prompts", type=int, default=16, help="requests of each bench run case")
    ap.add_argument("--serve-prompts", type=int, default=32, help="requests of each serve level (12 x 32 = 384 "
                                                                  "pooled: enough for a p99 bound)")
    ap.add_argument("--input-len", type=int, default=64)
    ap.add_argument("--output-len", type=int, default=32)
    ap.add_argument("--concurrency", type=int, default=4)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-repeatability-"))
    shape = ["--model", a.model, "--weights", "dummy", "--input-len", str(a.input_len), "--output-len",
             str(a.output_len), "--repeats", str(a.repeats)]
    t0 = time.perf_counter()
    run_out, serve_out = work / "run.csv", work / "serve.csv"
    bench("run", *shape, "--num-prompts", str(a.num_prompts), "--max-num-seqs", str(a.concurrency), "--out",
          str(run_out))
    t_run = time.perf_counter() - t0
    bench("serve", *shape, "--num-prompts", str(a.serve_prompts), "--concurrencies", str(a.concurrency), "--out",
          str(serve_out))
    t_serve = time.perf_counter() - t0 - t_run
    runs, levels = rows_of(run_out), rows_of(serve_out)
    print(f"bench repeatability, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC: {a.model} (dummy weights), "
          f"{a.num_prompts} (run) and {a.serve_prompts} (serve) prompts of {a.input_len}/{a.output_len} tokens, "
          f"batch/concurrency {a.concurrency}; "
          f"{len(runs)} ok bench run cases ({t_run:.0f} s), {len(levels)} ok bench serve levels ({t_serve:.0f} s)")
    print("bench run: spread over the repeats")
    print("\n".join(spread_lines(runs, RUN_METRICS)))
    print("bench serve: spread over the repeats")
    print("\n".join(spread_lines(levels, SERVE_METRICS)))
    print("coverage of 3-repeat 95% t-intervals (all 3-subsets / consecutive triples)")
    print("\n".join(coverage_lines(runs) + [line.replace("  output", "  serve output") for line in
                                            coverage_lines(levels)]))
    print("serve latencies pooled over the levels: p99 and its 95% upper bound by sample count")
    print("\n".join(p99_lines(latencies(serve_out, levels))))
    print(f"(files in {work})")


if __name__ == "__main__":
    main()
