"""The simulated server against vLLM's CPU build: `bench serve` measured beside `bench serve --engine sim`, the sim
calibrated on `bench run` rows of the same model (never on the serve rows), at 3 concurrencies and 2 rates.

    .venv/bin/python scripts/validate_serving.py OUT_DIR [--model tiny-qwen2] [--format table|markdown]

Steps (each skipped when its output is already in OUT_DIR, so a rerun only prints the table):
1. `bench probe --name this-cpu` into OUT_DIR/hardware.yaml (a copy of the repository's, via BENCH_HARDWARE: the
   repository's file is not changed): the CPU's measured bandwidth and matmul rate, its roofline;
2. `bench run` of the model at --max-num-seqs 1,4,8,16 (the offline rows) -> OUT_DIR/run.csv;
3. `bench calibrate OUT_DIR/run.csv --hardware this-cpu` -> OUT_DIR/profile.yaml (4 rows: bandwidth and compute
   fractions, step and per-sequence overheads); --prefill-rows adds `bench run` rows of 512 in / 4 out at
   --max-num-seqs 1,8 (OUT_DIR/run-prefill.csv) to the calibration;
4. `bench serve` (vLLM's OpenAI server, CPU build; --num-prompts requests a level after --warmup-requests sent at
   the level's own load) at --concurrency 1,4,16 -> OUT_DIR/serve-conc.csv, and
   `bench serve --engine sim --hardware this-cpu --profile OUT_DIR/profile.yaml` at the same levels, seed and
   workload -> OUT_DIR/sim-conc.csv;
5. both at two rates, 30% and 70% of the capacity the calibrated sim predicts (predicted_capacity_req_s: a rate
   above it is refused) -> OUT_DIR/serve-rate.csv, OUT_DIR/sim-rate.csv.
Every measurement is taken --repeats times (default 3): `bench run --repeats N` (interleaved; the calibration fits
all of them), and N passes of the serve levels, interleaved in time (concurrencies 1, rates 1, concurrencies 2, ...).
The table: TTFT p50 and p90 and TPOT p50, measured (the median of the passes, their range beside it) and predicted,
predicted / measured, the requests of each pass whose tokens all came in one read (their TTFT is their E2E), and
whether each figure is within 25%. The machine's 1-minute load average is printed beside it:
timings on a shared machine are noisy. --again measures this model's levels --repeats more times after everything
(OUT_DIR/serve-conc-again.csv, serve-rate-again.csv, the same rates) and prints two more tables: the second set
against the first set's medians, judged by the same rule (what the machine itself repeats to: a bound on what any
prediction can show there), and the prediction against the second set (passes it had not been compared with).
Under the prediction's tables: how many levels' measured TTFT p99 and TPOT p99 fall inside the simulated rows' band
(schema 10: every engine step at the edges of the calibration's band).

--serving-fit adds the serving path (the API server's and client's host seconds per streamed token and per request,
docs/roofline.md), fitted on measured levels the table does not check: conc:C, this model's measured level at
concurrency C (copied to OUT_DIR/serve-fit-concC.csv; the table then leaves it out), or model:NAME, `bench serve` of
another model at concurrency 1, 4 and 16, same workload and server (OUT_DIR/serve-fit-NAME.csv), and at two rates,
30% and 70% of its measured throughput at 16 streams in its first pass (OUT_DIR/serve-fit-NAME-rates.csv; the fit
then sees the front end under a load like the table's rates; --no-fit-rates: the concurrencies alone). conc:C: `bench
calibrate ... --serve-rows THOSE` writes OUT_DIR/profile-serving-....yaml (the same engine fit, plus the path;
--serving-free its parameters, --front-end where the front end runs). model:NAME: NAME's own engine is calibrated on
its own `bench run` rows (OUT_DIR/run-NAME.csv, run-prefill-NAME.csv), the path fitted on its serve rows with that
engine (OUT_DIR/profile-NAME-serving-....yaml), and this model's profile takes only the path (`bench calibrate
--serving-from`): a fit with this model's engine would count the other model's engine speed as front-end cost. The
sim runs with the profile (OUT_DIR/sim-*-serving-....csv) and the rates are shares of its capacity. A rerun with
another --serving-fit, --serving-free or --front-end on the same OUT_DIR measures this model's levels again never
(each step is skipped when its file exists), and predicts the measured rates (read back from
OUT_DIR/serve-rate.csv).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench.config.serve import FRONT_ENDS, SERVING_FIT_DEFAULT

REPO = Path(__file__).resolve().parent.parent
HW = "this-cpu"
TOLERANCE = 0.25
FIGURES = ("ttft_p50_ms", "ttft_p90_ms", "tpot_p50_ms")
SEQS = (1, 4, 8, 16)
CONCURRENCIES = (1, 4, 16)
RATE_SHARES = (0.3, 0.7)  # of the sim's predicted capacity
SERVE_PROMPTS = 96  # measured requests a level (48 before 2026-12-07: a p90 of 48 sat on 5 requests one hiccup slowed)
WARMUP_REQUESTS = 32  # at the level's own load: a level's first batch shapes cost the CPU build tens of ms
# --again: this model's levels measured once more, `repeats` passes, after everything else (the same rates); the
# first set's medians then "predict" the second's: how far the machine repeats itself, which no model can beat
AGAIN = "-again"
REPEATS = 3  # passes of every measurement: the same bench run row differed by 30% an hour apart (2026-12-07)
DEFAULT_FREE = ",".join(SERVING_FIT_DEFAULT)  # --serving-free: what bench calibrate --serve-rows fits


def bench(out: Path, *args: str) -> None:
    env = {**os.environ, "BENCH_HARDWARE": str(out / "hardware.yaml"), "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "bench", *args]
    print("$", " ".join(["bench", *args]), flush=True)
    with open(out / "commands.log", "a") as log:
        log.write(f"$ {' '.join(['bench', *args])}\n")
        log.flush()
        rc = subprocess.run(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    if rc not in (0,):
        sys.exit(f"bench {args[0]} exited {rc}; see {out / 'commands.log'}")


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if r.get("status") == "ok"]


def level_of(row: dict) -> str:
    return f"conc. {row['concurrency']}" if row.get("concurrency") else f"rate {float(row['request_rate']):.3g}/s"


# --serving-fit model:NAME: that model's measured levels; 16 streams admitted in waves tell the request's work (one
# at a time: a long one spreads a wave's admissions over many steps) from its latency (holding nothing up)
FIT_CONCURRENCIES = (1, 4, 16)
# and, unless --no-fit-rates, at two rates: these shares of its own measured throughput at 16 streams (its server
# full: the saturated rate, measured), so the fit sees the front end under load as the table's rates load it
FIT_RATE_SHARES = (0.3, 0.7)


def held_out(fit_level: str | None) -> str | None:
    """--serving-fit conc:C -> the table's name of that level ("conc. C"); model:NAME or none -> None (nothing of
    the table was fitted on). SystemExit for anything else."""
    if fit_level is None:
        return None
    kind, _, value = fit_level.partition(":")
    if kind == "model" and value:
        return None
    if kind != "conc" or not value.isdigit() or int(value) not in CONCURRENCIES:
        sys.exit(f"--serving-fit {fit_level}: give conc:C with C one of the measured concurrencies "
                 f"{', '.join(map(str, CONCURRENCIES))}, or model:NAME (another model's levels)")
    return f"conc. {int(value)}"


def tag_of(fit_level: str, free: str, front_end: str = "auto", fit_rates: bool = False) -> str:
    """The files of one --serving-fit, --serving-free, --front-end and --fit-rates choice: -serving-conc1,
    -serving-tiny-glm, the fitted parameters after them unless they are the default ones, the front end unless auto,
    and -rates where the other model's rate levels were fitted on too."""
    tag = "-serving-" + fit_level.partition(":")[2] + "-own-engine" if fit_level.startswith("model:") else \
        "-serving-conc" + fit_level.partition(":")[2]
    tag += "-rates" if fit_rates and fit_level.startswith("model:") else ""
    if free != DEFAULT_FREE:
        tag += "-" + free.replace("stream_", "").replace("_s", "").replace(",", "-")
    return tag if front_end == "auto" else f"{tag}-{front_end}"


