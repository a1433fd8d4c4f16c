"""The max-load search (bench serve --find-max-load) against a dense grid of levels, on one vLLM server.

    .venv/bin/python scripts/bench_boundary.py [--model tiny-qwen2] [--grid 2,4,...,16] [--num-prompts 320]
                                               [--input-len 32] [--output-len 8] [--metric ttft|tpot] [--keep DIR]

Starts vLLM's OpenAI server once (the installed build; the CPU build is enough; dummy weights), then, against
that one server:
1. the grid: `bench serve --endpoint ... --concurrencies <grid>`, every level with --num-prompts requests;
2. the target: --metric's p99 bound (default TTFT) <= the grid's median level's bound, so the boundary lies inside
   the grid (TTFT by default: every completed request has one, while on a busy machine some requests get all their
   tokens in one read and have no TPOT, which can leave a level under the 299 samples a bound needs);
3. the grid's boundary, by the search's own rule (bench.analysis.boundary.bracket): the highest level meeting the
   target below the lowest level missing it;
4. the search: `bench serve --endpoint ... --find-max-load --concurrency <grid's first> --slo-<metric>-ms <target>`,
   which measures its levels afresh.
Prints both boundaries, their difference (the check: within 10%), and k (levels the search measured) against the
grid's size. Concurrency is the axis: whole streams make a grid without gaps.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def start_server(model: str, input_len: int, output_len: int, log: Path):
    from bench.config.catalog import choose_weights
    from bench.serve import resolve
    from bench.serve.server import VllmServer, installed_vllm_build, server_args
    from bench.config.serve import parse

    cfg, resolved, _ = resolve.resolve(parse({"model": model, "input_len": input_len, "output_len": output_len}))
    device = installed_vllm_build()[0] or "cuda"
    choice = choose_weights(resolved, cfg.weights)
    server = VllmServer(lambda port: server_args(cfg, choice.load_path, choice.load_format, resolved.name, device,
                                                 port, token_prompts=True), log, cfg.server_timeout_s)
    server.start()
    return server, resolved.name


def bench_serve(url: str, name: str, out: Path, common: list[str], *extra: str) -> list[dict]:
    from bench.results import store

    before = len(store.read_results(out)[1]) if out.exists() else 0
    cmd = [sys.executable, "-m", "bench", "serve", "--endpoint", url, "--api-model", name, "--out", str(out),
           *common, *extra]
    subprocess.run(cmd, cwd=REPO, check=False)
    from bench.results import cells

    return [cells.row(r) for r in store.read_results(out)[1][before:]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny-qwen2")
    ap.add_argument("--grid", default=",".join(str(c) for c in range(2, 17, 2)))
    ap.add_argument("--num-prompts", type=int, default=320)
    ap.add_argument("--input-len", type=int, default=32)
    ap.add_argument("--output-len", type=int, default=8)
    ap.add_argument("--metric", choices=("ttft", "tpot"), default="ttft")
    ap.add_argument("--keep", type=Path, default=None, help="keep the rows and the server log in DIR")
    a = ap.parse_args()
    from bench.analysis.boundary import Step, Verdict, bracket, misses
    from bench.measure.slo import Slo

    folder = a.keep or Path(tempfile.mkdtemp(prefix="bench-boundary-"))
    folder.mkdir(parents=True, exist_ok=True)
    grid = [int(c) for c in a.grid.split(",")]
    common = ["--model", a.model, "--input-len", str(a.input_len), "--output-len", str(a.output_len),
              "--num-prompts", str(a.num_prompts)]
    print(f"# bench_boundary {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC: {a.model}, {a.input_len} in / "
          f"{a.output_len} out, {a.num_prompts} requests a level, grid concurrency {a.grid}", flush=True)
    server, name = start_server(a.model, a.input_len, a.output_len, folder / "server.log")
    try:
        grid_rows = bench_serve(server.base_url, name, folder / "grid.csv", common, "--concurrencies", a.grid)
        key = f"{a.metric}_p99_bound_ms"
        bounds = [r.get(key) for r in grid_rows]
        known = [b for b in bounds if b is not None]
        if not known:
            print(f"no level of the grid has a {a.metric.upper()} p99 bound (too few requests?)")
            return 1
        target = round(statistics.median(known), 3)
        slo = Slo(**{f"{a.metric}_ms": target})
        steps = []
        for i, r in enumerate(grid_rows):
            v = Verdict(r["status"] == "ok", r.get("ttft_p99_bound_ms"), r.get("tpot_p99_bound_ms"), r["run_id"])
            m = tuple(misses(v, slo))
            steps.append(Step(i + 1, float(r["concurrency"]), v, not m, m, 0.0))
        grid_lo, grid_hi = bracket(steps)
        search_rows = bench_serve(server.base_url, name, folder / "search.csv", common, "--find-max-load",
                                  "--concurrency", str(grid[0]), f"--slo-{a.metric}-ms", str(target))
    finally:
        server.stop()
    print(f"\n| concurrency | status | {a.metric.upper()} p99 bound (ms) | meets |")
    print("|---|---|---|---|")
    for s, b in zip(steps, bounds):
        print(f"| {s.level:g} | {s.verdict.ok and 'ok' or 'failed'} | {b if b is None else f'{b:.2f}'} | "
              f"{'yes' if s.passed else 'no'} |")
    print(f"\ntarget: {a.metric.upper()} p99 95% bound <= {target} ms (the grid's median level's bound)")
    print(f"grid: {len(grid)} levels; boundary concurrency {grid_lo} (lowest failing {grid_hi})")
    print("search steps: " + ", ".join(f"{r['search_step']}: C={r['concurrency']} "
                                       f"{'pass' if r['search_passed'] else 'miss'} "
                                       f"({r[key] if r[key] is None else round(r[key], 2)} ms)"
                                       for r in sorted(search_rows, key=lambda r: r["search_step"] or 0)))
    found = [r for r in search_rows if r.get("slo_boundary")]
    k = len(search_rows)
    if not found or grid_lo is None:
        print(f"search: no boundary in {k} levels; grid boundary {grid_lo}")
        return 1
    b = found[0]["concurrency"]
    diff = abs(b - grid_lo) / grid_lo
    print(f"search: boundary concurrency {b} with k = {k} levels against the grid's {len(grid)}: "
          f"{diff:.1%} from the grid's boundary ({'within' if diff <= 0.10 else 'NOT within'} 10%)")
    print(f"rows: {folder}")
    return 0 if diff <= 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
