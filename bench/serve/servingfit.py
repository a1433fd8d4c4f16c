"""The serving path's host cost fitted from measured `bench serve` rows (`bench calibrate ... --serve-rows FILE`).

Each given row is one level of a measured server (a concurrency or a request rate, the random workload of fixed
lengths). It is rebuilt on the simulated server (bench.serve.simulated: the same requests, arrivals and seed, steps
timed with the calibration's engine parameters) and its TPOT p50, TTFT p50 and TTFT p90 predicted (the p90 where at
most P90_COALESCED_MAX of the level's requests came all at once: beyond, the top decile is largely theirs), with the
serving path at 0, then with each free parameter moved by PROBE_S (its effect on each figure, per second of the
parameter). The parameters are then the non-negative least squares of the relative misses on those effects
(bench.roofline.servingpath.fit_nonnegative), and the step is repeated from the answer (GAUSS_NEWTON_ROUNDS times in
all; a step that raises the misses is halved, descend): in a closed loop of equal requests the figures move
linearly with the parameters and the first round is the answer; queueing (rate levels) and drawn latencies bend
them. A fitted request_latency_s is the mean of an exponential wait
(latency_dist "exponential", bench.roofline.servingpath): the TTFT p90 is what tells it from a fixed delay.

The rows fitted on are the calibration's: a validation must check the prediction on other rows (another model, or
levels left out), never on these.
"""

from __future__ import annotations

import dataclasses
import datetime

from bench.config import catalog
from bench.config.engines import is_predicted
from bench.config.serve import SERVING_FIT_DEFAULT, Level, ServeConfig
from bench.core.errors import BenchError
from bench.roofline import servingpath
from bench.roofline.profile import Profile
from bench.roofline.servingpath import ServingPath

FIGURES = ("tpot_p50_ms", "ttft_p50_ms", "ttft_p90_ms")
DEFAULT_FREE = SERVING_FIT_DEFAULT
PROBE_S = 1e-3  # the step of each parameter its effect is read over
GAUSS_NEWTON_ROUNDS = 3
HALVINGS = 6  # of a step that does not lower the misses (descend)


COALESCED_MAX = 0.10  # a level more of whose requests than this got all their tokens at once is not fitted on
P90_COALESCED_MAX = 0.05  # and its TTFT p90 only where at most this share did (half the top decile)


def coalesced_share(row: dict) -> float:
    """The share of a level's completed requests whose output tokens all came in one read (TTFT = E2E: the delivery
    waited, docs/serve.md), 0 where the row does not say."""
    try:
        return float(row.get("tpot_unmeasured") or 0) / float(row.get("completed") or 0)
    except (ValueError, ZeroDivisionError):
        return 0.0


def stalled(row: dict) -> bool:
    """More than COALESCED_MAX of the level's requests came all at once: not fitted on (serve_rows)."""
    return coalesced_share(row) > COALESCED_MAX


def serve_rows(rows: list[dict]) -> list[dict]:
    """The measured ok serve levels among results rows (a concurrency or a rate, with TTFT and TPOT p50), less those
    more than COALESCED_MAX of whose requests came all at once: their TTFT measures the stalled delivery, which the
    serving path does not model, not the server's path."""
    out = []
    for r in rows:
        measured = r.get("status") == "ok" and not is_predicted(r.get("engine"))
        if not measured or r.get("load_mode") not in ("concurrency", "rate"):
            continue
        if not r.get("tpot_p50_ms") or not r.get("ttft_p50_ms") or stalled(r):
            continue
        if (r.get("dataset") or "random") != "random" or (r.get("length_dist") or "fixed") != "fixed":
            raise BenchError(f"serve row {r.get('run_id')}: only levels of --dataset random with fixed lengths can be "
                             "rebuilt on the simulated server; give such rows to --serve-rows")
        out.append(r)
    return out


def level_of(row: dict) -> Level:
    if row.get("load_mode") == "concurrency":
        return Level("concurrency", int(row["concurrency"]))
    return Level("rate", float(row["request_rate"]))


def config_of(row: dict, hardware: str) -> ServeConfig:
    """The simulated server's configuration of a measured serve level: its model, lengths, requests, seed, batch cap
    and load, on `hardware`."""
    level = level_of(row)
    load = {"concurrencies": [int(level.value)]} if level.kind == "concurrency" else \
        {"request_rates": [level.value], "burstiness": float(row.get("burstiness") or 1.0)}
    try:
        return ServeConfig(model=row["model"], engine="sim", hardware=hardware, dtype=row.get("dtype") or "auto",
                           kv_cache_dtype=row.get("kv_cache_dtype") or "auto",
                           tensor_parallel_size=int(row.get("tensor_parallel_size") or 1),
                           input_len=int(row["input_len"]), output_len=int(row["output_len"]),
                           num_prompts=int(row["num_prompts"]), seed=int(row.get("seed") or 0),
                           max_num_seqs=int(row["max_num_seqs"]) if row.get("max_num_seqs") else None, **load)
    except (KeyError, ValueError, TypeError) as e:
        why = str(e).splitlines()[0]
        raise BenchError(f"serve row {row.get('run_id')}: cannot rebuild its level ({why})") from None


