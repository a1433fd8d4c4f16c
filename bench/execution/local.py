"""Run a planned sweep: skip what is already done (--resume), one process per case here or one Ray task
per case on a cluster, every row recorded atomically as it finishes.

A case that fails is a row (failed / timeout / oom) and the sweep goes on; SIGINT/SIGTERM stop the
running case, record it as `interrupted` and end the sweep (case.run_case raises Interrupted).
"""

from __future__ import annotations

from pathlib import Path

from bench.results import store as results
from bench.errors import BenchError
from bench.execution.signals import Interrupted
from bench.config.sweep import PlannedCase, Problem


def split_done(cases: list[PlannedCase], ok_keys: set[str]) -> tuple[list[PlannedCase], list[PlannedCase]]:
    """(to run, to skip): a case is skipped when its key already has an ok row."""
    return [c for c in cases if c.key not in ok_keys], [c for c in cases if c.key in ok_keys]


def environment_problems(cases: list[PlannedCase], out_csv: Path, local: bool) -> list[Problem]:
    """What stops the sweep before its first case: a results file we may not append to, and (when cases
    run here) an engine whose package is missing."""
    from bench.execution.case import preflight

    problems = []
    try:
        results.check_appendable(out_csv)
    except BenchError as e:
        problems.append(Problem("--out", str(e)))
    if local:
        by_engine: dict[str, list[int]] = {}
        for c in cases:
            by_engine.setdefault(c.cfg.engine, []).append(c.spec.index)
        for engine, numbers in by_engine.items():
            case = next(c for c in cases if c.cfg.engine == engine)
            try:
                preflight(case.cfg)
            except BenchError as e:
                problems.append(Problem("engine", str(e), tuple(numbers)))
    return problems


def run_local(cases: list[PlannedCase], out_csv: Path, progress) -> None:
    """Each case in its own process, one after the other; progress collects the rows."""
    from bench.execution.case import run_case

    for case in cases:
        progress.started(case)
        try:
            outcome = run_case(case.cfg, case.model, out_csv, bad_input_as_row=True, spinner=False)
        except Interrupted as e:
            if e.outcome is not None:
                progress.finished(case, e.outcome.row, e.outcome.record.get("case_wall_s"))
            raise
        progress.finished(case, outcome.row, outcome.record.get("case_wall_s"))
