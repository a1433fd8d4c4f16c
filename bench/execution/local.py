"""Run a planned sweep: skip what is already done (--resume), one process per case here or one Ray task
per case on a cluster, every row recorded atomically as it finishes.

A case that fails is a row (failed / timeout / oom) and the sweep goes on; SIGINT/SIGTERM stop the
running case, record it as `interrupted` and end the sweep (case.run_case raises Interrupted).
"""

from __future__ import annotations

from pathlib import Path

from bench.core.errors import BenchError
from bench.execution.signals import Interrupted
from bench.config.sweep import Plan, PlannedCase, Problem, SweepInputError, format_problems, load_plan


def split_done(cases: list[PlannedCase], ok_keys: set[str]) -> tuple[list[PlannedCase], list[PlannedCase]]:
    """(to run, to skip): a case is skipped when its key already has an ok row."""
    return [c for c in cases if c.key not in ok_keys], [c for c in cases if c.key in ok_keys]


def out_problems(out_csv: Path, inputs: list[Path] = ()) -> list[Problem]:
    """A results file we may not append to (a foreign CSV, a directory, a read-only file, one of the inputs):
    the same in every Python."""
    from bench.results.outputs import check_results_out, config_files

    try:
        check_results_out(out_csv, [*inputs, *config_files()])
    except BenchError as e:
        return [Problem("--out", str(e))]
    return []


def engine_problems(cases: list[PlannedCase]) -> list[Problem]:
    """An engine whose package is missing in this Python, once per engine, naming its cases; then a model this
    Python's vLLM build cannot run, once per problem, naming its cases."""
    from bench.engines.vllm_build import refusal_here
    from bench.execution.case import preflight

    problems = []
    by_engine: dict[str, list[PlannedCase]] = {}
    for c in cases:
        by_engine.setdefault(c.cfg.engine, []).append(c)
    for engine_cases in by_engine.values():
        try:
            preflight(engine_cases[0].cfg)
        except BenchError as e:
            problems.append(Problem("engine", str(e), tuple(c.spec.index for c in engine_cases)))
    if problems:
        return problems
    by_refusal: dict[str, list[PlannedCase]] = {}
    for c in cases:
        why = refusal_here(c.cfg.engine, c.cfg.device, c.model.config)
        if why:
            by_refusal.setdefault(why, []).append(c)
    return [Problem("model", why, tuple(c.spec.index for c in refused)) for why, refused in by_refusal.items()]


def checked_plan(path: Path, overrides: dict, out_csv: Path, local: bool, dry_run: bool = False) -> tuple[Plan, str]:
    """The sweep's plan, checked in two stages before anything runs. First the file and --out: every problem
    at once (SweepInputError). Then, when the cases run here, their engines' packages: SweepInputError too,
    in the same form; a dry run still lists its plan, and gets the problem back as a note.
    (The packages come second because only a valid file says which engines its cases need.)"""
    plan = load_plan(path, overrides, more_checks=lambda cases: out_problems(out_csv, [path]))
    problems = engine_problems(plan.cases) if local else []
    if not problems:
        return plan, ""
    text = format_problems(path, problems, [c.spec for c in plan.cases])
    if not dry_run:
        raise SweepInputError(text)
    return plan, f"note: without --dry-run this sweep stops before its first case: {text}"


def run_local(cases: list[PlannedCase], out_csv: Path, progress, until=None) -> None:
    """Each case in its own process, one after the other; progress collects the rows. `until`
    (bench.execution.rounds.UntilCi): a repeat of a case that met its --until-ci target is left out."""
    from bench.execution.case import run_case
    from bench.execution.rounds import still_wanted

    for case in cases:
        if not still_wanted(case, until):
            progress.left_out(case)
            continue
        progress.started(case)
        try:
            outcome = run_case(case.cfg, case.model, out_csv, bad_input_as_row=True, spinner=False)
        except Interrupted as e:
            if e.outcome is not None:
                progress.finished(case, e.outcome.row, e.outcome.record.get("case_wall_s"))
            raise
        if until is not None:
            until.add(case.key, outcome.row)
        progress.finished(case, outcome.row, outcome.record.get("case_wall_s"))