def fit_rates_of(conc_rows: Path, rate_rows: Path) -> str:
    """The other model's rate levels: FIT_RATE_SHARES of its measured requests/s at 16 streams in the first pass (the
    later passes, and a rerun, read them back from its rates file: every pass measures the same levels)."""
    if rate_rows.exists() and rows(rate_rows):
        return ",".join(sorted({r["request_rate"] for r in rows(rate_rows)}, key=float))
    full = next(float(r["requests_per_s"]) for r in rows(conc_rows)
                if r.get("concurrency") == str(max(FIT_CONCURRENCIES)))
    return ",".join(f"{full * s:.3g}" for s in FIT_RATE_SHARES)


def copy_rows(src: Path, dst: Path, keep) -> None:
    """dst: src's header and the rows `keep` accepts (a results CSV bench reads back)."""
    with open(src, newline="") as f:
        reader = csv.DictReader(f)
        kept = [r for r in reader if keep(r)]
        header = reader.fieldnames
    with open(dst, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(kept)


def offline_rows(out: Path, model: str, dtype: str, prefill_rows: bool, suffix: str = "",
                 repeats: int = 1) -> list[str]:
    """The `bench run` rows an engine is calibrated on (measured when missing): 128 in / 32 out at SEQS, and with
    prefill_rows 512 in / 4 out at 1 and 8 (the prefill and decode costs then come from different rows); each case
    `repeats` times, interleaved (bench run --repeats), all of them calibrated on."""
    common = ["--model", model, "--dtype", dtype, "--seed", "1", "--hardware", HW, "--repeats", str(repeats)]
    runs = out / f"run{suffix}.csv"
    if not runs.exists():
        bench(out, "run", *common, "--input-len", "128", "--output-len", "32", "--num-prompts", "16",
              "--max-num-seqs", ",".join(map(str, SEQS)), "--out", str(runs))
    if not prefill_rows:
        return [str(runs)]
    prefill = out / f"run-prefill{suffix}.csv"
    if not prefill.exists():
        bench(out, "run", *common, "--input-len", "512", "--output-len", "4", "--num-prompts", "8",
              "--max-num-seqs", "1,8", "--out", str(prefill))
    return [str(runs), str(prefill)]


def passes(path: Path, levels: int) -> int:
    """How many whole passes of `levels` levels a serve results file holds (0: none yet)."""
    if not path.exists():
        return 0
    with open(path, newline="") as f:
        return sum(1 for _ in csv.DictReader(f)) // levels


def run_all(out: Path, model: str, dtype: str, prefill_rows: bool = False, given_rates: str | None = None,
            fit_level: str | None = None, free: str = "", front_end: str = "auto", prompts: int = SERVE_PROMPTS,
            warmup: int = WARMUP_REQUESTS, repeats: int = REPEATS, fit_rates: bool = True, again: bool = False) -> str:
    """Every step (module doc); returns the suffix of the sim's files ("" or -serving...)."""
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "hardware.yaml").exists():
        shutil.copy(REPO / "hardware.yaml", out / "hardware.yaml")
        bench(out, "probe", "--name", HW, "--dtype", dtype, "--seconds", "6", "--replace")
    common = ["--model", model, "--dtype", dtype, "--input-len", "128", "--output-len", "32", "--seed", "1"]
    calibration = offline_rows(out, model, dtype, prefill_rows, repeats=repeats)
    if not (out / "profile.yaml").exists():
        bench(out, "calibrate", *calibration, "--hardware", HW, "--out", str(out / "profile.yaml"))
    serve = [*common, "--num-prompts", str(prompts), "--max-num-seqs", str(max(SEQS))]
    measured = ["--warmup-requests", str(warmup)]  # the simulated server has no warm-up to run
    conc = ["--concurrencies", ",".join(map(str, CONCURRENCIES))]

    def conc_pass(n: int) -> None:  # the n-th measured pass of the concurrencies, unless there
        if passes(out / "serve-conc.csv", len(CONCURRENCIES)) < n:
            bench(out, "serve", *serve, *measured, *conc, "--out", str(out / "serve-conc.csv"))
    conc_pass(1)
    tag, prof = "", out / "profile.yaml"
    if fit_level is not None:  # the serving path, fitted on levels the table does not check
        tag = tag_of(fit_level, free, front_end, fit_rates)
        prof = out / f"profile{tag}.yaml"
        kind, _, value = fit_level.partition(":")
        fit_rows = out / f"serve-fit-{value if kind == 'model' else 'conc' + value}.csv"
        fit = ["--serve-free", free, "--front-end", front_end]
        if kind == "conc":  # one measured level of this model, left out of the table
            if not fit_rows.exists():
                copy_rows(out / "serve-conc.csv", fit_rows,
                          lambda r: r.get("status") == "ok" and r.get("concurrency") == value)
            if not prof.exists():
                bench(out, "calibrate", *calibration, "--hardware", HW, "--serve-rows", str(fit_rows), *fit,
                      "--out", str(prof))
        else:  # another model's levels, same workload and server, `repeats` passes
            other = ["--model", value, *serve[2:]]
            rate_rows = out / f"serve-fit-{value}-rates.csv"
            for n in range(1, repeats + 1):  # passes interleaved: concurrencies n, then rates n
                if passes(fit_rows, len(FIT_CONCURRENCIES)) < n:
                    bench(out, "serve", *other, *measured, "--concurrencies", ",".join(map(str, FIT_CONCURRENCIES)),
                          "--out", str(fit_rows))
                if fit_rates and passes(rate_rows, len(FIT_RATE_SHARES)) < n:
                    bench(out, "serve", *other, *measured, "--rates", fit_rates_of(fit_rows, rate_rows),
                          "--out", str(rate_rows))
            # that model's own engine (its offline rows), so the fit moves only the front end's cost; this model's
            # profile then takes the path alone
            theirs_rows = offline_rows(out, value, dtype, prefill_rows, suffix=f"-{value}", repeats=repeats)
            theirs = out / f"profile-{value}{tag}.yaml"
            if not prof.exists() and not theirs.exists():
                files = [str(fit_rows)] + ([str(rate_rows)] if fit_rates else [])
                bench(out, "calibrate", *theirs_rows, "--hardware", HW, "--serve-rows", *files, *fit,
                      "--out", str(theirs))
            if not prof.exists():
                bench(out, "calibrate", *calibration, "--hardware", HW, "--serving-from", str(theirs),
                      "--out", str(prof))
    sim = ["--engine", "sim", "--hardware", HW, "--profile", str(prof)]
    if not (out / f"sim-conc{tag}.csv").exists():
        bench(out, "serve", *serve, *sim, *conc, "--out", str(out / f"sim-conc{tag}.csv"))
    # the rates: shares of the capacity the calibrated sim predicts (a rate above it is refused: the queue grows);
    # once measured, the measured ones (a rerun with another profile predicts the same levels)
    if (out / "serve-rate.csv").exists():
        given_rates = ",".join(sorted({r["request_rate"] for r in rows(out / "serve-rate.csv")}, key=float))
    capacity = float(rows(out / f"sim-conc{tag}.csv")[0]["predicted_capacity_req_s"])
    rates = ["--rates", given_rates or ",".join(f"{capacity * s:.3g}" for s in RATE_SHARES)]
    for n in range(1, repeats + 1):  # passes interleaved in time: rates n, then concurrencies n + 1
        if passes(out / "serve-rate.csv", len(RATE_SHARES)) < n:
            bench(out, "serve", *serve, *measured, *rates, "--out", str(out / "serve-rate.csv"))
        if n < repeats:
            conc_pass(n + 1)
    # a measured rate above this profile's capacity is refused by the sim (the table says so): predict the others
    sustainable = [r for r in rates[1].split(",") if float(r) <= capacity]
    if not (out / f"sim-rate{tag}.csv").exists():
        if sustainable:
            bench(out, "serve", *serve, *sim, "--rates", ",".join(sustainable),
                  "--out", str(out / f"sim-rate{tag}.csv"))
        else:
            copy_rows(out / f"sim-conc{tag}.csv", out / f"sim-rate{tag}.csv", lambda r: False)
    for n in range(1, repeats + 1 if again else 1):  # the same levels, measured again after everything above
        if passes(out / f"serve-conc{AGAIN}.csv", len(CONCURRENCIES)) < n:
            bench(out, "serve", *serve, *measured, *conc, "--out", str(out / f"serve-conc{AGAIN}.csv"))
        if passes(out / f"serve-rate{AGAIN}.csv", len(RATE_SHARES)) < n:
            bench(out, "serve", *serve, *measured, *rates, "--out", str(out / f"serve-rate{AGAIN}.csv"))
    return tag


