"""The engine steps a served level went through, read off its streamed requests: each inter-token latency is one
step of the request that saw it, labelled by how many streams were decoding at that instant and whether another
request's first token came out of the same step (a prefill beside the decodes). Measured and simulated levels side
by side tell whether the sim's steps or its schedule miss: a step model that is right gives the same medians.

    .venv/bin/python scripts/served_steps.py MEASURED.csv [SIMULATED.csv] [--level conc:16|rate:19.6] [--sim-level L]

MEASURED.csv and SIMULATED.csv are `bench serve` results files (with their JSON folders beside them); the level
picks one row of each (default: the first). Printed, one line per (kind, streams) group: the number of
inter-token latencies in it and their median in ms, measured then simulated. Streams are counted in pairs (2, 4,
...: a level's count moves by one every few steps). A benchmark-style reading, not a test.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

SAME_STEP_S = 0.002  # a first token within 2 ms of a token's arrival came out of the same step


def level_row(path: Path, level: str | None) -> dict:
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("status") == "ok"]
    if not rows:
        sys.exit(f"{path}: no ok rows")
    if level is None:
        return rows[0]
    kind, _, value = level.partition(":")
    column = {"conc": "concurrency", "rate": "request_rate"}.get(kind)
    if column is None:
        sys.exit(f"--level {level}: give conc:C or rate:R")
    for r in rows:
        if r.get(column) and abs(float(r[column]) - float(value)) < 1e-9:
            return r
    sys.exit(f"{path}: no ok row at {level} (levels: "
             f"{', '.join(r.get('concurrency') or r.get('request_rate') for r in rows)})")


def requests_of(path: Path, row: dict) -> list[dict]:
    record = json.loads((path.with_suffix("") / f"{row['run_id']}.json").read_text())
    return [q for q in record["requests"] if q.get("success") and q.get("ttft_s") is not None]


def step_groups(requests: list[dict]) -> dict[tuple[str, int], list[float]]:
    """(kind, streams) -> inter-token latencies in ms; kind "decode" or "mixed" (a prefill came out of the step)."""
    firsts = sorted(q["start_s"] + q["ttft_s"] for q in requests)
    # streams decoding at t: first token before t, last not before it; with each request's end taken no earlier than
    # its first token, that is (first tokens before t) - (ends before t)
    ends = sorted(max(q["start_s"] + q["ttft_s"], q["end_s"]) for q in requests)
    groups: dict[tuple[str, int], list[float]] = defaultdict(list)
    for q in requests:
        t = q["start_s"] + q["ttft_s"]
        for gap in q.get("itl_s") or []:
            t += gap
            j = bisect.bisect_left(firsts, t - SAME_STEP_S)
            mixed = j < len(firsts) and firsts[j] <= t + SAME_STEP_S
            streams = bisect.bisect_left(firsts, t) - bisect.bisect_left(ends, t)
            groups[("mixed" if mixed else "decode", (streams + 1) // 2 * 2)].append(gap * 1e3)
    return groups


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("measured", type=Path)
    ap.add_argument("simulated", type=Path, nargs="?")
    ap.add_argument("--level", help="conc:C or rate:R (default: each file's first ok row)")
    ap.add_argument("--sim-level", help="the simulated file's level, where it differs (default: --level)")
    args = ap.parse_args()
    picks = [(args.measured, args.level)] + ([(args.simulated, args.sim_level or args.level)] if args.simulated else [])
    groups = [step_groups(requests_of(p, level_row(p, level))) for p, level in picks]
    names = ["measured"] + (["simulated"] if args.simulated else [])
    print("kind   streams | " + " | ".join(f"{n}: n, median ms" for n in names))
    for key in sorted(set().union(*groups)):
        cells = [f"{len(g[key]):4d} {statistics.median(g[key]):7.1f}" if g.get(key) else "   -       -"
                 for g in groups]
        print(f"{key[0]:6s} {key[1]:7d} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
