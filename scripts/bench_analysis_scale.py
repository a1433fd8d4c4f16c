"""How long `bench compare` and `bench report` take, and how much memory they need, on large results files.

    python scripts/bench_analysis_scale.py                 # 10,000 and 100,000 rows
    python scripts/bench_analysis_scale.py --rows 10000    # one size only
    python scripts/bench_analysis_scale.py --keep DIR      # keep the generated files and outputs in DIR

Each size is a pair of files, BASE and NEW, of `rows` rows each: rows / 10 distinct cases (4 models x
hundreds of workloads x batch sizes, on 4 machines), each case run 10 times with +-3% noise; NEW has 2% of
the cases 20% slower (planted regressions). Rows come from tests/result_rows.py (the same realistic rows the
compare and report tests use). Each command runs as its own process (`python -m bench ...`); the figures are
its wall time and its peak RSS (the kernel's ru_maxrss of that process, from os.wait4). The targets of issue
17: each under 10 s and 2 GB at 100,000 rows (10,000 cases) on 2 cores.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

REPEATS = 10
NOISE = 0.03
REGRESSED_SHARE = 0.02
METRICS = ("output_tok_s", "total_tok_s", "requests_per_s", "input_tok_s", "ttft_p50_ms", "ttft_p99_ms",
           "ttft_mean_ms", "tpot_p50_ms", "tpot_p99_ms", "tpot_mean_ms", "e2e_p50_ms", "e2e_p99_ms", "elapsed_s")
SLOWER = ("ttft_p50_ms", "ttft_p99_ms", "ttft_mean_ms", "tpot_p50_ms", "tpot_p99_ms", "tpot_mean_ms", "e2e_p50_ms",
          "e2e_p99_ms", "elapsed_s")


def cases(n: int) -> list[dict]:
    """n distinct cases: models x workloads x batch sizes; the machine cycles with the case."""
    import result_rows

    models = list(result_rows.MODELS)
    machines = [m for m in result_rows.MACHINES if m != "cpu-server"] + ["H100-SXM"]
    batches = [1, 2, 4, 8, 16, 32, 64, 128, 192, 256]
    workloads = itertools.product((128, 256, 512, 1024, 2048, 4096, 384, 768), (64, 128, 256, 512, 1024),
                                  (16, 32, 64, 128, 256, 512, 1000))
    out = []
    for i, (inp, outp, prompts) in enumerate(workloads):
        for model in models:
            for batch in batches:
                if len(out) == n:
                    return out
                machine = machines[(i + len(out)) % len(machines)]
                out.append(result_rows.row(model, machine, batch, input_len=inp, output_len=outp,
                                           num_prompts=prompts, hardware=machine))
    if len(out) < n:
        raise SystemExit(f"at most {len(out)} cases; ask for fewer rows")
    return out


def make_files(rows: int, folder: Path) -> tuple[Path, Path]:
    """BASE.csv and NEW.csv of `rows` rows each (rows / REPEATS cases)."""
    import numpy as np
    import pandas as pd

    from bench.results import schema

    base_cases = pd.DataFrame(cases(rows // REPEATS))
    rng = np.random.default_rng(0)
    paths = []
    for side in ("base", "new"):
        df = base_cases.loc[base_cases.index.repeat(REPEATS)].reset_index(drop=True)
        df["run_id"] = [f"20260101T000000Z-{side}{i:07d}" for i in range(len(df))]
        jitter = 1 + rng.uniform(-NOISE, NOISE, size=(len(df), len(METRICS)))
        if side == "new":
            slow = (np.arange(len(df)) // REPEATS) % int(1 / REGRESSED_SHARE) == 0
            for j, m in enumerate(METRICS):
                jitter[slow, j] *= 1.25 if m in SLOWER else 0.8
        df[list(METRICS)] = df[list(METRICS)].to_numpy() * jitter
        header = list(schema.COLUMNS) + [c for c in df.columns if c not in schema.COLUMNS]
        df = df.reindex(columns=header)
        path = folder / f"{side}-{rows}.csv"
        df.to_csv(path, index=False, float_format="%.6g")
        paths.append(path)
    return paths[0], paths[1]


def measure(cmd: list[str]) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS in MB, exit code, last lines of output) of one command in its own process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "160"})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    tail = "\n".join(out.decode(errors="replace").splitlines()[-3:])
    return wall, usage.ru_maxrss / 1024, proc.returncode, tail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, action="append", help="rows per file (default: 10000 and 100000)")
    ap.add_argument("--keep", type=Path, default=None, help="folder to keep the files in (default: a temporary one)")
    args = ap.parse_args()
    sizes = args.rows or [10_000, 100_000]
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="bench-scale-")
    folder = args.keep or Path(tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPU(s); python {sys.version.split()[0]}; load average before: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'rows':>8} {'cases':>7} {'command':<8} {'seconds':>8} {'peak MB':>8} {'exit':>4}")
    for rows in sizes:
        base, new = make_files(rows, folder)
        runs = {"compare": [sys.executable, "-m", "bench", "compare", str(base), str(new),
                            "--out", str(folder / f"compare-{rows}.csv")],
                "report": [sys.executable, "-m", "bench", "report", str(new), "--out", str(folder / f"report-{rows}")]}
        shutil.rmtree(folder / f"report-{rows}", ignore_errors=True)
        for name, cmd in runs.items():
            wall, rss, rc, tail = measure(cmd)
            print(f"{rows:>8} {rows // REPEATS:>7} {name:<8} {wall:>8.1f} {rss:>8.0f} {rc:>4}   (load average "
                  f"{os.getloadavg()[0]:.1f})", flush=True)
            if rc not in (0, 1):  # compare exits 1 on the planted regressions
                print(tail)
        report = folder / f"report-{rows}"
        if report.is_dir():
            files = list(report.iterdir())
            size = sum(f.stat().st_size for f in files)
            print(f"{'':>8} {'':>7} report: {len(files)} files, {size / 1e6:.1f} MB "
                  f"(index.html {(report / 'index.html').stat().st_size / 1e6:.1f} MB)")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