def measured_levels(out: Path, again: bool = False) -> dict[str, list[dict]]:
    """Each level's measured passes: OUT_DIR/serve-{conc,rate}.csv, or with again the second set (--again)."""
    levels: dict[str, list[dict]] = {}
    for kind in ("conc", "rate"):
        path = out / f"serve-{kind}{AGAIN if again else ''}.csv"
        if again and not path.exists():
            continue
        for r in rows(path):
            levels.setdefault(level_of(r), []).append(r)
    return levels


def predicted_levels(out: Path, tag: str = "") -> dict[str, dict]:
    """Each level's predicted row (the simulated server's, with the serving path of `tag`)."""
    return {level_of(r): r for kind in ("conc", "rate") for r in rows(out / f"sim-{kind}{tag}.csv")}


def medians(levels: dict[str, list[dict]]) -> dict[str, dict]:
    """The first set's medians, as a prediction of the second (--again: the machine against itself)."""
    return {level: {f: statistics.median(float(m[f]) for m in ms) for f in FIGURES} for level, ms in levels.items()}


def table(out: Path, fmt: str, tag: str = "", left_out: str | None = None, fitted_on: str | None = None,
          measured: dict[str, list[dict]] | None = None, against: dict[str, dict] | None = None,
          against_name: str = "pred") -> list[str]:
    """Each level's measured figures (the median of its passes, their range beside it when more than one) against
    the prediction; within 25% is judged on the median. measured: default OUT_DIR/serve-*.csv; against: default the
    simulated server's rows of `tag` (another set's medians: --again)."""
    measured = dict(measured_levels(out) if measured is None else measured)
    measured.pop(left_out, None)  # the level the serving path was fitted on: not a check of the prediction
    predicted = predicted_levels(out, tag) if against is None else against
    head = ["level"] + [f"{f} meas [range] / {against_name} (ratio)" for f in FIGURES] + \
        ["all at once", "CPU elsewhere % (steal %)", "within 25%"]

    def line(cells: list[str]) -> str:
        return " | ".join(cells) if fmt == "table" else "| " + " | ".join(cells) + " |"
    lines = [line(head)] + ([] if fmt == "table" else ["|" + "---|" * len(head)])
    worst, met, figures = 0.0, 0, 0
    for level, ms in measured.items():
        p = predicted.get(level)
        if p is None:  # a rate above the sim's capacity (it predicts a queue without bound), or a level the other
            # measured set lacks: a miss either way
            if against is not None:
                cell = "not measured in the other set"
            else:
                capacity = float(next(iter(predicted.values()))["predicted_capacity_req_s"])
                cell = f"above the predicted capacity ({capacity:.3g}/s): unbounded queue"
            lines.append(line([level, cell, cell, "-", "-", "-", "no"]))
            worst = math.inf
            continue
        cells, ok = [f"{level} (x{len(ms)})" if len(ms) > 1 else level], True
        for f in FIGURES:
            values = [float(m[f]) for m in ms]
            a, b = statistics.median(values), float(p[f])
            ratio = b / a
            worst = max(worst, abs(ratio - 1))
            ok = ok and abs(ratio - 1) <= TOLERANCE
            figures += abs(ratio - 1) <= TOLERANCE
            spread = f" [{min(values):,.1f}-{max(values):,.1f}]" if len(values) > 1 else ""
            cells.append(f"{a:,.1f}{spread} / {b:,.1f} ({ratio:.2f})")
        met += ok
        # requests whose tokens all came in one read (TTFT = E2E, no TPOT: docs/serve.md), per pass
        cells.append("/".join(str(int(float(m.get("tpot_unmeasured") or 0))) for m in ms))
        # what else the machine did over each pass (bench.measure.hostload; empty before schema 9)
        cells.append(" ".join(f"{float(m['host_other_cpu_pct']):.1f} ({float(m['host_steal_pct']):.1f})"
                              if m.get("host_other_cpu_pct") else "-" for m in ms))
        cells.append("yes" if ok else "no")
        lines.append(line(cells))
    lines.append(f"levels within 25% on all three: {met} of {len(measured)} ({figures} of {len(FIGURES) * len(measured)} "
                 f"figures); worst |{against_name}/meas - 1| {worst:.0%}; "
                 f"load average now {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} cores")
    if against is None and (inside := band_line(measured, predicted)):
        lines.append(inside)
    if fitted_on:
        lines.append(f"serving path fitted on {fitted_on}: {serving_line(out, tag)}")
    return lines


