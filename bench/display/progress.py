"""Progress of `bench run`'s cases while they run: the phase of the running case with the time it has left,
and the time the whole command has left.

The worker notes each phase as it enters it (bench.execution.worker.note_phase: engine import, engine start,
warm-up, timed run with its expected seconds); the parent reads that file twice a second. Estimates:

    running case, in its timed run:   expected_s (from the warm-up) - seconds since the timed run began
    running case, before it:          the previous case's wall time - seconds since this one began
                                      (unknown for the first case: its phase and elapsed time only)
    whole command:                    the running case's time left + the cases not started yet x the mean
                                      wall time of the cases finished so far (the running case's estimate
                                      while none has finished)

On a terminal: two bars redrawn twice a second (rich), removed when the case ends; elsewhere (a log, CI): one
line per phase change from the engine start on. Pure estimate functions; the class only draws.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


# Phases a log does not get a line for: the engine's checks run in them, and input they refuse must stay the
# one line bench prints for bad input (the bars on a terminal vanish when the case ends, so they show them).
QUIET_PHASES = ("process start", "engine import")


def read_events(path: Path) -> list[dict]:
    """The phases noted so far (a line being written is skipped until whole)."""
    try:
        text = path.read_text()
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def case_left_s(events: list[dict], started_at: float, now: float, previous_wall_s: float | None) -> float | None:
    """Seconds the running case has left (see the module doc); None when there is nothing to go by."""
    timed = [e for e in events if e.get("phase") == "timed run"]
    if timed and timed[-1].get("expected_s") is not None:
        return max(timed[-1]["expected_s"] - (now - timed[-1]["t"]), 0.0)
    if previous_wall_s is not None:
        return max(previous_wall_s - (now - started_at), 0.0)
    return None


def run_left_s(case_left: float | None, case_elapsed_s: float, cases_after: int, finished_walls: list[float]) -> float | None:
    """Seconds the whole command has left (see the module doc); None when the running case's is unknown."""
    if case_left is None:
        return None
    per_case = (sum(finished_walls) / len(finished_walls)) if finished_walls else case_elapsed_s + case_left
    return case_left + cases_after * per_case


def duration_text(seconds: float | None) -> str:
    """'about 45 s', 'about 3 min', '?' when unknown."""
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"about {max(round(seconds), 1)} s"
    return f"about {round(seconds / 60)} min"


@dataclass
class RunProgress:
    """The cases of one command: `with progress.case(label) as watch:` around each; `watch` goes to run_case."""

    total: int
    live: bool = field(default_factory=lambda: sys.stderr.isatty())
    finished_walls: list[float] = field(default_factory=list)

    def case(self, label: str) -> "_Case":
        return _Case(self, label, len(self.finished_walls) + 1)


@dataclass
class _Case:
    run: RunProgress
    label: str
    index: int
    started_at: float = 0.0
    phase: str = "process start"
    _bars: object = None
    _tasks: tuple = ()

    def __enter__(self):
        self.started_at = time.time()
        if self.run.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            from bench.core.console import make_console

            self._bars = Progress(TextColumn("{task.description}"), BarColumn(bar_width=30),
                                  TimeElapsedColumn(), TextColumn("{task.fields[left]}"),
                                  console=make_console(stderr=True), refresh_per_second=2, transient=True)
            self._tasks = (self._bars.add_task(self._case_text(), total=100, left=""),
                           self._bars.add_task(f"all {self.run.total} case(s)", total=100, left=""))
            self._bars.start()
        return self.watch

    def __exit__(self, *exc) -> None:
        if self._bars is not None:
            self._bars.stop()
        if exc[0] is None:
            self.run.finished_walls.append(time.time() - self.started_at)

    def _case_text(self) -> str:
        return f"[{self.index}/{self.run.total}] {self.label}: {self.phase}"

    def _line(self, case_left, run_left) -> None:
        print(f"{self._case_text()} (this case: {duration_text(case_left)} left; all cases: "
              f"{duration_text(run_left)} left)", file=sys.stderr, flush=True)

    def watch(self, progress_file: Path) -> None:
        now = time.time()
        events = read_events(progress_file)
        previous = self.run.finished_walls[-1] if self.run.finished_walls else None
        case_left = case_left_s(events, self.started_at, now, previous)
        elapsed = now - self.started_at
        run_left = run_left_s(case_left, elapsed, self.run.total - self.index, self.run.finished_walls)
        phase = events[-1]["phase"] if events else self.phase
        if self._bars is None:
            if phase != self.phase:
                self.phase = phase
                if phase not in QUIET_PHASES:
                    self._line(case_left, run_left)
            return
        self.phase = phase
        done_before = len(self.run.finished_walls)
        case_pct = 100 * elapsed / (elapsed + case_left) if case_left is not None else 0.0
        run_done = done_before + case_pct / 100
        run_pct = 100 * run_done / self.run.total
        case_task, run_task = self._tasks
        self._bars.update(case_task, description=self._case_text(), completed=min(case_pct, 99.0),
                          left=f"{duration_text(case_left)} left" if case_left is not None else "")
        self._bars.update(run_task, completed=min(run_pct, 99.0),
                          left=f"{duration_text(run_left)} left" if run_left is not None else "")
