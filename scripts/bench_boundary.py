"""The max-load search (bench serve --find-max-load) against a dense grid of levels, on one vLLM server.

    .venv/bin/python scripts/bench_boundary.py [--model tiny-qwen2] [--num-prompts 320] [--input-len 1024]
        [--output-len 4] [--fractions 0.4,0.5,...,1.2] [--slo-multiple 10] [--grid-repeats 2] [--keep DIR]

Starts vLLM's OpenAI server once (the installed build; the CPU build is enough; dummy weights), then, against
that one server, with bench serve's seeded Poisson arrivals (every level sends the same gaps, scaled to its rate):
1. capacity: one level with every request sent at once (--request-rate inf); its completed req/s is the server's
   capacity for this workload;
2. the grid: `bench serve --rates <capacity x each fraction> --repeats <grid-repeats>`, the repeats interleaved;
3. the target, by a rule a user would state: TTFT p99 95% bound <= --slo-multiple x the light-load median TTFT
   (the median over the repeats of the grid's lowest rate's TTFT p50), i.e. "at the boundary 99% of requests wait
   at most K times what one waits on an idle server";
4. each repeat's boundary by the search's own rule (bench.analysis.boundary.bracket): the highest rate meeting
   the target below the lowest rate missing it, which show how far the grid itself moves between repeats (its
   noise floor); and "the grid's boundary": the same rule on each rate's requests of every repeat pooled (the
   grid's most precise reading, judged on as many requests as the search's confirmed boundary), or the one
   repeat's with --grid-repeats 1;
5. the search: `bench serve --find-max-load --request-rate <grid's lowest rate> --slo-ttft-ms <target>`, which
   measures its levels afresh and confirms its boundary (its level measured twice, the requests pooled).
Prints the grid, both boundaries, their difference (the check: within 10%), and k (levels the search measured)
against the grid's size.

Why this design (docs/serve.md has the runs that taught it):
- the rate axis: a closed loop's TTFT grows about linearly with streams, so a step of 10% moves the bound by about
  10%, less than a p99 bound's run-to-run spread on 2 cores; under Poisson arrivals the wait grows as
  rho / (1 - rho) towards capacity, so near the knee one step moves the bound by more than its noise;
- a prompt-heavy workload (1024 in / 4 out): vLLM's CPU build pins its worker to one core and leaves the other to
  the engine core's loop, the API server and this client; with short prompts the server's capacity is set by that
  shared core (about 100-180 requests/s of 32-256-token prompts), where the client itself stalls and sends in
  bursts and the same rate's TTFT p50 moves 10x between repeats; with long prompts the engine's core is the
  bottleneck (about 22 requests/s) and the levels repeat;
- a target from the light-load median, not from a level's p99 bound: a target equal to a measured bound sits on that
  level by construction, and a light-load p99 bound on 2 cores is itself noisy (180-265 ms for the same level);
- the grid runs past the capacity measured with every request at once (to 1.2x): Poisson arrivals sustain more
  than that burst does, and a level of finite length above capacity builds a finite queue.
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
KEY = "ttft_p99_bound_ms"


def start_server(model: str, input_len: int, output_len: int, log: Path):
    from bench.config.catalog import choose_weights
    from bench.config.serve import parse
    from bench.serve import resolve
    from bench.engines.vllm_build import installed_vllm_build
    from bench.serve.server import VllmServer, server_args

    cfg, resolved, _ = resolve.resolve(parse({"model": model, "input_len": input_len, "output_len": output_len}))
    device = installed_vllm_build()[0] or "cuda"
    choice = choose_weights(resolved, cfg.weights)
    server = VllmServer(lambda port: server_args(cfg, choice.load_path, choice.load_format, resolved.name, device,
                                                 port, token_prompts=True), log, cfg.server_timeout_s)
    server.start()
    return server, resolved.name


def bench_serve(url: str, name: str, out: Path, common: list[str], *extra: str) -> list[dict]:
    from bench.results import cells, store

    before = len(store.read_results(out)[1]) if out.exists() else 0
    cmd = [sys.executable, "-m", "bench", "serve", "--endpoint", url, "--api-model", name, "--out", str(out),
           *common, *extra]
    subprocess.run(cmd, cwd=REPO, check=False)
    return [cells.row(r) for r in store.read_results(out)[1][before:]]


def judged(verdicts: list[tuple[float, object]], slo):
    """(rate, Verdict) pairs as the search's steps, in rate order, each judged by the search's own rule
    (bench.analysis.boundary.misses; bracket then reads the boundary off them)."""
    from bench.analysis.boundary import Step, misses

    steps = []
    for i, (rate, v) in enumerate(sorted(verdicts, key=lambda p: p[0])):
        m = tuple(misses(v, slo))
        steps.append(Step(i + 1, rate, v, not m, m, 0.0))
    return steps


def grid_steps(rows: list[dict], slo):
    """The grid's rows as the search's steps."""
    from bench.analysis.boundary import Verdict

    return judged([(float(r["request_rate"]), Verdict(r["status"] == "ok", r.get(KEY), r.get("tpot_p99_bound_ms"),
                                                      r["run_id"])) for r in rows], slo)


def pooled_steps(rows: list[dict], records: Path, slo):
    """The grid judged on each rate's requests of every repeat together (the level records), by the search's own
    pooling (bench.serve.maxload.pooled_verdict): a second reading of the grid's boundary beside each repeat's."""
    import json
    from types import SimpleNamespace

    from bench.serve.maxload import pooled_verdict

    runs: dict[float, list] = {}
    for r in rows:
        rec = json.loads((records / f"{r['run_id']}.json").read_text())
        runs.setdefault(float(r["request_rate"]), []).append(SimpleNamespace(row=r, record=rec))
    return judged([(rate, pooled_verdict(outcomes)) for rate, outcomes in runs.items()], slo)


def search_record(out: Path, rows: list[dict]) -> dict:
    """The search's part of its <sweep_id>.sweep.json (bench.serve.maxload.search_record): steps, pooled bounds."""
    import json

    if not rows:
        return {}
    path = out.with_suffix("") / f"{rows[0]['sweep_id']}.sweep.json"
    return json.loads(path.read_text()).get("search") or {} if path.exists() else {}


