"""Does the machine's speed drift with its memory, cache or arithmetic speed? One vLLM server (CPU build) measured
at one stream again and again, probes of this process's speed right before each level: if the levels' TPOT moves
with a probe, the machine's neighbours are taking that from it (a cloud VM's noise no counter of the guest shows:
docs/telemetry.md); if with none, something else moves it.

    .venv/bin/python scripts/speed_drift.py OUT_DIR [--levels 20] [--model tiny-qwen2]

Each level: three probes of this process (a numpy copy of 256 MiB, the best of 5; one of 4 MiB, which stays in the
caches, the best of 200; a float32 256 x 256 matmul, the best of 50; each after one warm-up call), then `bench serve --endpoint` at concurrency 1,
32 requests of 128 in / 32 out after 8 warm-up requests, against the one server (started here, in this script's
session: docs/serve.md, "Streams that come all at once"). Printed: each level's probes, TPOT p50 and TTFT p50, the
rank correlation of TPOT with each probe's time (1 / its rate) over the levels, and the CPU seconds and involuntary
context switches of each of the server's processes over each level (every level serves the same requests, so a
process that spends more CPU on a slow level ran the same work slower); OUT_DIR/levels.json keeps them. A
benchmark-style reading, not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.roofline.probe import best_s  # noqa: E402  (after the path: the script runs from any directory)

COPY_BYTES = 256 * 2**20
CACHED_COPY_BYTES = 4 * 2**20  # stays in the caches: the tiny models' weights are a few MB


def copy_gb_s(size: int, repeats: int) -> float:
    """Read + write bytes a second of the best of `repeats` numpy copies of `size` bytes (the way bench probe counts:
    bench.roofline.probe.best_s, after one warm-up copy)."""
    src = np.ones(size // 8)
    dst = np.empty_like(src)
    return 2 * size / best_s(lambda: np.copyto(dst, src), 0.0, repeats=repeats) / 1e9


def matmul_gflops(n: int = 256, repeats: int = 50) -> float:
    """float32 n x n matmuls a second of the best of `repeats` (numpy's BLAS on this process's threads)."""
    a = np.ones((n, n), dtype=np.float32)
    return 2 * n**3 / best_s(lambda: a @ a, 0.0, repeats=repeats) / 1e9


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
    copies, caches, flops, trees = [], [], [], []
    with VllmServer(server_cmd, args.out / "server.log", 900, env=engine_env(os.environ, "dummy")) as server:
        for _ in range(args.levels):
            copies.append(copy_gb_s(COPY_BYTES, 5))
            caches.append(copy_gb_s(CACHED_COPY_BYTES, 200))
            flops.append(matmul_gflops())
            before, t0 = tree_threads(server.proc.pid), time.perf_counter()
            subprocess.run([sys.executable, "-m", "bench", "serve", "--model", args.model,
                            "--endpoint", server.base_url, "--input-len", "128", "--output-len", "32",
                            "--num-prompts", "32", "--warmup-requests", "8", "--concurrencies", "1", "--seed", "1",
                            "--out", str(csv_path)], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
            after, wall = tree_threads(server.proc.pid), time.perf_counter() - t0
            # each level does the same work (the same requests): seconds and switches a level compare directly
            trees.append({k: (v[0] - before.get(k, (0, 0))[0], v[1] - before.get(k, (0, 0))[1], wall)
                          for k, v in after.items()})
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))[-args.levels:]
    tpot = [float(r["tpot_p50_ms"]) for r in rows]
    print("level  copy GB/s  cached copy GB/s  matmul GFLOPS  TPOT p50 ms  TTFT p50 ms")
    for i, (c, k, g, r) in enumerate(zip(copies, caches, flops, rows)):
        print(f"{i + 1:5d}  {c:9.1f}  {k:16.1f}  {g:13.1f}  {float(r['tpot_p50_ms']):11.2f}  "
              f"{float(r['ttft_p50_ms']):11.2f}")
    print(f"TPOT p50 {min(tpot):.2f}-{max(tpot):.2f} ms over {len(rows)} levels; rank correlation of TPOT with")
    for name, probe in (("the copy's time", copies), ("the cached copy's", caches), ("the matmul's", flops)):
        print(f"  {name} (1 / {min(probe):.1f}-{max(probe):.1f}): {spearman(tpot, [1 / v for v in probe]):+.2f}")
    # the server's processes over each level (bench serve's client is a process of its own, not in the tree)
    names = sorted({k for t in trees for k in t})
    print("the server's processes over each level (the same requests each): CPU seconds and involuntary context "
          "switches a level")
    for k in names:
        cpu = [t.get(k, (0.0, 0, 0.0))[0] for t in trees]
        switches = [t.get(k, (0.0, 0, 0.0))[1] for t in trees]
        print(f"  {k}: CPU {min(cpu):.2f}-{max(cpu):.2f} s, switches {min(switches):.0f}-{max(switches):.0f}; "
              f"rank correlation of TPOT with its CPU {spearman(tpot, cpu):+.2f}, with its switches "
              f"{spearman(tpot, switches):+.2f}")
    (args.out / "levels.json").write_text(json.dumps([{"tpot_p50_ms": t, "copy_gb_s": c, "cached_copy_gb_s": k,
                                                        "matmul_gflops": g, "processes": tr}
                                                       for t, c, k, g, tr in zip(tpot, copies, caches, flops, trees)],
                                                      indent=1))


if __name__ == "__main__":
    main()