def predicted_ms(row: dict, hardware: str, profile: Profile) -> tuple[float, ...]:
    """FIGURES of the row's level on the simulated server with `profile` (its serving path included)."""
    from bench.roofline.batchsim import SimError
    from bench.serve.simulated import SimServer, level_arrivals, sim_workload

    cfg = config_of(row, hardware)
    model = catalog.resolve_model(cfg.model)
    _, lengths, recorded, blocks = sim_workload(cfg, model)
    server = SimServer(cfg, model, lengths, profile=profile, capacity=False)  # a level's figures need no capacity
    arrivals, _ = level_arrivals(cfg.levels[0], len(lengths), cfg, recorded)
    try:
        _, _, metrics = server.measure(arrivals, cfg, lengths, blocks)
    except SimError as e:  # what SimServer's capacity would have said, had it been computed
        raise BenchError(f"serve row {row.get('run_id')}: {e}: a request of its level does not fit "
                         f"{server.dep.gpu.name}'s KV cache on the simulated server") from None
    return tuple(float(metrics[f]) for f in FIGURES)


def descend(path: ServingPath, free: tuple[str, ...], measured: list[float], figures) -> tuple[ServingPath, float]:
    """Gauss-Newton from `path` (module doc): the fitted path and its sum of squared relative misses. A step is taken
    only where it lowers that sum, else halved (up to HALVINGS times; then the descent stops): a request latency drawn
    for each request breaks a closed loop's waves apart, the figures bend, and a full linearised step can land far
    off (on tiny-qwen3's levels, 2026-12-07: 0.30 s of latency, misses 60 in squares, where 5 ms gave 0.43)."""
    def sse(values: list[float]) -> float:
        return sum(((m - a) / m) ** 2 for m, a in zip(measured, values))

    at = figures(path)
    err = sse(at)
    for _ in range(GAUSS_NEWTON_ROUNDS):
        effects = []
        for name in free:
            moved = figures(path.with_values(**{name: getattr(path, name) + PROBE_S}))
            effects.append([(b - a) / PROBE_S for a, b in zip(at, moved)])
        # relative misses (a TTFT of a second and a TPOT of 30 ms weigh alike), linearised around the current
        # values x0: measured ~ at + effects (x - x0), so effects x = measured - at + effects x0, x >= 0
        x0 = [getattr(path, n) for n in free]
        rel = [[effects[j][i] / measured[i] for j in range(len(free))] for i in range(len(measured))]
        misses = [(m - a) / m + sum(e * x for e, x in zip(row, x0)) for m, a, row in zip(measured, at, rel)]
        new = dict(zip(free, servingpath.fit_nonnegative(misses, rel)))
        if all(abs(new[n] - getattr(path, n)) <= 1e-6 for n in free):
            break
        for _ in range(HALVINGS + 1):
            candidate = path.with_values(**new)
            cand_at = figures(candidate)
            cand_err = sse(cand_at)
            if cand_err < err:
                break
            new = {n: (getattr(path, n) + new[n]) / 2 for n in free}
        else:
            break  # no step along this direction lowers the misses: the current path is the answer
        path, at, err = candidate, cand_at, cand_err
    return path, err


def fit(rows: list[dict], hardware: str, profile: Profile, free: tuple[str, ...] = DEFAULT_FREE,
        shares_cores: bool | None = None, in_series: bool = False) -> ServingPath:
    """The serving path fitted to measured serve rows (module doc), its source saying on which rows."""
    levels = serve_rows(rows)
    if not levels:
        raise BenchError("--serve-rows: no measured ok serve levels (bench serve rows at a concurrency or a rate, with "
                         f"TTFT and TPOT p50, at most {COALESCED_MAX:.0%} of their requests streamed all at once) to "
                         "fit the serving path on")
    unknown = sorted(set(free) - set(servingpath.PARAMETERS))
    if unknown:
        raise BenchError(f"serving parameter {unknown[0]} is not one of {', '.join(servingpath.PARAMETERS)}")
    used = [[f for f in FIGURES if f != "ttft_p90_ms" or (r.get(f) and coalesced_share(r) <= P90_COALESCED_MAX)]
            for r in levels]
    measured = [float(r[f]) for r, names in zip(levels, used) for f in names]

    def figures(p: ServingPath) -> list[float]:
        prof = dataclasses.replace(profile, serving=p)
        return [v for r, names in zip(levels, used)
                for f, v in zip(FIGURES, predicted_ms(r, hardware, prof)) if f in names]

    dist = "exponential" if "request_latency_s" in free else "fixed"
    start = ServingPath(shares_cores=shares_cores, in_series=in_series, latency_dist=dist)
    starts = [start]
    if shares_cores is False and "stream_step_s" in free:
        # a per-step time that overlaps the step shows only where it is longer (max(engine, host)): from 0 its
        # effect is 0 and the descent cannot leave 0; the second start is above the engine, at the shortest
        # measured TPOT p50 (an upper bound of a per-step front end the served tokens waited for)
        starts.append(start.with_values(stream_step_s=min(float(r["tpot_p50_ms"]) for r in levels) / 1e3))
    best = min((descend(s, free, measured, figures) for s in starts), key=lambda fitted: fitted[1])[0]
    names = sorted({r["model"] for r in levels})
    what = ", ".join(level_of(r).label for r in levels)
    dropped = sum(1 for r in rows if r.get("status") == "ok" and stalled(r))
    left = f"; {dropped} left out (over {COALESCED_MAX:.0%} of their streams all at once)" if dropped else ""
    return best.with_values(source=f"measured: fitted on {len(levels)} bench serve rows of {', '.join(names)} "
                                   f"({what}) on {hardware}, {datetime.date.today().isoformat()}{left}")
