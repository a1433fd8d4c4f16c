"""What a workload and prefix caching change: the same model and request count with three workloads, prefix
caching off and on, on the installed vLLM build (the CPU build is enough), priced beside a vendor with a
cache-hit price.

    python scripts/bench_workloads.py [--model tiny-qwen2] [--num-prompts 32] [--hardware cpu-server]
                                      [--vendor deepseek] [--keep DIR]

Workloads (a) random 128 in / 64 out; (b) ShareGPT-like: a ShareGPT-format file written here with
long-tailed (lognormal) prompt and answer lengths from tests/data/workloads/corpus.txt, tokenized by the
project's word-level tokenizer, output lengths from the answers; (c) shared-prefix: 4 system prompts of 512
tokens shared by the requests, 128 tokens of their own, 64 out. Each runs as `bench run` (its own engine
process, one warm-up batch of other prompts, then the timed generate), once with `--no`-prefix caching and once
with `--enable-prefix-caching`; then `bench cost` prices every row on --hardware (rental basis) beside the
vendor's latest price, its input at the vendor's cache-hit price at the row's measured hit rate.
Prints a Markdown table: output tok/s, TTFT p50/p99, hit rate, self-hosted CNY/M (blended 3:1) and the vendor's.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "workloads"


def sharegpt_like(path: Path, n: int, seed: int = 15) -> None:
    """n conversations whose prompt and answer word counts are lognormal (medians about 90 and 60 words, capped
    at 1,000 and 400): a long tail as in ShareGPT dumps, text from the project's corpus."""
    words = (DATA / "corpus.txt").read_text(encoding="utf-8").split()
    rng = random.Random(seed)

    def passage(k: int) -> str:
        start = rng.randrange(len(words))
        return " ".join(words[(start + i) % len(words)] for i in range(k))

    convs = [{"id": f"c{i}", "conversations": [
        {"from": "human", "value": passage(max(4, min(1000, int(rng.lognormvariate(4.5, 1.0)))))},
        {"from": "gpt", "value": passage(max(4, min(400, int(rng.lognormvariate(4.1, 0.8)))))}]} for i in range(n)]
    path.write_text(json.dumps(convs))


def cases(sharegpt: Path) -> list[tuple[str, list[str]]]:
    return [
        ("random 128/64", ["--input-len", "128", "--output-len", "64"]),
        ("ShareGPT-like", ["--dataset", f"sharegpt:{sharegpt}", "--tokenizer", str(DATA / "tokenizer")]),
        ("shared-prefix 4 x 512", ["--dataset", "shared-prefix", "--prefix-len", "512", "--num-prefixes", "4",
                                   "--input-len", "640", "--output-len", "64"]),
    ]


def bench(*args: str) -> None:
    cmd = [sys.executable, "-m", "bench", *args]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, check=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny-qwen2")
    ap.add_argument("--num-prompts", type=int, default=32)
    ap.add_argument("--max-num-seqs", type=int, default=8)
    ap.add_argument("--hardware", default="cpu-server")
    ap.add_argument("--vendor", default="deepseek")
    ap.add_argument("--keep", type=Path, help="directory for the results (default: a temporary one)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-workloads-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = work / "workloads.csv"
    sharegpt = work / "sharegpt-like.json"
    sharegpt_like(sharegpt, 4 * args.num_prompts)
    labels = []
    for label, extra in cases(sharegpt):
        for caching in (False, True):
            load = os.getloadavg()[0]  # the machine's load when the case starts: shared machines are noisy
            bench("run", "--model", args.model, "--num-prompts", str(args.num_prompts), "--max-num-seqs",
                  str(args.max_num_seqs), "--max-model-len", "2048", "--hardware", args.hardware, "--out", str(runs),
                  *extra, *(["--enable-prefix-caching"] if caching else []))
            labels.append((label, "on" if caching else "off", load))
    priced = work / "cost.csv"
    bench("cost", str(runs), "--hardware", args.hardware, "--vendors", args.vendor, "--out", str(priced))
    rows = list(csv.DictReader(runs.open()))
    cost = {}
    for line in csv.DictReader(priced.open()) if priced.exists() else []:
        cost.setdefault(line["run_id"], line)  # the cheapest of the vendor's rows in force
    print(f"\n{args.model}, {args.num_prompts} requests, max_num_seqs {args.max_num_seqs}; CNY per M tokens blended "
          f"3:1 on {args.hardware} (rental) vs {args.vendor} (input at its cache-hit price at the measured rate)\n")
    print(f"machine: {os.cpu_count()} CPUs; load: the 1-minute load average as the case started\n")
    print("| workload | prefix caching | status | in / out tokens (mean) | output tok/s | TTFT p50 / p99 ms | "
          "hit rate | self-hosted CNY/M | vendor CNY/M (basis) | load |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (label, caching, load), r in zip(labels, rows):
        c = cost.get(r["run_id"], {})
        hit = f"{float(r['prefix_cache_hit_rate']):.1%}" if r.get("prefix_cache_hit_rate") else "-"
        print(f"| {label} | {caching} | {r['status']} | {r['input_len']} / {r['output_len']} | {_f(r['output_tok_s'])} "
              f"| {_f(r['ttft_p50_ms'], 0)} / {_f(r['ttft_p99_ms'], 0)} | {hit} | {_f(c.get('cny_per_m_blended'), 3)} | "
              f"{_f(c.get('vendor_cny_per_m_blended'), 3)} ({c.get('vendor_model', '-')}, "
              f"{c.get('vendor_basis', '-')}) | {load:.1f} |")
    print(f"\nrows: {runs}; cost lines: {priced}")
    return 0


def _f(v, digits: int = 1) -> str:
    try:
        return f"{float(v):,.{digits}f}"
    except (TypeError, ValueError):
        return "-"


if __name__ == "__main__":
    sys.exit(main())
