"""Does the machine's speed drift with its memory bandwidth? One vLLM server (CPU build) measured at one stream again
and again, a copy-bandwidth probe of this process right before each level: if the levels' TPOT moves with the copy
rate the machine's neighbours are taking its memory bandwidth (a cloud VM's noise no counter of the guest shows:
docs/telemetry.md); if not, something else does.

    .venv/bin/python scripts/speed_drift.py OUT_DIR [--levels 20] [--model tiny-qwen2]

Each level: the copy probe (a numpy copy of 256 MiB, the best of 5), then `bench serve --endpoint` at concurrency 1,
32 requests of 128 in / 32 out after 8 warm-up requests, against the one server (started here, in this script's
session: docs/serve.md, "Streams that come all at once"). Printed: each level's copy GB/s, TPOT p50 and TTFT p50,
the host columns, and the rank correlation of TPOT with 1 / copy rate over the levels. A benchmark-style reading,
not a test.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

COPY_BYTES = 256 * 2**20


def copy_gb_s(repeats: int = 5) -> float:
    """Read + write bytes a second of the best of `repeats` numpy copies of 256 MiB (the way bench probe counts)."""
    src = np.ones(COPY_BYTES // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
    return 2 * COPY_BYTES / best / 1e9


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    for r, i in enumerate(order):
        out[i] = float(r)
    return out


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (no ties expected in measured floats)."""
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--levels", type=int, default=20)
    ap.add_argument("--model", default="tiny-qwen2")
    args = ap.parse_args()
    from bench.config import run as runconfig
    from bench.config.catalog import choose_weights
    from bench.engines.base import engine_env
    from bench.engines.vllm_build import installed_vllm_build
    from bench.measure.cpu_features import cpu_dtype, cpu_flags
    from bench.serve.server import VllmServer, server_args

    args.out.mkdir(parents=True, exist_ok=True)
    dtype = cpu_dtype(cpu_flags())
    cfg, model = runconfig.resolve(runconfig.parse({"model": args.model, "dtype": dtype, "max_model_len": 256,
                                                    "cpu_kv_cache_gb": 1, "max_num_seqs": 16}))
    choice = choose_weights(model, "dummy")
    device = installed_vllm_build()[0] or "cpu"

    def server_cmd(port: int) -> list[str]:
        return server_args(cfg, choice.load_path, choice.load_format, args.model, device, port, token_prompts=True)


    csv_path = args.out / "levels.csv"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    copies = []
    with VllmServer(server_cmd, args.out / "server.log", 900, env=engine_env(os.environ, "dummy")) as server:
        for _ in range(args.levels):
            copies.append(copy_gb_s())
            subprocess.run([sys.executable, "-m", "bench", "serve", "--model", args.model,
                            "--endpoint", server.base_url, "--input-len", "128", "--output-len", "32",
                            "--num-prompts", "32", "--warmup-requests", "8", "--concurrencies", "1", "--seed", "1",
                            "--out", str(csv_path)], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))[-args.levels:]
    tpot = [float(r["tpot_p50_ms"]) for r in rows]
    print("level  copy GB/s  TPOT p50 ms  TTFT p50 ms")
    for i, (c, r) in enumerate(zip(copies, rows)):
        print(f"{i + 1:5d}  {c:9.1f}  {float(r['tpot_p50_ms']):11.2f}  {float(r['ttft_p50_ms']):11.2f}")
    print(f"copy {min(copies):.1f}-{max(copies):.1f} GB/s, TPOT p50 {min(tpot):.2f}-{max(tpot):.2f} ms; "
          f"rank correlation of TPOT with 1 / copy rate: {spearman(tpot, [1 / c for c in copies]):+.2f} "
          f"over {len(rows)} levels")


if __name__ == "__main__":
    main()
