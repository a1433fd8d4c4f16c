"""`bench run`: one case per --max-num-seqs value, each appended as a results row. The options are
RunConfig's fields (bench.config.run) plus where the rows go."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from pydantic import BaseModel

from bench.cli.options import EXIT_SOME_FAILED, RESULTS_DIR, add_command, given, parsed
from bench.config.flags import option
from bench.config.run import RunConfig


class RunOutput(BaseModel):
    """bench run's options beyond the case: where its rows and the engine's log go."""

    out: Path = option(RESULTS_DIR / "runs.csv", "results CSV to append to")
    verbose: bool = option(False, "show the engine's log instead of keeping it in a file", flags=("--verbose", "-v"))


def add_run_command(sub) -> None:
    add_command(sub, "run", "benchmark a model (offline batched generate) and append a results row", cmd_run,
                (RunConfig, RunOutput))


def cmd_run(args) -> int:
    from bench.config import run as runconfig
    from bench.display.progress import RunProgress
    from bench.display.run import print_case, print_summary
    from bench.execution.case import run_case
    from bench.execution.rounds import UntilCi, in_rounds
    from bench.results.outputs import check_results_out, config_files

    fields = given(args, RunConfig)
    output = parsed(args, RunOutput, "bench run")
    check_results_out(output.out, config_files())  # before any case: a bad --out is found before a row is lost
    batch_sizes = fields.pop("max_num_seqs", None) or [None]  # a comma list: one case per value
    cases = []
    for b in batch_sizes:  # resolve every case first: bad input stops everything before any run
        one = {**fields, **({"max_num_seqs": b} if b is not None else {})}
        cfg = parsed(Namespace(**one), RunConfig, "bench run")  # problems named by their flags
        cases.append(runconfig.resolve(cfg))
    # repeats interleave across cases (A r0, B r0, A r1, B r1): drift over the session hits every case alike;
    # --until-ci drops a case from the rounds once its interval is narrow enough (bench.execution.rounds)
    until = UntilCi(cases[0][0].until_ci)
    cap = cases[0][0].repeats
    outcomes = []
    progress = RunProgress(len(cases) * cap)
    for i, (r, (n, (cfg, model))) in enumerate(in_rounds(list(enumerate(cases)), lambda c: cap, lambda c: c[0],
                                                          until), 1):
        cfg = cfg.model_copy(update={"repeat_index": r})
        label = f"{model.name} max_num_seqs={cfg.max_num_seqs or 'default'}" + (
            f" repeat {r + 1}/{cap}" if cap > 1 else "")
        if output.verbose:  # the engine's log is on the terminal: no bars over it
            outcome = run_case(cfg, model, output.out, verbose=True, label=f"[{i}/{len(cases) * cap}] {label}")
        else:
            with progress.case(label) as watch:
                outcome = run_case(cfg, model, output.out, label=label, watch=watch)
        print_case(outcome)
        outcomes.append(outcome)
        until.add(n, outcome.row)
        if until.target_pct is not None and (until.met(n) or r + 1 == cap):
            print(f"{model.name} max_num_seqs={cfg.max_num_seqs or 'default'}: {until.summary(n)}")
    if len(outcomes) > 1:
        print_summary([o.row for o in outcomes])
    print(f"results: {output.out} (+ {output.out.with_suffix('')}/<run_id>.json)")
    return 0 if all(o.row["status"] == "ok" for o in outcomes) else EXIT_SOME_FAILED
