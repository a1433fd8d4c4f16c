"""What a sweep costs beyond the work it measures: 6 `--engine sim` cases and 3 tiny real-engine cases.

    python scripts/bench_sweep_overhead.py [--keep DIR] [--only sim|real]

Each sweep runs as `python -m bench sweep` (one process per case, rows recorded atomically). Its wall
time is compared with the sum of the cases' own timed work (the wall time of the timed generate: for
vLLM its `elapsed_s`, for sim the simulation's compute); the difference, per case, is split from each
case's JSON (`timings`):

    process start   spawn of the case's process until the worker's main(): interpreter + bench's imports
    engine import   loading the engine's packages (vLLM: vllm and torch) and its checks
    engine start    the engine's construction (vLLM: model load, KV-cache allocation)
    warm-up         the warm-up batch
    worker, other   workload sampling, KV-cache probe, memory sampler, result file
    process exit    result written until the parent sees the process (and its engine children) gone
    sweep driver    the sweep process itself: start-up, validation, progress, JSON + CSV writes
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import results  # noqa: E402
from bench.config.engines import engines  # noqa: E402

SWEEPS = {
    "sim": {
        "base": {"engine": "sim", "hardware": "H100-SXM", "model": "qwen2.5-7b-instruct", "input_len": 512,
                 "output_len": 128, "num_prompts": 64},
        "grid": {"max_num_seqs": [1, 2, 4, 8, 16, 32]},
    },
    "real": {
        "base": {"engine": "vllm", "model": "tiny-qwen2", "device": "cpu", "cpu_kv_cache_gb": 1, "input_len": 32,
                 "output_len": 16, "num_prompts": 8},
        "grid": {"max_num_seqs": [1, 2, 4]},
    },
}
PARTS = ("process_start_s", "engine_check_s", "engine_start_s", "warmup_s", "worker_other_s", "process_exit_s")
LABELS = {"engine_check_s": "engine import"}


def available(name: str) -> str | None:
    """Why a sweep cannot run in this build, or None."""
    if name == "sim" and "sim" not in engines():
        return "the sim engine is not in this build"
    if name == "real" and importlib.util.find_spec("vllm") is None:
        return "vllm is not installed (bash scripts/setup.sh)"
    return None


def run_sweep(name: str, where: Path) -> dict:
    sweep_file = where / f"{name}.yaml"
    sweep_file.write_text(yaml.safe_dump(SWEEPS[name], sort_keys=False))
    out = where / f"{name}.csv"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench", "sweep", str(sweep_file), "--out", str(out)],
                          cwd=where, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    wall_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{name} sweep exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    cases = []
    for row in results.read_rows(out):
        record = json.loads(results.json_path(out, row["run_id"]).read_text())
        t = record["timings"]
        t["worker_other_s"] = t["worker_s"] - sum(t[p] or 0 for p in ("engine_check_s", "engine_start_s", "warmup_s",
                                                                          "generate_wall_s"))
        cases.append(t)
    return {"name": name, "wall_s": wall_s, "cases": cases}


def report(r: dict) -> list[str]:
    n = len(r["cases"])
    timed = sum(c["generate_wall_s"] for c in r["cases"])
    case_walls = sum(c["case_wall_s"] for c in r["cases"])
    per_case = (r["wall_s"] - timed) / n
    mean = {p: statistics.fmean(c[p] for c in r["cases"]) for p in PARTS}
    driver = (r["wall_s"] - case_walls) / n
    lines = [
        f"{r['name']}: {n} cases, sweep wall {r['wall_s']:.2f} s, timed work {timed:.3f} s "
        f"-> overhead {per_case:.2f} s per case",
        "  per case: " + ", ".join(f"{LABELS.get(p, p.removesuffix('_s').replace('_', ' '))} {mean[p]:.3f} s"
                                   for p in PARTS)
        + f", sweep driver {driver:.3f} s",
    ]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, default=None, help="keep the sweep files and results in this folder")
    ap.add_argument("--only", choices=list(SWEEPS), default=None)
    args = ap.parse_args()
    names = [args.only] if args.only else list(SWEEPS)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-overhead-") as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        print(f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
        for name in names:
            why = available(name)
            if why:
                print(f"{name}: skipped ({why})")
                continue
            for line in report(run_sweep(name, where)):
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
