"""What went wrong in an engine: its log's root cause, out-of-memory recognised, the log's last lines.

Pure text functions: the case runner, the worker and `bench serve` read failures the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

OOM_MARKERS = (
    "out of memory",
    "outofmemoryerror",
    "no available memory for the cache blocks",
    "larger than the available kv cache memory",
    "less than requested memory for kv",
    "cannot allocate memory",
    # vLLM at start-up, when other processes hold the GPU: "Free memory on device cuda:0 (10.5/79.2 GiB) on startup
    # is less than desired GPU memory utilization (0.9, 71.3 GiB). ..." (vllm/v1/worker/utils.py, 0.24-0.33)
    "is less than desired gpu memory utilization",
)
GENERIC_FAILURES = ("Engine core initialization failed", "See root cause above", "please check the stack trace")
ERROR_LINE = re.compile(r"\b([A-Za-z_]*(?:Error|Exception)): (.+)$")
WORKER_ERROR = re.compile(r"Worker failed with error '(.+?)'(?:, please check|$)")


def looks_like_oom(text: str) -> bool:
    return any(m in text.lower() for m in OOM_MARKERS)


def root_cause(log_text: str) -> str:
    """The most specific error in an engine log: vLLM reports a worker's failure several times,
    wrapped in generic messages; the user needs the innermost one."""
    lines = log_text.splitlines()
    for line in reversed(lines):
        m = WORKER_ERROR.search(line)
        if m:
            return m.group(1)
    for line in reversed(lines):
        m = ERROR_LINE.search(line)
        if m and not any(g in line for g in GENERIC_FAILURES):
            return f"{m.group(1)}: {m.group(2).strip()}"
    return ""


def log_tail(path: Path | None, lines: int = 3) -> str:
    """The last lines of a log file, joined on one line (at most 500 characters); "" without one."""
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])[-500:]


def settle_failure(out: dict, log_text: str) -> dict:
    """Put the engine log's root cause into a failed case's error and class out-of-memory failures as oom."""
    if out.get("status") in ("ok", "bad_input", "interrupted"):
        return out
    cause = root_cause(log_text)
    out = dict(out)
    if cause and cause not in str(out.get("error")):
        out["error"] = f"{cause} ({out.get('error')})"
    if out["status"] == "failed" and looks_like_oom(cause):
        out["status"] = "oom"
    return out
