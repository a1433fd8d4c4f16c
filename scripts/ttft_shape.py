"""The shape of a served level's TTFT spread: which wait a request's latency on its way to the engine is. At one
stream, equal requests meet an idle engine; what spreads their TTFT is the way there (docs/roofline.md). A fixed
delay gives no spread, a uniform wait a symmetric one ((p90 - p50) / (p50 - p10) = 1.0), an exponential wait a
right-skewed one (ln(10/2) / ln(2/(10/9)) = 2.74); bench's serving path takes the exponential
(bench.roofline.servingpath, latency_dist).

    .venv/bin/python scripts/ttft_shape.py SERVE.csv [SERVE2.csv ...] [--concurrency 1]

Each file is a `bench serve` results file with its JSON folder beside it. One line per level at --concurrency:
the model, the requests whose tokens came one by one (a request any of whose reads carried more than one token is
left out: its TTFT waited on the delivery, docs/serve.md), their TTFT p10 / p50 / p90 in ms, the gap ratio, and
the exponential mean each gap implies ((p90 - p50) / 1.609, (p50 - p10) / 0.588). Then the median gap ratio over
the levels. A benchmark-style reading, not a test.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import statistics
import sys
from pathlib import Path

from bench.measure.metrics import percentile

_spec = importlib.util.spec_from_file_location("served_steps", Path(__file__).with_name("served_steps.py"))
served_steps = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(served_steps)

UPPER = math.log(10 / 2)  # p90 - p50 of a standard exponential: ln(1/0.1) - ln(1/0.5)
LOWER = math.log(2 / (10 / 9))  # p50 - p10: ln(1/0.5) - ln(1/0.9)


def streamed_ttfts_ms(requests: list[dict]) -> list[float]:
    """TTFT in ms of the requests whose every read carried one token."""
    return [q["ttft_s"] * 1e3 for q in requests if max(q.get("chunk_tokens") or [1]) <= 1]


def shape(ttfts_ms: list[float]) -> dict:
    """p10, p50, p90, the gap ratio (p90 - p50) / (p50 - p10) (inf where p50 = p10) and the exponential means the two
    gaps imply."""
    p10, p50, p90 = (percentile(ttfts_ms, q) for q in (10, 50, 90))
    return {"p10": p10, "p50": p50, "p90": p90, "ratio": (p90 - p50) / (p50 - p10) if p50 > p10 else math.inf,
            "mean_upper_ms": (p90 - p50) / UPPER, "mean_lower_ms": (p50 - p10) / LOWER}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--concurrency", type=int, default=1)
    args = ap.parse_args()
    ratios = []
    for path in args.files:
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("status") == "ok"
                    and r.get("concurrency") and int(float(r["concurrency"])) == args.concurrency]
        for row in rows:
            requests = served_steps.requests_of(path, row)
            ttfts = streamed_ttfts_ms(requests)
            if len(ttfts) < 10:
                print(f"{path.name} {row['run_id']}: {len(ttfts)} requests streamed token by token, too few")
                continue
            s = shape(ttfts)
            ratios.append(s["ratio"])
            print(f"{path.name} {row['model']} {row['run_id']}: {len(ttfts)} of {len(requests)} streamed; TTFT p10/p50/"
                  f"p90 {s['p10']:.1f} / {s['p50']:.1f} / {s['p90']:.1f} ms; gap ratio {s['ratio']:.2f}; exponential "
                  f"mean {s['mean_upper_ms']:.1f} (upper gap), {s['mean_lower_ms']:.1f} ms (lower gap)")
    if not ratios:
        sys.exit(f"no level at concurrency {args.concurrency} with 10 requests streamed token by token")
    print(f"median gap ratio over {len(ratios)} levels: {statistics.median(ratios):.2f} (uniform 1.00, exponential "
          f"{UPPER / LOWER:.2f})")


if __name__ == "__main__":
    main()
