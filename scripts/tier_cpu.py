"""CPU seconds of a test tier, per test file: what the suite costs a machine, whatever else runs on it.

    .venv/bin/python scripts/tier_cpu.py                       # the engine, gpu and ray tiers, 2 files at a time
    .venv/bin/python scripts/tier_cpu.py -m "not engine and not gpu and not ray" --jobs 1 tests/serve

Each file runs whole (`python -m pytest -q -p no:cacheprovider -m MARKERS -n 0 FILE`) under a process that is the
child subreaper of everything the tests start (Linux: prctl PR_SET_CHILD_SUBREAPER), and waits for all of it: the CPU
time of every descendant is counted, also of those their parent never waited for (vLLM's engine-core process, a
server's engine, Ray's workers, which end as orphans; getrusage(RUSAGE_CHILDREN) in pytest's process misses them).
Prints "cpu_s<TAB>wall_s<TAB>exit<TAB>file" per file, then the total. Wall seconds on a shared machine are not the
suite's time; the CPU seconds are nearly so (threads spinning while they wait for a core add some)."""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PR_SET_CHILD_SUBREAPER = 36
ENGINE_TIERS = "engine or gpu or ray"


def pytest_cmd(markers: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", markers, *args]


def one_file(markers: str, path: str) -> dict:
    """Run one file's tests as this process's child, reap every descendant, return its CPU and wall seconds."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    t0 = time.monotonic()
    proc = subprocess.Popen(pytest_cmd(markers, "-n", "0", path), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    code = proc.wait()
    while True:  # the orphans reparented here, until none is left
        try:
            os.wait4(-1, 0)
        except ChildProcessError:
            break
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": time.monotonic() - t0, "exit": code, "file": path}


def tier_files(markers: str, paths: list[str]) -> list[str]:
    """The files named, and in the folders named the test files holding tests of these markers (pytest's order)."""
    files = [p for p in paths if p.endswith(".py")]
    folders = [p for p in paths if not p.endswith(".py")]
    if not folders:
        return files
    out = subprocess.run(pytest_cmd(markers, "--collect-only", *folders), cwd=REPO, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        name = line.split("::", 1)[0]
        if "::" in line and name not in files:
            files.append(name)
    return files


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="*", help="test files (each measured) or folders (their files with such tests; "
                   "default: tests)")
    p.add_argument("-m", "--markers", default=ENGINE_TIERS, help=f"pytest -m expression (default: {ENGINE_TIERS})")
    p.add_argument("--jobs", type=int, default=2, help="files at a time (default 2, as scripts/test.sh's workers)")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure this one file, print JSON
    a = p.parse_args(argv)
    if a.one:
        print(json.dumps(one_file(a.markers, a.one)))
        return 0
    files = tier_files(a.markers, a.paths or ["tests"])
    if not files:
        print(f"no tests collected for -m {a.markers!r}", file=sys.stderr)
        return 2

    def measure(path: str) -> dict:
        out = subprocess.run([sys.executable, __file__, "-m", a.markers, "--one", path], capture_output=True,
                             text=True, check=True).stdout
        result = json.loads(out)
        print(f"{result['cpu_s']:.1f}\t{result['wall_s']:.1f}\t{result['exit']}\t{path}", flush=True)
        return result

    with ThreadPoolExecutor(max(1, a.jobs)) as pool:
        results = list(pool.map(measure, files))
    print(f"{sum(r['cpu_s'] for r in results):.1f}\tCPU seconds in all, {len(results)} files, -m {a.markers!r}")
    return 0 if all(r["exit"] in (0, 5) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
