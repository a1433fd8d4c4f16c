"""`bench sweep SWEEP.yaml`: many cases from a YAML file (keys = bench run's options), one process per
case, atomic rows, --resume, optional Ray fan-out. The pricing options (bench.config.pricing.RowPricing), given
on the command line, price every case's row, over what the file says."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel, field_validator

from bench.cli.options import EXIT_SOME_FAILED, RESULTS_DIR, add_command, parsed
from bench.config import run as runconfig
from bench.config.run import RunConfig
from bench.core.errors import BenchError
from bench.config.flags import option, reworded
from bench.config.pricing import RowPricing
from bench.execution.signals import EXIT_INTERRUPTED, signal_name


class SweepOptions(BaseModel):
    """bench sweep's own options; the cases' options are in the file."""

    sweep: Path = option(help="base (bench run options), grid (option -> list of values), cases (list of option "
                              "mappings)", positional=True, metavar="SWEEP.yaml")
    out: Path | None = option(None, f"results CSV (default {RESULTS_DIR}/<sweep name>.csv)", metavar="FILE.csv")
    resume: bool = option(False, "skip the cases that already have an ok row in --out")
    timeout_per_case: float | None = option(
        None, "seconds per case, for every case (default: each case's timeout_s, else "
              f"{runconfig.default('timeout_s'):g})", metavar="S", gt=0.0, allow_inf_nan=False)
    repeats: int | None = reworded(RunConfig, "repeats", "measure every case N times, interleaved across cases "
                                   "(A, B, A, B, ...); default each case's own `repeats`, else 1", default=None)
    until_ci: float | None = reworded(RunConfig, "until_ci", "repeat every case until the 95% t-interval of its "
                                      "output tok/s is within +-PCT% of its mean, at most --repeats N times (the cap, "
                                      "required); default each case's own `until_ci`")
    dry_run: bool = option(False, "validate and list the cases; run nothing")
    ray: str | None = option(None, "run the cases as Ray tasks on an existing cluster (default address: auto); "
                                   "needs the `ray` extra", nargs="?", const="auto", metavar="ADDRESS")


    @field_validator("until_ci")
    @classmethod
    def _until_ci_target(cls, pct: float | None) -> float | None:
        return runconfig.until_ci_target(pct)


def add_sweep_command(sub) -> None:
    add_command(sub, "sweep", "run many cases from a YAML file: one process per case, atomic rows, --resume, "
                              "optional Ray fan-out", cmd_sweep, (SweepOptions, RowPricing))


def cmd_sweep(args) -> int:
    from bench.results import store as results
    from bench.execution import local as sweep_run
    from bench.display.sweep import SweepProgress, print_plan, print_sweep_summary

    opts: SweepOptions = parsed(args, SweepOptions, "bench sweep")
    if opts.ray is not None:
        from bench.execution import ray_cluster as ray_fanout
        ray_fanout.require()
    out = opts.out or RESULTS_DIR / f"{opts.sweep.stem}.csv"
    pricing = parsed(args, RowPricing, "bench sweep")
    overrides = {"timeout_s": opts.timeout_per_case} if opts.timeout_per_case is not None else {}
    overrides.update({name: getattr(pricing, name) for name in pricing.model_fields_set})
    if opts.repeats is not None:
        overrides["repeats"] = opts.repeats
    if opts.until_ci is not None:
        overrides["until_ci"] = opts.until_ci
    plan, note = sweep_run.checked_plan(opts.sweep, overrides, out, local=opts.ray is None, dry_run=opts.dry_run)
    ok = results.ok_keys(out)  # whole rows only: a torn last row is not read
    done = ok & {c.key for c in plan.cases}
    if opts.resume and any(c.cfg.repeats > 1 for c in plan.cases):
        # an ok row says its case ran, not which of its repeats: resuming could skip or redo the wrong ones
        raise BenchError("--resume cannot tell which repeats of a case already ran; run the sweep without "
                         "--resume (or with --repeats 1) into a new --out")
    to_run, skipped = sweep_run.split_done(plan.cases, ok if opts.resume else set())
    if opts.dry_run:
        print_plan(plan.cases, ok if opts.resume else set(), out)
        if note:  # a package missing here: the plan is still listed
            print(note, file=sys.stderr)
        return 0
    results.repair(out)  # a torn last row moves to <out>.torn now, not at the first append
    if done and not opts.resume:
        print(f"note: {len(done)} of these cases already have ok rows in {out}; they run again "
              "(--resume skips them)", file=sys.stderr)
    if opts.ray is not None:
        ray_fanout.open_cluster(opts.ray, to_run)
    from bench.execution.rounds import planned_until

    until = planned_until(to_run)
    interrupted = None
    with SweepProgress(len(to_run), len(skipped)) as progress:
        try:
            if opts.ray is not None:
                ray_fanout.run_cases(to_run, out, progress, until)
            else:
                sweep_run.run_local(to_run, out, progress, until)
        except KeyboardInterrupt as e:
            interrupted = signal_name(e)
    print_sweep_summary(progress.rows, {c.key: c.label for c in plan.cases}, len(skipped), out)
    for key, label in ({c.key: c.label for c in to_run} if until is not None else {}).items():
        if until.target(key) is not None:
            print(f"{label}: {until.summary(key)}")
    if interrupted:
        again = f"bench sweep {opts.sweep}" + (f" --out {opts.out}" if opts.out else "") + " --resume"
        print(f"interrupted ({interrupted}): finished rows are kept; `{again}` runs the rest", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0 if all(r["status"] == "ok" for r in progress.rows) else EXIT_SOME_FAILED
