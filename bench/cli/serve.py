"""`bench serve`: online serving per request rate or concurrency, on vLLM's OpenAI server or any
OpenAI-compatible endpoint. The options are ServeConfig's fields (bench run's, a few re-read for
serving, plus load, SLO and endpoint) and where the rows go."""

from __future__ import annotations

from pathlib import Path

from bench.cli.options import EXIT_SOME_FAILED, RESULTS_DIR, add_command, parsed
from bench.cli.run import RunOutput
from bench.config.flags import reworded
from bench.config.serve import ServeConfig


class ServeOutput(RunOutput):
    out: Path = reworded(RunOutput, "out", default=RESULTS_DIR / "serve.csv")
    verbose: bool = reworded(RunOutput, "verbose", "show the server's log live instead of keeping it in "
                                                   "<sweep_id>.log")


def add_serve_command(sub) -> None:
    add_command(sub, "serve", "online serving: TTFT/TPOT/ITL, goodput and cost per request rate or concurrency, on "
                              "vLLM's OpenAI server or any OpenAI-compatible endpoint", cmd_serve,
                (ServeConfig, ServeOutput), local_only_note="only for the server bench starts itself")


def cmd_serve(args) -> int:
    from bench.config.engines import is_predicted
    from bench.serve import resolve as config
    from bench.display.serve import print_level, print_sweep
    from bench.serve.session import run_serve
    from bench.results.outputs import check_results_out, config_files

    output = parsed(args, ServeOutput, "bench serve")
    check_results_out(output.out, config_files())
    cfg, model, endpoint = config.resolve(parsed(args, ServeConfig, "bench serve"))
    from bench.serve.models_list import UNAVAILABLE, is_stand_in

    if is_stand_in(model):
        print(f"{model.name} (from the endpoint's /v1/models): {UNAVAILABLE}")
    if is_predicted(cfg.engine):
        from bench.serve.simulated import run_sim_serve

        outcome = run_sim_serve(cfg, model, output.out, on_level=print_level)
    else:
        outcome = run_serve(cfg, model, endpoint, output.out, verbose=output.verbose, on_level=print_level)
    print_sweep(outcome, cfg.hardware, cfg.slo_attainment)
    print(f"results: {output.out} (+ {output.out.with_suffix('')}/<run_id>.json, {outcome.sweep_id}.sweep.json)")
    if outcome.log_path is not None:
        print(f"server log: {outcome.log_path}")
    return 0 if outcome.ok else EXIT_SOME_FAILED
