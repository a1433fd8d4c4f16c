"""Worked `bench plan`s: a script, not a test; docs/plan.md holds its output.

1. Qwen2.5-7B at 500M tokens a day on H20 vs RTX-4090 vs H100-SXM vs the Doubao / DeepSeek / Qwen APIs.
2. DeepSeek-V2-Lite at 50M tokens a day.
3. A chat workload (4:1, short answers) at a 60% context-cache hit rate.
4. Internet scale: "Doubao serves 120 billion tokens a day" (seed articles), DeepSeek-V2 (236B MoE) on H20 vs
   H800-SXM fleets; timed, since `bench plan` must size it in seconds.

Each plan is exactly what `bench plan ... --format markdown` prints (the same arguments through bench.cli.main),
so every figure traces to a point (measured rows where given, else the expected value of the published fit,
labelled with its calibration and band, the roofline bound beside it) and a price
(hardware.yaml, prices.yaml; sources and dates in each plan's notes).

    python scripts/plan_examples.py [RESULTS.csv ...]      # measured rows, if any, come first
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.cli import main  # noqa: E402

AS_OF = "2026-12-01"  # prices in force that day: fixed, so the figures do not move with the calendar
EXAMPLES = [
    ("Qwen2.5-7B, 500M tokens a day, 3:1, TTFT p99 <= 2 s, TPOT p99 <= 50 ms (rental, China market: the defaults)",
     ["--model", "qwen2.5-7b-instruct", "--hardware", "H20,RTX-4090,H100-SXM", "--traffic", "500M/day",
      "--mix", "3:1", "--peak-to-mean", "2", "--slo-ttft-ms", "2000", "--slo-tpot-ms", "50"]),
    ("DeepSeek-V2-Lite, 50M tokens a day, same targets",
     ["--model", "deepseek-v2-lite-chat", "--hardware", "H20,RTX-4090,H100-SXM", "--traffic", "50M/day",
      "--slo-ttft-ms", "2000", "--slo-tpot-ms", "50", "--basis", "owned"]),
    ("Chat: Qwen2.5-7B, 100M tokens a day at 4:1 (1,024 in / 256 out), 60% of input tokens cache hits (the vendors' "
     "and the self-hosted fleet's), TTFT p99 <= 1 s, TPOT p99 <= 40 ms",
     ["--model", "qwen2.5-7b-instruct", "--hardware", "H20,RTX-4090,H100-SXM", "--traffic", "100M/day",
      "--mix", "4:1", "--cache-hit-rate", "0.6", "--slo-ttft-ms", "1000", "--slo-tpot-ms", "40", "--basis", "owned"]),
    ("Internet scale: 120B tokens a day (the articles' Doubao figure), DeepSeek-V2 on H20 vs H800-SXM fleets, "
     "TPOT p99 <= 50 ms",
     ["--model", "deepseek-v2-chat", "--hardware", "H20,H800-SXM", "--traffic", "120B/day", "--slo-ttft-ms", "2000",
      "--slo-tpot-ms", "50", "--basis", "owned"]),
]


def run(argv: list[str]) -> tuple[str, float]:
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(["plan", *argv])
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"bench plan {' '.join(argv)} exited {code}")
    return out.getvalue(), seconds


def main_() -> int:
    results = sys.argv[1:]
    for title, argv in EXAMPLES:
        argv = [*results, *argv, "--as-of", AS_OF, "--format", "markdown"]
        text, seconds = run(argv)
        print(f"### {title}\n")
        print(f"`bench plan {' '.join(argv)}` (planned in {seconds:.2f} s)\n")
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main_())
