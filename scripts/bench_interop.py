"""bench's own serving measurement beside vLLM's, on one server and one load: `vllm bench serve` and `bench serve
--endpoint` against the same local vLLM CPU server (tiny Qwen2 architecture, dummy weights, the word-level tokenizer
of tests/interop_model.py), then `bench import` of vLLM's result. For TTFT, TPOT, ITL, E2E and throughput it prints:

    bench       bench serve's own measurement (its client, its row)
    vLLM        vLLM's summary as imported (vllm bench serve's own figures)
    recomputed  bench's figures from vLLM's per-request arrays (--save-detailed), by bench's code

The last two should agree within 1% (their definitions are the same; ITL is per token in bench, per chunk in
vLLM, so they agree while every chunk carries one token: the tokens-per-chunk line says). A script, not a test.

    .venv/bin/python scripts/bench_interop.py [--num-prompts 32] [--concurrency 4] [--input-len 64] [--output-len 32]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.cli import main as bench  # noqa: E402
from bench.config import run as runconfig  # noqa: E402
from bench.config.catalog import choose_weights  # noqa: E402
from bench.engines.vllm_build import installed_vllm_build  # noqa: E402
from bench.serve.server import VllmServer, server_args  # noqa: E402

METRICS = [("TTFT mean (ms)", "ttft_mean_ms", "mean_ttft_ms"), ("TTFT p50 (ms)", "ttft_p50_ms", "p50_ttft_ms"),
           ("TTFT p99 (ms)", "ttft_p99_ms", "p99_ttft_ms"), ("TPOT mean (ms)", "tpot_mean_ms", "mean_tpot_ms"),
           ("TPOT p50 (ms)", "tpot_p50_ms", "p50_tpot_ms"), ("TPOT p99 (ms)", "tpot_p99_ms", "p99_tpot_ms"),
           ("ITL mean (ms)", "itl_mean_ms", "mean_itl_ms"), ("ITL p50 (ms)", "itl_p50_ms", "p50_itl_ms"),
           ("ITL p99 (ms)", "itl_p99_ms", "p99_itl_ms"), ("E2E p50 (ms)", "e2e_p50_ms", "p50_e2el_ms"),
           ("output tok/s", "output_tok_s", "output_throughput"), ("total tok/s", "total_tok_s",
                                                                   "total_token_throughput"),
           ("requests/s", "requests_per_s", "request_throughput")]


def csv_row(path: Path) -> dict:
    import pandas as pd

    return pd.read_csv(path).iloc[-1].to_dict()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-prompts", type=int, default=32)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--input-len", type=int, default=64)
    p.add_argument("--output-len", type=int, default=32)
    p.add_argument("--keep", type=Path, default=None, help="keep the files in this folder")
    a = p.parse_args()
    work = a.keep or Path(tempfile.mkdtemp(prefix="bench-interop-"))
    work.mkdir(parents=True, exist_ok=True)
    made = subprocess.run([sys.executable, str(REPO / "tests" / "interop_model.py"), str(work / "tiny")], check=True,
                          capture_output=True, text=True)
    model_dir, tokenizer = made.stdout.split()
    cfg, model = runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "max_model_len": 512,
                                                    "cpu_kv_cache_gb": 1}))
    choice = choose_weights(model, "dummy")
    device = installed_vllm_build()[0] or "cpu"

    def args(port):
        return [*server_args(cfg, model_dir, choice.load_format, "tiny-qwen2", device, port,
                             token_prompts=False), "--tokenizer", tokenizer]

    load = ["--num-prompts", str(a.num_prompts)]
    with VllmServer(args, work / "server.log", start_timeout_s=900) as server:
        print(f"vLLM {installed_vllm_build()[1] or ''} server on {server.base_url}; {a.num_prompts} requests x "
              f"{a.input_len} in / {a.output_len} out, concurrency {a.concurrency}, ignore_eos", flush=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(REPO / "scripts" / "vllm_bench.py"), "serve", "--backend", "vllm",
                        "--base-url", server.base_url, "--model", "tiny-qwen2", "--tokenizer", tokenizer,
                        "--dataset-name", "random", "--random-input-len", str(a.input_len), "--random-output-len",
                        str(a.output_len), *load, "--max-concurrency", str(a.concurrency), "--ignore-eos",
                        "--seed", "0", "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles",
                        "50,90,99", "--save-result", "--save-detailed", "--result-dir", str(work),
                        "--result-filename", "vllm.json"], check=True, capture_output=True)
        vllm_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        code = bench(["serve", "--model", "tiny-qwen2", "--endpoint", server.base_url, "--input-len",
                      str(a.input_len), "--output-len", str(a.output_len), *load, "--concurrencies",
                      str(a.concurrency), "--out", str(work / "bench.csv")])
        bench_s = time.perf_counter() - t0
        if code != 0:
            print(f"bench serve exited {code}", file=sys.stderr)
            return code
    code = bench(["import", str(work / "vllm.json"), "--out", str(work / "imported.csv"), "--hardware", "cpu-server"])
    if code != 0:
        return code
    own, imported = csv_row(work / "bench.csv"), csv_row(work / "imported.csv")
    theirs = json.loads((work / "vllm.json").read_text())
    print(f"\nvllm bench serve took {vllm_s:.0f} s, bench serve --endpoint {bench_s:.0f} s; tokens per chunk "
          f"(recomputed from vLLM's arrays): mean {imported['tokens_per_chunk_mean']:.3g}, max "
          f"{imported['tokens_per_chunk_max']:.0f}")
    print("| metric | bench serve (own) | vLLM (imported) | recomputed from vLLM's arrays | recomputed / vLLM |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for label, ours, key in METRICS:
        v, r, b = theirs.get(key), imported.get(ours), own.get(ours)
        ratio = r / v if v and r == r else float("nan")
        if "ITL" not in label or imported["tokens_per_chunk_max"] == 1:
            worst = max(worst, abs(ratio - 1)) if ratio == ratio else worst
        print(f"| {label} | {b:.4g} | {v:.4g} | {r:.4g} | {ratio:.4f} |")
    print(f"\nlargest recomputed/vLLM difference: {worst * 100:.3f}% (target within 1%)"
          + ("" if imported["tokens_per_chunk_max"] == 1 else "; ITL left out: some chunks carried several tokens, "
             "which bench counts per token and vLLM per chunk"))
    print(f"files: {work}")
    return 0 if worst <= 0.01 else 1


if __name__ == "__main__":
    sys.exit(main())
