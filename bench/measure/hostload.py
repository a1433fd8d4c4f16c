"""How much of the machine's CPU went elsewhere while bench measured: to the hypervisor (steal) and to processes
outside bench's own tree. A level measured while another job ran, or on a VM whose host took its cores, is slower
than the machine is; these two figures say so in the row instead of leaving it to a note.

Method: a snapshot at the start and one at the end of the timed work (a `bench run` case's timed generate, a
`bench serve` level's measured window). Each holds /proc/stat's aggregate `cpu` line (clock ticks summed over every
core: user nice system idle iowait irq softirq steal; guest time is already inside user) and the CPU seconds (user +
system, with the reaped children's) of every process in bench's tree: this process and its descendants (the vLLM
engine and its workers; bench serve's server, engine core and workers). Over the window:

    host_steal_pct     = 100 x steal ticks / all ticks
    host_other_cpu_pct = 100 x max(0, busy s - tree s) / all s      busy = user + nice + system + irq + softirq

where all s = all ticks / the clock's ticks per second = the window's length x the cores. A quiet machine reads near
0 on both. Error bounds: /proc/stat counts whole ticks (10 ms at 100 per second) per core, so each figure is
+- 100 x 2 x cores x tick / all s (a 10 s window on 2 cores: +- 0.2 points; a 0.1 s one: +- 20: the warning below
counts only what lies beyond it), and the tree's times are whole ticks per process too (+- 2 ticks a process more on
host_other_cpu_pct: a vLLM server's 4-6 processes over 10 s on 2 cores, +- 0.5 points); a process of the tree that
ended inside
the window loses its CPU time after the first snapshot (counted as other) unless its parent reaped it (then its
whole life is counted in the parent's children times: the tree is overstated and other understated). Linux only:
elsewhere (no /proc/stat) nothing is read and the columns stay empty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")
BUSY_FIELDS = (0, 1, 2, 5, 6)  # user nice system . . irq softirq
STEAL_FIELD = 7
ALL_FIELDS = 8  # user .. steal; guest and guest_nice (fields 8, 9) are already counted in user and nice
NOT_MEASURED = {"host_other_cpu_pct": None, "host_steal_pct": None}  # the columns where nothing was read
NOT_QUIET_OTHER_PCT = 10.0  # a tenth of the machine's CPU elsewhere
NOT_QUIET_STEAL_PCT = 5.0


def cpu_ticks(stat_text: str) -> tuple[int, ...] | None:
    """The aggregate `cpu` line of /proc/stat as its first eight counters (user .. steal; older kernels' missing
    ones as 0); None without such a line."""
    for line in stat_text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            values = [int(v) for v in parts[1:1 + ALL_FIELDS]]
            return tuple(values + [0] * (ALL_FIELDS - len(values)))
    return None


def bound_pct(ticks_per_core: float) -> float:
    """The tick rounding of the figures over a window of `ticks_per_core` clock ticks (its length x the clock's
    ticks a second): 2 ticks a core (each core's counters are whole ticks at both ends) over all cores' ticks, the
    cores cancelling; infinite for an empty window."""
    return 200.0 / ticks_per_core if ticks_per_core > 0 else float("inf")


def tree_delta_s(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the tree used between two snapshots (pid -> its seconds so far): the growth of each process seen
    in both, and the whole of each process that started in between (module doc for those that ended)."""
    return sum(max(0.0, s - before.get(pid, 0.0)) for pid, s in after.items())


def shares(ticks_before: tuple[int, ...], ticks_after: tuple[int, ...], tree_s: float, ticks_per_s: float,
           cores: int) -> dict:
    """{host_steal_pct, host_other_cpu_pct} over the window between two /proc/stat counters (module doc), given the
    tree's CPU seconds over it, and `host_bound_pct`, their tick rounding (bound_pct; not a column); the columns
    None where no tick passed."""
    d = [b - a for a, b in zip(ticks_before, ticks_after)]
    total = sum(d[:ALL_FIELDS])
    if total <= 0:
        return dict(NOT_MEASURED)
    busy_s = sum(d[i] for i in BUSY_FIELDS) / ticks_per_s
    return {"host_steal_pct": 100.0 * d[STEAL_FIELD] / total,
            "host_other_cpu_pct": 100.0 * max(0.0, busy_s - tree_s) / (total / ticks_per_s),
            "host_bound_pct": bound_pct(total / cores)}


def _tree_cpu_s(root_pid: int) -> dict[int, float]:
    import psutil

    out = {}
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return out
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.Error:  # ended between the listing and the read
            continue
        out[p.pid] = t.user + t.system + getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0)
    return out


@dataclass
class HostLoad:
    """start() at the window's start, stop() at its end: the two columns (module doc), or both None where the
    machine has no /proc/stat."""

    root_pid: int = 0  # 0: this process
    _ticks: tuple[int, ...] | None = None
    _tree: dict | None = None

    def start(self) -> "HostLoad":
        self._ticks = self._read_ticks()
        self._tree = _tree_cpu_s(self.root_pid or os.getpid()) if self._ticks is not None else None
        return self

    def stop(self) -> dict:
        after = self._read_ticks()
        if self._ticks is None or after is None:
            return dict(NOT_MEASURED)
        tree = tree_delta_s(self._tree or {}, _tree_cpu_s(self.root_pid or os.getpid()))
        return shares(self._ticks, after, tree, float(os.sysconf("SC_CLK_TCK")), os.cpu_count() or 1)

    @staticmethod
    def _read_ticks() -> tuple[int, ...] | None:
        try:
            return cpu_ticks(PROC_STAT.read_text())
        except (OSError, ValueError):
            return None


def row_bound_pct(elapsed_s, ticks_per_s: float | None = None) -> float:
    """bound_pct of a row's timed window from its elapsed seconds alone; infinite without a window."""
    try:
        return bound_pct(float(elapsed_s) * (ticks_per_s or float(os.sysconf("SC_CLK_TCK"))))
    except (TypeError, ValueError):
        return float("inf")


def warning(columns: dict) -> str | None:
    """One line where the machine was not quiet over the window (NOT_QUIET_*, beyond the figures' tick rounding:
    a window of a fraction of a second cannot tell), else None."""
    other, steal = columns.get("host_other_cpu_pct"), columns.get("host_steal_pct")
    bound = columns.get("host_bound_pct") or 0.0
    if other is None or steal is None or (other - bound < NOT_QUIET_OTHER_PCT and steal - bound < NOT_QUIET_STEAL_PCT):
        return None
    return (f"the machine was not quiet: {other:.0f}% of its CPU went to processes outside bench's and {steal:.0f}% "
            "to the hypervisor (steal) during the measurement; timings may be slow: rerun with nothing else running")
