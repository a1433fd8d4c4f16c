"""Thin command line over the library: run, explain, models, cost, prices, compare, report, serve.

Bad input prints one line naming the problem and the fix, and exits 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.errors import BenchError
from bench.execution.signals import EXIT_INTERRUPTED, signal_name, sigterm_as_interrupt

DEFAULT_OUT = Path("results") / "runs.csv"
EXIT_SOME_FAILED = 3
DEFAULT_EXPLAIN_CONTEXT = 4096


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise BenchError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="catalog name (see `bench models`) or a directory with a config.json")
    p.add_argument("--engine", default="vllm",
                   help="vllm (default); sim: the roofline's prediction for --hardware, no GPU needed; hf: "
                        "transformers generate, static batches; hf-cb: transformers continuous batching "
                        "(when the installed transformers has it); see docs/engines.md")
    p.add_argument("--hardware", default=None,
                   help="a GPU of hardware.yaml (case-insensitive), e.g. H100-SXM: what --engine sim predicts, "
                        "and the roofline beside measured rows; prices the row in CNY per M tokens")
    p.add_argument("--input-len", type=int, default=128, help="prompt tokens per request (mean, if a distribution)")
    p.add_argument("--output-len", type=int, default=64, help="output tokens per request, exact (ignore_eos)")
    p.add_argument("--num-prompts", type=int, default=16, help="requests in the timed run")
    p.add_argument("--length-dist", choices=["fixed", "uniform", "normal"], default="fixed",
                   help="how input/output lengths vary around the given means")
    p.add_argument("--range-ratio", type=float, default=0.0,
                   help="uniform: +-ratio x mean; normal: sigma = ratio x mean (clipped at 3 sigma)")
    p.add_argument("--seed", type=int, default=0, help="workload and engine seed")
    p.add_argument("--max-num-seqs", type=int_list, default=None,
                   help="batch size cap (vLLM max_num_seqs; hf: the static batch size); a comma list runs one case "
                        "per value, e.g. 1,4,16")
    p.add_argument("--max-model-len", type=int, default=None, help="context length; default from models.yaml")
    p.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"], default=None)
    p.add_argument("--kv-cache-dtype", choices=["auto", "fp8", "fp8_e4m3", "fp8_e5m2"], default="auto")
    p.add_argument("--tensor-parallel-size", "-tp", type=int, default=None)
    p.add_argument("--pipeline-parallel-size", "-pp", type=int, default=1)
    p.add_argument("--distributed-executor-backend", choices=["mp", "ray"], default=None,
                   help="mp: one node; ray: a Ray cluster (multi-node)")
    p.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    p.add_argument("--cpu-kv-cache-gb", type=float, default=None,
                   help="CPU build only: KV-cache size in GiB (default 2)")
    p.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto",
                   help="auto: whatever the installed vLLM build targets")
    p.add_argument("--weights", default="auto",
                   help="auto (local real weights if present, else dummy), dummy, hub (download), or a directory")
    p.add_argument("--enforce-eager", action=argparse.BooleanOptionalAction, default=None,
                   help="default: eager on CPU, CUDA graphs on GPU")
    p.add_argument("--no-warmup", dest="warmup", action="store_false", help="skip the warm-up batch")
    p.add_argument("--timeout", dest="timeout_s", type=float, default=3600.0, help="seconds per case")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results CSV to append to (default {DEFAULT_OUT})")
    p.add_argument("--verbose", "-v", action="store_true", help="show the engine's log instead of keeping it in a file")


RUN_FIELDS = (
    "model", "engine", "input_len", "output_len", "num_prompts", "length_dist", "range_ratio", "seed",
    "max_model_len", "dtype", "kv_cache_dtype", "tensor_parallel_size", "pipeline_parallel_size",
    "distributed_executor_backend", "gpu_memory_utilization", "cpu_kv_cache_gb", "device", "weights",
    "enforce_eager", "warmup", "timeout_s", "hardware",
)


def cmd_run(args) -> int:
    from bench.config import run as runconfig
    from bench.display.run import print_case, print_summary
    from bench.execution.case import run_case

    base = {k: getattr(args, k) for k in RUN_FIELDS}
    batch_sizes = args.max_num_seqs or [None]
    cases = []
    for b in batch_sizes:  # resolve every case first: bad input stops everything before any run
        cfg = runconfig.parse({**base, "max_num_seqs": b})
        cases.append(runconfig.resolve(cfg))
    outcomes = []
    for i, (cfg, model) in enumerate(cases, 1):
        label = f"[{i}/{len(cases)}] {model.name} max_num_seqs={cfg.max_num_seqs or 'default'}"
        outcome = run_case(cfg, model, args.out, verbose=args.verbose, label=label)
        print_case(outcome)
        outcomes.append(outcome)
    if len(outcomes) > 1:
        print_summary([o.row for o in outcomes])
    print(f"results: {args.out} (+ {args.out.with_suffix('')}/<run_id>.json)")
    return 0 if all(o.row["status"] == "ok" for o in outcomes) else EXIT_SOME_FAILED


def cmd_sweep(args) -> int:
    from bench.results import store as results
    from bench.execution import local as sweep_run
    from bench.display.sweep import SweepProgress, print_plan, print_sweep_summary

    if args.ray is not None:
        from bench.execution import ray_cluster as ray_fanout
        ray_fanout.require()
    out = args.out or DEFAULT_OUT.parent / f"{args.sweep.stem}.csv"
    overrides = {"timeout_s": args.timeout_per_case} if args.timeout_per_case is not None else {}
    plan, note = sweep_run.checked_plan(args.sweep, overrides, out, local=args.ray is None, dry_run=args.dry_run)
    ok = results.ok_keys(out)  # whole rows only: a torn last row is not read
    done = ok & {c.key for c in plan.cases}
    to_run, skipped = sweep_run.split_done(plan.cases, ok if args.resume else set())
    if args.dry_run:
        print_plan(plan.cases, ok if args.resume else set(), out)
        if note:  # a package missing here: the plan is still listed
            print(note, file=sys.stderr)
        return 0
    results.repair(out)  # a torn last row moves to <out>.torn now, not at the first append
    if done and not args.resume:
        print(f"note: {len(done)} of these cases already have ok rows in {out}; they run again "
              "(--resume skips them)", file=sys.stderr)
    if args.ray is not None:
        ray_fanout.open_cluster(args.ray, to_run)
    interrupted = None
    with SweepProgress(len(to_run), len(skipped)) as progress:
        try:
            if args.ray is not None:
                ray_fanout.run_cases(to_run, out, progress)
            else:
                sweep_run.run_local(to_run, out, progress)
        except KeyboardInterrupt as e:
            interrupted = signal_name(e)
    print_sweep_summary(progress.rows, {c.key: c.label for c in plan.cases}, len(skipped), out)
    if interrupted:
        again = f"bench sweep {args.sweep}" + (f" --out {args.out}" if args.out else "") + " --resume"
        print(f"interrupted ({interrupted}): finished rows are kept; `{again}` runs the rest", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0 if all(r["status"] == "ok" for r in progress.rows) else EXIT_SOME_FAILED


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def add_sweep_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("sweep", type=Path, metavar="SWEEP.yaml",
                   help="base (bench run options), grid (option -> list of values), cases (list of option mappings)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE.csv",
                   help="results CSV (default results/<sweep name>.csv)")
    p.add_argument("--resume", action="store_true", help="skip the cases that already have an ok row in --out")
    p.add_argument("--timeout-per-case", type=positive_seconds, default=None, metavar="S",
                   help="seconds per case, for every case (default: each case's timeout_s, else 3600)")
    p.add_argument("--dry-run", action="store_true", help="validate and list the cases; run nothing")
    p.add_argument("--ray", nargs="?", const="auto", default=None, metavar="ADDRESS",
                   help="run the cases as Ray tasks on an existing cluster (default address: auto); "
                        "needs the `ray` extra")


def cmd_models(args) -> int:
    from bench.config import catalog
    from bench.display.run import print_models

    path = catalog.catalog_path()
    cat = catalog.load(path)
    print_models([catalog.from_entry(name, e, path.resolve().parent) for name, e in cat.models.items()],
                 show_tiny=args.all)
    return 0


def cmd_explain(args) -> int:
    import json

    from bench.config import catalog

    from bench.roofline import predict

    from bench.roofline import bound as roofline
    from bench.display.run import print_explain

    if args.context is not None and args.context < 1:
        raise BenchError(f"--context must be a positive number of tokens, got {args.context}")
    if not 0 < args.gpu_memory_utilization <= 1:
        raise BenchError(f"--gpu-memory-utilization must be in (0, 1], got {args.gpu_memory_utilization}")
    if args.tensor_parallel_size is not None and args.tensor_parallel_size < 1:
        raise BenchError(f"--tensor-parallel-size must be at least 1, got {args.tensor_parallel_size}")
    model = catalog.resolve_model(args.model)
    gpu = predict.require_gpu(args.hardware)
    dtype = model.dtype if model.dtype != "auto" else predict.model_dtype({}, model.config)
    context = args.context or min(DEFAULT_EXPLAIN_CONTEXT, model.max_model_len)
    limit = model.config.get("max_position_embeddings")
    if limit and context > int(limit):
        raise BenchError(f"--context {context} exceeds the model's max_position_embeddings {limit}")
    dep = roofline.Deployment(cfg=model.config, gpu=gpu,
                              tensor_parallel_size=args.tensor_parallel_size or model.tensor_parallel_size,
                              weight_dtype=args.weight_dtype or dtype, kv_cache_dtype=args.kv_cache_dtype,
                              model_dtype=dtype, gpu_memory_utilization=args.gpu_memory_utilization,
                              attention_data_parallel=args.attention_data_parallel)
    out = {"model": model.name, **roofline.explain(dep, context, tuple(args.batch))}
    if args.format == "json":
        print(json.dumps(out, indent=2))
    else:
        print_explain(out)
    return 0


def add_explain_options(p: argparse.ArgumentParser) -> None:
    from bench.roofline.modelmath import WEIGHT_DTYPES

    p.add_argument("model", help="catalog name (see `bench models --all`) or a directory with a config.json")
    p.add_argument("--hardware", required=True, help="a GPU of hardware.yaml (case-insensitive), e.g. H20")
    p.add_argument("--tensor-parallel-size", "-tp", type=int, default=None, help="GPUs; default from models.yaml")
    p.add_argument("--kv-cache-dtype", choices=["auto", "fp8", "fp8_e4m3", "fp8_e5m2"], default="auto")
    p.add_argument("--weight-dtype", choices=list(WEIGHT_DTYPES), default=None,
                   help="weight format (fp8, int8/int4 weight-only); default the model's dtype")
    p.add_argument("--context", type=int, default=None,
                   help=f"tokens per sequence (default {DEFAULT_EXPLAIN_CONTEXT} or the model's max_model_len if less)")
    p.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    p.add_argument("--attention-data-parallel", action="store_true",
                   help="each GPU keeps its own sequences' KV (SGLang --enable-dp-attention): MLA's latent stored once")
    p.add_argument("--batch", type=int_list, default=[1, 8, 64, 256], help="decode batch sizes (default 1,8,64,256)")
    p.add_argument("--format", choices=["table", "json"], default="table")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bench", description="Measure LLM inference under vLLM and price it in CNY per million tokens.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    p_run = sub.add_parser("run", help="benchmark a model (offline batched generate) and append a results row")
    add_run_options(p_run)
    p_run.set_defaults(func=cmd_run)
    p_sweep = sub.add_parser("sweep", help="run many cases from a YAML file: one process per case, atomic rows, "
                                           "--resume, optional Ray fan-out")
    add_sweep_options(p_sweep)
    p_sweep.set_defaults(func=cmd_sweep)
    p_explain = sub.add_parser("explain", help="what the hardware allows for a model: parameters, memory, "
                                               "KV capacity and decode bounds (roofline; no GPU needed)")
    add_explain_options(p_explain)
    p_explain.set_defaults(func=cmd_explain)
    p_models = sub.add_parser("models", help="list the model catalog (models.yaml)")
    p_models.add_argument("--all", action="store_true", help="include the tiny test variants")
    p_models.set_defaults(func=cmd_models)
    from bench.cli.compare import add_compare_command
    from bench.cli.cost import add_cost_commands
    from bench.cli.report import add_report_command
    from bench.cli.serve import add_serve_command

    add_cost_commands(sub)
    add_compare_command(sub)
    add_report_command(sub)
    add_serve_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        with sigterm_as_interrupt():  # SIGTERM stops a case as Ctrl-C does: engine killed, row interrupted
            return args.func(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        print(f"interrupted ({signal_name(e)})", file=sys.stderr)
        return EXIT_INTERRUPTED