def band_line(measured: dict[str, list[dict]], predicted: dict[str, dict]) -> str:
    """How many levels' measured TTFT p99 and TPOT p99 (the median of their passes) lie inside the simulated row's
    band (predicted_band_low/high_*_p99_ms: every engine step at the calibration band's edges); '' when the rows have
    no band (written before schema 10, or the roofline bound)."""
    counts, levels = {"ttft": 0, "tpot": 0}, 0
    for level, ms in measured.items():
        p = predicted.get(level) or {}
        if p.get("predicted_band_low_ttft_p99_ms") in (None, ""):
            continue
        levels += 1
        for figure in counts:
            value = statistics.median(float(m[f"{figure}_p99_ms"]) for m in ms)
            counts[figure] += float(p[f"predicted_band_low_{figure}_p99_ms"]) <= value <= \
                float(p[f"predicted_band_high_{figure}_p99_ms"])
    if not levels:
        return ""
    return (f"inside the prediction's band (every engine step at the calibration band's edges): TTFT p99 of "
            f"{counts['ttft']} of {levels} levels, TPOT p99 of {counts['tpot']} of {levels}")


def serving_line(out: Path, tag: str) -> str:
    """The fitted serving path as the profile states it."""
    import yaml

    from bench.roofline import servingpath

    raw = (yaml.safe_load((out / f"profile{tag}.yaml").read_text()) or {}).get("serving") or {}
    return servingpath.from_dict(raw).describe()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--model", default="tiny-qwen2")
    ap.add_argument("--dtype", default=None, help="default: python -m bench.measure.cpu_features dtype")
    ap.add_argument("--format", choices=("table", "markdown"), default="table")
    ap.add_argument("--prefill-rows", action="store_true", help="calibrate also on prompt-heavy bench run rows (512 in "
                    "/ 4 out at --max-num-seqs 1,8): they separate the prefill cost from the decode cost")
    ap.add_argument("--rates", help="R1,R2: the rate levels (default: 30%% and 70%% of the sim's predicted capacity)")
    ap.add_argument("--serving-fit", metavar="conc:C|model:NAME", help="fit the serving path's host cost (bench "
                    "calibrate --serve-rows) on the measured level at concurrency C, left out of the table, or on "
                    "another model's levels at concurrency 1, 4 and 16")
    ap.add_argument("--serving-free", default=DEFAULT_FREE, help="--serving-fit: the serving parameters fitted "
                    f"(default {DEFAULT_FREE}; stream_step_s: a cost per step whatever its streams)")
    ap.add_argument("--front-end", choices=FRONT_ENDS, default="auto",
                    help="--serving-fit: where the front end runs (bench calibrate --front-end)")
    ap.add_argument("--no-fit-rates", dest="fit_rates", action="store_false", help="--serving-fit model:NAME: fit "
                    "on that model's concurrencies only (default: also at two rates, 30%% and 70%% of its measured "
                    "throughput at 16 streams)")
    ap.add_argument("--num-prompts", type=int, default=SERVE_PROMPTS, help="measured requests a serve level "
                    f"(default {SERVE_PROMPTS})")
    ap.add_argument("--warmup-requests", type=int, default=WARMUP_REQUESTS, help="a measured level's warm-up "
                    f"requests, sent at its own load (default {WARMUP_REQUESTS})")
    ap.add_argument("--repeats", type=int, default=REPEATS, help="passes of every measurement: bench run --repeats, "
                    f"and the serve levels measured that many times, the table on their median (default {REPEATS})")
    ap.add_argument("--again", action="store_true", help="after everything, measure this model's levels --repeats "
                    "more times (the same rates) and print two more tables: the first set's medians against the "
                    "second's (how far the machine repeats itself) and the prediction against the second set")
    args = ap.parse_args()
    left_out = held_out(args.serving_fit)
    dtype = args.dtype or subprocess.run([sys.executable, "-m", "bench.measure.cpu_features", "dtype"], cwd=REPO,
                                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
                                         ).stdout.strip() or "float32"
    tag = run_all(args.out, args.model, dtype, args.prefill_rows, args.rates, args.serving_fit, args.serving_free,
                  args.front_end, args.num_prompts, args.warmup_requests, args.repeats, args.fit_rates, args.again)
    fitted_on = None
    if args.serving_fit:
        fitted_on = f"{left_out}, left out of the table" if left_out else \
            f"{args.serving_fit.partition(':')[2]} at concurrency {', '.join(map(str, FIT_CONCURRENCIES))}" + \
            (" and two rates" if args.fit_rates else "")
    print("\n".join(table(args.out, args.format, tag, left_out, fitted_on)))
    second = measured_levels(args.out, again=True)
    if second:
        print("\nThe machine against itself: the second set of passes, the first set's medians beside it")
        print("\n".join(table(args.out, args.format, left_out=left_out, measured=second,
                               against=medians(measured_levels(args.out)), against_name="first set")))
        print("\nThe prediction against the second set of passes")
        print("\n".join(table(args.out, args.format, tag, left_out, fitted_on, measured=second)))


if __name__ == "__main__":
    main()
