"""`bench calibrate RESULTS.csv ... [--hardware NAME] --out profile.yaml`: the efficiency parameters of this
machine fitted to its own measured rows (bench.roofline.calibrate), for `--profile` in run (sim), explain and
the predicted_* columns. `bench probe --name NAME`: measure this machine's memory bandwidth and matmul rate and
add it to hardware.yaml as an entry a CPU (or a GPU torch sees) can be calibrated and predicted on."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from bench.cli.options import add_command, parsed
from bench.config.engines import is_predicted
from bench.config.flags import option
from bench.config.serve import FRONT_ENDS, SERVING_FIT_DEFAULT
from bench.core.errors import BenchError
from bench.core.formats import ms, num, pct, ratio, si


class CalibrateOptions(BaseModel):
    results: list[str] = option(help="results CSVs of measured runs on one machine", positional=True,
                                metavar="RESULTS.csv", nargs="+")
    hardware: str | None = option(None, "the machine's hardware.yaml entry (a GPU, or a `bench probe` entry); "
                                        "default: the rows' own --hardware")
    out: str = option(help="where to write the profile (YAML)", metavar="PROFILE.yaml")
    name: str | None = option(None, "the profile's name, as prediction_calibration will say it (default: the "
                                    "file name without .yaml)")
    serve_rows: list[str] | None = option(
        None, "measured bench serve rows (levels at a concurrency or a rate) to fit the serving path's host cost on: "
              "the front end's seconds per streamed token and per request (docs/roofline.md, the serving model); "
              "never the rows you then validate on", metavar="SERVE.csv", nargs="+")
    serve_free: list[str] = option(list(SERVING_FIT_DEFAULT), "--serve-rows: the serving parameters to "
                                   "fit (of stream_token_s, stream_step_s, stream_request_s, request_latency_s; "
                                   "the rest stay 0)",
                                   metavar="P1,P2", comma_list=True)
    serving_from: str | None = option(
        None, "take the serving path from another profile of this machine (one `bench calibrate --serve-rows` wrote, "
              "fitted on another model's serve rows with that model's own engine rows): the front end's cost moves "
              "to this model, the engine's does not", metavar="PROFILE.yaml")
    front_end: Literal[FRONT_ENDS] = option(
        "auto", "--serve-rows: whether the server's front end shares the engine's cores (its time adds to each step), "
                "has its own (it overlaps the step), or is a queue of its own in series with the engine (its "
                "per-token and per-request time delays what it handles) whose per-step time adds to the step "
                "(series) or overlaps it (series-own-cores); auto: in series on a CPU entry, own cores on a GPU")


class ProbeOptions(BaseModel):
    name: str = option(help="the hardware.yaml entry to write, e.g. my-laptop")
    seconds: float = option(3.0, "time to spend measuring, about half each on bandwidth and matmul", gt=0.0, le=60.0)
    backend: Literal["auto", "torch", "numpy"] = option(
        "auto", "what measures: torch (on CUDA when a GPU is visible, else the CPU's threads), numpy (float32 BLAS "
                "on the CPU); auto: torch when importable, else numpy")
    dtype: Literal["bfloat16", "float16", "float32"] | None = option(
        None, "the matmul's dtype, the one the engine will run (default: bfloat16 on a GPU; on a CPU bfloat16 "
              "where it multiplies bf16 natively, else float32; numpy: float32 only)")
    tdp_w: float = option(100.0, "power figure for the owned cost basis (not measured)", gt=0.0)
    replace: bool = option(False, "replace an entry of that name written by bench probe before")


def add_calibrate_commands(sub) -> None:
    add_command(sub, "calibrate", "fit the prediction's efficiency parameters to your own measured rows "
                                  "(writes a --profile)", cmd_calibrate, (CalibrateOptions,))
    add_command(sub, "probe", "measure this machine's memory bandwidth and matmul rate (torch or numpy, seconds) and add "
                              "it to hardware.yaml", cmd_probe, (ProbeOptions,))


def cmd_calibrate(args) -> int:
    from bench.config import hardware
    from bench.results import typed
    from bench.roofline import calibrate, predict, profile

    args.results = [f for given in args.results for f in (given if isinstance(given, list) else [given])]
    opts: CalibrateOptions = parsed(args, CalibrateOptions, "bench calibrate")
    out = Path(opts.out)
    if out.suffix not in (".yaml", ".yml"):
        raise BenchError(f"--out {opts.out}: give a .yaml file name")
    if not out.parent.is_dir():
        raise BenchError(f"--out {opts.out}: folder {out.parent} does not exist")
    rows = []
    for f in opts.results:
        rows += typed.read_rows(Path(f))[1]
    names = {r.get("hardware") for r in rows
             if r.get("status") == "ok" and not is_predicted(r.get("engine"))} - {None, ""}
    name = opts.hardware
    if not name:
        if len(names) != 1:
            raise BenchError("say which machine the rows ran on: --hardware NAME (a GPU of hardware.yaml or an entry "
                             "`bench probe --name NAME` wrote)" + (f"; the rows name {', '.join(sorted(names))}"
                                                                   if names else ""))
        name = names.pop()
    name = hardware.canonical_name(name)
    predict.require_gpu(name)
    measured = calibrate.measured_from_rows(rows)
    prof = calibrate.calibrate(measured, name, opts.name or out.stem)
    if opts.serve_rows and opts.serving_from:
        raise BenchError("give --serve-rows (fit the serving path here) or --serving-from (take a fitted one), "
                         "not both")
    if opts.serve_rows:
        prof = with_serving(prof, opts, name)
    elif opts.serving_from:
        prof = serving_taken(prof, Path(opts.serving_from), name)
    profile.save(prof, out)
    p = prof.parameters
    print(f"{prof.name}: {prof.rows} rows on {name}; bandwidth {pct(p.bandwidth_fraction)} of "
          f"{'measured' if not hardware.get_hardware(name).bf16_tflops else 'datasheet'} peak, compute "
          f"{pct(p.compute_fraction)}, step overhead {ms(p.step_overhead_s * 1e3)} ms, per sequence "
          f"{ms(p.sequence_overhead_s * 1e3)} ms; band {num(prof.band_low)}-{ratio(prof.band_high)} predicted")
    if opts.serve_rows or opts.serving_from:
        print(f"serving path: {prof.serving.describe(ms)}; {prof.serving.source}")
    print(f"wrote {out} (use: --profile {out})")
    return 0


def with_serving(prof, opts: CalibrateOptions, hardware_name: str):
    """The profile with its serving path fitted to --serve-rows (bench.serve.servingfit), on the fitted engine."""
    import dataclasses

    from bench.results import typed
    from bench.roofline import predict
    from bench.serve import servingfit

    rows = [r for f in opts.serve_rows for r in typed.read_rows(Path(f))[1]]
    front_end = opts.front_end
    if front_end == "auto":  # a CPU entry: vLLM's CPU build pins its worker to one core, the front end on another
        front_end = "series" if predict.require_gpu(hardware_name).host_cores else "own-cores"
    path = servingfit.fit(rows, hardware_name, prof, tuple(opts.serve_free),
                          shares_cores=front_end in ("shared", "series"), in_series=front_end.startswith("series"))
    return dataclasses.replace(prof, serving=path)


def serving_taken(prof, source: Path, hardware_name: str):
    """The profile with the serving path of `source` (another profile), which must have been measured on the same
    machine: a front end's cost is the machine's and the server's, not the model's engine."""
    import dataclasses

    from bench.roofline import profile

    other = profile.load(source)
    if not other.serving.source.startswith("measured"):  # a measured path may be 0: the rows showed no cost
        raise BenchError(f"--serving-from {source}: it has no measured serving path (write one with `bench calibrate "
                         "RUNS.csv --serve-rows SERVE.csv --out ...`)")
    if other.hardware != hardware_name:
        raise BenchError(f"--serving-from {source}: fitted on {other.hardware}, these rows ran on {hardware_name}; a "
                         "serving path belongs to the machine it was measured on")
    return dataclasses.replace(prof, serving=dataclasses.replace(
        other.serving, source=f"{other.serving.source}; taken from profile {other.name} ({source.name})"))


def cmd_probe(args) -> int:
    from bench.roofline import probe

    opts: ProbeOptions = parsed(args, ProbeOptions, "bench probe")
    figures = probe.measure(opts.seconds, opts.backend, opts.dtype)
    path = probe.write_entry(opts.name, figures, opts.tdp_w, replace=opts.replace)
    print(f"{opts.name}: memory copy {si(figures.bandwidth_gb_s * 1e9, 'B/s')}, {figures.dtype} matmul "
          f"{si(figures.matmul_gflops * 1e9, 'FLOPS')} ({figures.how}); written to {path}")
    print(f"next: bench run ... --hardware {opts.name}, then bench calibrate RESULTS.csv --hardware {opts.name} "
          "--out profile.yaml")
    return 0