def fmt(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny-qwen2")
    ap.add_argument("--fractions", default="0.4,0.5,0.6,0.7,0.75,0.8,0.85,0.9,0.95,1.0,1.1,1.2",
                    help="the grid's rates as fractions of the measured capacity")
    ap.add_argument("--num-prompts", type=int, default=320)
    ap.add_argument("--input-len", type=int, default=1024)
    ap.add_argument("--output-len", type=int, default=4)
    ap.add_argument("--slo-multiple", type=float, default=10.0,
                    help="the TTFT target: this many times the light-load median TTFT")
    ap.add_argument("--grid-repeats", type=int, default=2, help="measure the grid this many times (interleaved)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the rows and the server log in DIR")
    a = ap.parse_args()
    from bench.analysis.boundary import bracket
    from bench.measure.slo import Slo

    folder = a.keep or Path(tempfile.mkdtemp(prefix="bench-boundary-"))
    folder.mkdir(parents=True, exist_ok=True)
    fractions = [float(f) for f in a.fractions.split(",")]
    common = ["--model", a.model, "--input-len", str(a.input_len), "--output-len", str(a.output_len),
              "--num-prompts", str(a.num_prompts)]
    print(f"# bench_boundary {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC: {a.model}, {a.input_len} in / "
          f"{a.output_len} out, {a.num_prompts} requests a level, Poisson (seeded), grid at {a.fractions} of "
          f"capacity x {a.grid_repeats} repeats, TTFT target {a.slo_multiple:g}x the light-load median", flush=True)
    server, name = start_server(a.model, a.input_len, a.output_len, folder / "server.log")
    try:
        cap_rows = bench_serve(server.base_url, name, folder / "capacity.csv", common, "--request-rate", "inf")
        capacity = cap_rows[0]["requests_per_s"] if cap_rows and cap_rows[0]["status"] == "ok" else None
        if not capacity:
            print("the capacity level failed: see", folder)
            return 1
        rates = [round(capacity * f, 3) for f in fractions]
        grid_rows = bench_serve(server.base_url, name, folder / "grid.csv", common, "--rates",
                                ",".join(f"{r:g}" for r in rates), "--repeats", str(a.grid_repeats))
        lowest = [r["ttft_p50_ms"] for r in grid_rows
                  if r["request_rate"] == min(g["request_rate"] for g in grid_rows) and r.get("ttft_p50_ms")]
        if not lowest:
            print("the grid's lowest rate has no TTFT: see", folder)
            return 1
        low = statistics.median(lowest)
        target = round(a.slo_multiple * low, 3)
        slo = Slo(ttft_ms=target)
        repeats = sorted({r.get("repeat_index") or 0 for r in grid_rows})
        per_repeat = {i: grid_steps([r for r in grid_rows if (r.get("repeat_index") or 0) == i], slo) for i in repeats}
        search_rows = bench_serve(server.base_url, name, folder / "search.csv", common, "--find-max-load",
                                  "--request-rate", f"{rates[0]:g}", "--slo-ttft-ms", str(target))
    finally:
        server.stop()
    print(f"\ncapacity: {capacity:.2f} req/s (every request sent at once)")
    print(f"target: TTFT p99 95% bound <= {target} ms ({a.slo_multiple:g} x {low:.2f} ms, the median TTFT p50 of the "
          f"lowest rate's {len(lowest)} repeats)")
    head = " | ".join(f"repeat {i}: TTFT p50, p99 bound (ms), meets" for i in repeats)
    print(f"\n| rate (req/s) | share of capacity | {head} |")
    print("|---|---|" + "---|" * len(repeats))
    for j, (rate, f) in enumerate(zip(rates, fractions)):
        cells_ = []
        for i in repeats:
            s = per_repeat[i][j] if j < len(per_repeat[i]) else None
            p50 = next((r.get("ttft_p50_ms") for r in grid_rows if r["run_id"] == s.verdict.ref), None) if s else None
            cells_.append("-" if s is None else
                          f"{fmt(p50)}, {fmt(s.verdict.ttft_p99_bound_ms)}, {'yes' if s.passed else 'no'}")
        print(f"| {rate:g} | {f:.2f} | " + " | ".join(cells_) + " |")
    bounds = {i: bracket(per_repeat[i]) for i in repeats}
    pooled = pooled_steps(grid_rows, folder / "grid", slo) if len(repeats) > 1 else None
    # the grid's boundary: its repeats pooled (each rate's n x repeats requests, as the search's confirmed boundary
    # is judged on 2 x n), else its one pass
    grid_lo, grid_hi = bracket(pooled) if pooled else bounds[repeats[0]]
    for i in repeats:
        lo, hi = bounds[i]
        print(f"grid repeat {i}: boundary {lo} req/s (lowest failing {hi})")
    if pooled:
        lo, hi = bracket(pooled)
        print(f"grid, repeats pooled ({len(repeats)} x {a.num_prompts} requests a rate): boundary {lo} req/s "
              f"(lowest failing {hi}; bounds " + ", ".join(f"{s.level:g}: {fmt(s.verdict.ttft_p99_bound_ms)}"
                                                          for s in pooled) + ")")
    record = search_record(folder / "search.csv", search_rows)
    pooled_of = {st["run_id"]: st["pooled"] for st in record.get("steps", []) if st.get("pooled")}
    print("search steps: " + ", ".join(
        f"{r['search_step']}: {r['request_rate']:g} req/s {'pass' if r['search_passed'] else 'miss'} "
        + (f"(confirmation: {fmt(pooled_of[r['run_id']]['ttft_p99_bound_ms'])} ms over "
           f"{pooled_of[r['run_id']]['runs']} runs pooled; this run {fmt(r.get(KEY))} ms)"
           if r["run_id"] in pooled_of else f"({fmt(r.get(KEY))} ms)")
        for r in sorted(search_rows, key=lambda r: r["search_step"] or 0)))
    print(f"search stopped: {record.get('stopped')}")
    found = [r for r in search_rows if r.get("slo_boundary")]
    k = len(search_rows)
    if not found or grid_lo is None:
        print(f"search: no boundary in {k} levels; grid boundary {grid_lo}")
        return 1
    b = found[0]["request_rate"]
    diff = abs(b - grid_lo) / grid_lo
    first = bounds[repeats[0]][0]
    noise = [abs(bounds[i][0] - first) / first for i in repeats[1:] if bounds[i][0] is not None and first]
    which = "pooled " if pooled else ""
    print(f"search: boundary {b:g} req/s with k = {k} levels against the grid's {len(rates)} (x {len(repeats)} "
          f"repeats): {diff:.1%} from the grid's {which}boundary {grid_lo:g} "
          f"({'within' if diff <= 0.10 else 'NOT within'} 10%)"
          + (f"; each repeat's boundary is {', '.join(f'{bounds[i][0]:g}' for i in repeats)}" if pooled else "")
          + (f"; the grid's own repeats differ by {', '.join(f'{n:.1%}' for n in noise)}" if noise else ""))
    print(f"rows: {folder}")
    return 0 if diff <= 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
