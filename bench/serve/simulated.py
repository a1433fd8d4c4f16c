"""`bench serve --engine sim --hardware H`: the simulated server (bench.roofline.servesim), one row per level.

The same load as the real serve, built by the same functions: the workload (bench.workload.source), a rate's
send times (bench.serve.arrivals: Poisson or gamma gaps, seeded), a trace's recorded times x --time-scale, or a
closed loop of C streams. The requests run through the batch sim's scheduler with those arrivals, each step timed
by --profile's calibration (default the published fit; --sim-timing bound: the roofline), and each request
becomes the record the streaming client would have made of it (its tokens at the times their steps end), so
bench.measure.streaming computes the row's figures exactly as for a measured level. Rows: engine sim, device sim,
device_name the hardware, engine_version roofline-N+CALIBRATION, prediction_calibration, the calibration's band
around output tok/s (closed-loop levels), predicted_capacity_req_s, and the level's TTFT and TPOT p99 served with
every engine step at each edge of that band (SimServer.band_columns). No warm-up is sent (a simulated server has
nothing to warm).

Refused before anything is written (one line, exit 2): a rate or a trace whose offered rate is above the card's
capacity (servesim.capacity_req_s: the queue would grow without bound, and no TTFT is steady), a trace without
timestamps, a model whose weights leave no KV cache on the card. With --find-max-load the search chooses the
levels (bench.serve.maxload, as for a measured server): a rate above capacity is then a failed level of the search
(its row, status failed, says why), which it reads as a miss.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from bench.config.catalog import ResolvedModel, choose_weights
from bench.config.engines import SIM_MODEL_VERSION
from bench.config.serve import Level, ServeConfig
from bench.core.errors import BenchError
from bench.core.formats import given, num
from bench.execution.case import new_run_id
from bench.execution.record import case_record, serve_row
from bench.measure.environment import host_env
from bench.measure.streaming import StreamedRequest, compute_serve_metrics, deliveries, itl_per_token_s
from bench.results import store as results
from bench.roofline import predict, servesim
from bench.roofline.batchsim import SimError, prefix_hashes
from bench.serve.arrivals import arrival_offsets_s
from bench.serve.load import trace_offsets_s

def level_arrivals(level: Level, n: int, cfg: ServeConfig, recorded_s: list[float] | None):
    """The arrivals of a level as the real serve sends them (bench.serve.load), and their times (None: closed)."""
    if level.kind == "concurrency":
        return servesim.ClosedLoop(n, int(level.value)), None
    if level.kind == "trace":
        if not recorded_s:
            raise BenchError("the trace has no timestamps: a trace level replays each request at its recorded time; "
                             "give a trace with a timestamp per request, or use --concurrency or --request-rate")
        times = trace_offsets_s(recorded_s, level.value)
    else:
        times = arrival_offsets_s(n, level.value, cfg.burstiness, cfg.seed)
    return servesim.OpenArrivals(times), times


def records_of(outcome) -> list[StreamedRequest]:
    """Each simulated request as the streaming client records one: sent at its arrival, one delivery per step that
    emitted its tokens (several with speculative decoding), TTFT, ITL, E2E and TPOT from those times."""
    out = []
    for r in outcome.requests:
        rec = StreamedRequest(prompt_len=r.prompt_len, output_len=r.generated, index=r.index,
                              output_len_asked=r.output_len, success=True, start_s=r.arrival_s, end_s=r.finish_s,
                              ttft_s=r.first_token_s - r.arrival_s, e2e_s=r.finish_s - r.arrival_s,
                              cached_tokens=r.cached_tokens, output_tokens_source="sim")
        delivered = deliveries([(t, 1) for t in r.token_s], r.generated)
        rec.chunk_tokens = [k for _, k in delivered]
        rec.itl_s = itl_per_token_s(delivered)
        rec.chunks = len(delivered)
        rec.finish()
        out.append(rec)
    return out


class SimServer:
    """One model on one card as the simulated server: its deployment, calibration, limits and capacity."""

    def __init__(self, cfg: ServeConfig, model: ResolvedModel, lengths: list[tuple[int, int]], profile=None,
                 capacity: bool = True) -> None:
        """`profile`: the calibration to time steps with (default: --profile's, or the published fit); its serving
        path (the front end's host cost, bench.roofline.servingpath) lengthens the served steps. `capacity` False:
        the capacity is not computed (None; a run of 3 x the batch: a fit that only measures levels skips it)."""
        gpu = predict.require_gpu(cfg.hardware)
        self.dep = predict.deployment(cfg.model_dump(), model.config, gpu)
        if not self.dep.fits:
            raise BenchError(f"predicted out of memory: {model.name}'s weights leave no KV cache on {gpu.name} "
                             f"x{self.dep.tp}; give more --tensor-parallel-size or another --hardware")
        if cfg.sim_timing != "expected":
            self.profile = None
        else:
            self.profile = profile or predict.load_profile(cfg.profile)
        self.eff = self.profile.efficiency_for("vllm") if self.profile else None
        self.serving = self.profile.serving if self.profile else None
        seqs, self.tokens = servesim.server_limits(gpu)
        self.seqs = cfg.max_num_seqs or seqs
        self._capacities: dict[float, float] = {}  # capacity_at's, by step scale
        try:
            self.capacity_req_s = self.capacity_at(1.0, lengths) if capacity else None
        except SimError as e:
            raise BenchError(f"{e}: a request of this workload does not fit {gpu.name}'s KV cache; shorten "
                             "--input-len/--output-len or add --tensor-parallel-size") from None

    @property
    def version(self) -> str:
        return SIM_MODEL_VERSION + (f"+{self.profile.name}" if self.profile else "")

    @staticmethod
    def offered_req_s(level: Level, times: list[float] | None) -> float | None:
        """An open-loop level's requests a second (a rate's, or a trace's mean at its time scale); None: closed."""
        if times is None:
            return None
        return level.value if level.kind == "rate" else servesim.mean_rate_req_s(times)

    def unsustainable(self, level: Level, times: list[float] | None) -> str | None:
        """Why an open-loop level cannot be served steadily (it offers more requests a second than the card serves
        saturated), or None."""
        offered = self.offered_req_s(level, times)
        if offered is None or math.isinf(offered) or offered <= self.capacity_req_s:  # inf: all at once, a batch
            return None
        what = f"--request-rate {given(level.value)}" if level.kind == "rate" else \
            f"the trace at x{given(level.value)} ({num(offered)} requests/s)"
        return (f"{what} is more than {self.dep.gpu.name} x{self.dep.tp} can sustain: its capacity for these "
                f"requests is about {num(self.capacity_req_s)} requests/s ({self.version}), so the queue would grow "
                "without bound and no TTFT is steady")

    def check_sustainable(self, level: Level, times: list[float] | None) -> None:
        """BenchError when an open-loop level offers more requests a second than the card serves saturated."""
        why = self.unsustainable(level, times)
        if why is not None:
            raise BenchError(f"{why}; give a rate below it, or --concurrency, or more hardware; no row was written")

    def measure(self, arrivals, cfg: ServeConfig, lengths: list, blocks: list | None, step_scale: float = 1.0):
        """(the sim's outcome, its request records, the level's figures as bench.measure.streaming computes them) for
        a level's arrivals (level_arrivals: the caller builds them once and checks them first); `step_scale`: every
        engine step that many times as long (servesim.serve)."""
        sim = servesim.serve(self.dep, lengths, arrivals, self.eff, self.seqs, self.tokens, prefix_blocks=blocks,
                             serving=self.serving, seed=cfg.seed, step_scale=step_scale)
        records = records_of(sim)
        return sim, records, compute_serve_metrics(records, sim.elapsed_s, cfg.slo)

    def band_scales(self) -> dict[str, float]:
        """The step scales at the calibration band's edges: {"low": 1 / band_high, "high": 1 / band_low}. The band
        is measured / predicted output tok/s over the calibration's rows (10th-90th percentile, each row predicted
        without it): an engine at its high edge runs each step in 1 / band_high of the predicted time, the low
        latencies. Empty without a calibration (the roofline bound) or for a profile without a band (read as 1-1)."""
        p = self.profile
        if p is None or not (p.band_low > 0 and p.band_high > 0) or p.band_low == p.band_high == 1.0:
            return {}
        return {"low": 1.0 / p.band_high, "high": 1.0 / p.band_low}

    def band_columns(self, level: Level, arrivals_of, cfg: ServeConfig, lengths: list, blocks: list | None) -> dict:
        """The level's TTFT p99 and TPOT p99 served with every engine step at each edge of the calibration's band
        (band_scales; the front end's cost and the arrivals unchanged): predicted_band_low/high_ttft_p99_ms and
        _tpot_p99_ms. Near capacity the latencies move much more than the band (a queue's wait grows as 1 / (1 -
        load)); an open-loop level whose rate is above the card's capacity at an edge slower than the prediction has
        that edge's TTFT inf (the queue would grow without bound there: the high edge; the low one too where the whole
        band lies below 1). `arrivals_of()`: fresh (arrivals, times) of the level."""
        out: dict = {}
        for edge, scale in self.band_scales().items():
            arrivals, times = arrivals_of()
            _, _, metrics = self.measure(arrivals, cfg, lengths, blocks, step_scale=scale)
            ttft = metrics.get("ttft_p99_ms")
            offered = self.offered_req_s(level, times)
            if scale > 1.0 and offered is not None and not math.isinf(offered) and \
                    offered > self.capacity_at(scale, lengths):  # only a slower engine loses capacity
                ttft = math.inf
            out[f"predicted_band_{edge}_ttft_p99_ms"] = ttft
            out[f"predicted_band_{edge}_tpot_p99_ms"] = metrics.get("tpot_p99_ms")
        return out

    def capacity_at(self, scale: float, lengths: list) -> float:
        """The card's capacity with every engine step `scale` times as long (servesim.capacity_req_s), once a scale."""
        if scale not in self._capacities:
            self._capacities[scale] = servesim.capacity_req_s(self.dep, lengths, self.eff, self.seqs, self.tokens,
                                                              serving=self.serving, step_scale=scale)
        return self._capacities[scale]

    def roofline_columns(self, level: Level, output_tok_s: float | None) -> dict:
        band = self.profile is not None and level.kind == "concurrency" and output_tok_s
        return {"prediction_calibration": self.profile.name if self.profile else "roofline bound",
                "predicted_band_low_tok_s": output_tok_s * self.profile.band_low if band else None,
                "predicted_band_high_tok_s": output_tok_s * self.profile.band_high if band else None,
                "predicted_capacity_req_s": self.capacity_req_s}


def sim_workload(cfg: ServeConfig, model: ResolvedModel):
    """(the workload, its (prompt, output) lengths, a trace's recorded send times or None, the prompts' prefix-cache
    blocks or None): what every level of the simulated server shares."""
    from bench.workload import source

    work = source.build(cfg.model_dump(), model.config)
    lengths = [(r.prompt_len, r.output_len) for r in work.requests]
    recorded = [r.arrival_s or 0.0 for r in work.requests] if work.replayable else None
    blocks = prefix_hashes([r.prompt_token_ids for r in work.requests]) if cfg.enable_prefix_caching else None
    return work, lengths, recorded, blocks


class _SimLevels:
    """What every level of one simulated session shares (the workload, the server, its sweep), and a level's row."""

    def __init__(self, cfg: ServeConfig, model: ResolvedModel, out_csv: Path) -> None:
        from bench.serve.session import _Session

        self.cfg = cfg
        self.work, self.lengths, self.recorded, self.blocks = sim_workload(cfg, model)
        self.server = SimServer(cfg, model, self.lengths)
        when = dt.datetime.now(dt.timezone.utc)
        env = host_env()
        self.session = _Session(cfg=cfg, model=model, out_csv=out_csv, sweep_id=new_run_id(when), env=env,
                                api_model=cfg.api_model or model.name, target=None, secret=None,
                                weights=choose_weights(model, cfg.weights).kind, engine=cfg.engine, metrics_url=None,
                                device="sim")
        self.facts = {"device": "sim", "device_name": self.server.dep.gpu.name, "engine_version": self.server.version,
                      "kv_capacity_tokens": self.server.dep.kv_capacity_tokens, "gpu_count": self.server.dep.tp}

    def arrivals(self, level: Level):
        return level_arrivals(level, len(self.lengths), self.cfg, self.recorded)

    def outcome(self, level: Level, arrivals, unsustainable: str | None = None):
        """The level's row and JSON record, not written (bench.serve.session.write_level writes them). A level the
        card cannot sustain (`unsustainable`: why) is not simulated: its row is failed, with no figures."""
        from bench.serve.session import LevelOutcome, plain_json

        cfg, server, session = self.cfg, self.server, self.session
        band: dict = {}
        if unsustainable is None:
            sim, records, metrics = server.measure(arrivals, cfg, self.lengths, self.blocks)
            served = {"server_running_max": sim.max_running, "server_preemptions": sim.preemptions}
            status = ("ok", "")
            band = server.band_columns(level, lambda: self.arrivals(level), cfg, self.lengths, self.blocks)
        else:
            sim, records, metrics, served, status = None, [], {}, {}, ("failed", unsustainable)
        now = dt.datetime.now(dt.timezone.utc)
        row = serve_row(run_id=new_run_id(now), sweep_id=session.sweep_id, when=now, cfg=cfg, model=session.model,
                        level=level, weights=session.weights, engine=cfg.engine, endpoint_url="",
                        api_model=session.api_model, metrics=metrics, server=served, facts=self.facts,
                        env=session.env, status=status[0], error=status[1], engine_start_s=None,
                        peak_memory=(None, ""), workload=self.work.columns(),
                        roofline={**server.roofline_columns(level, metrics.get("output_tok_s")), **band})
        row["warmup_requests"] = 0  # nothing to warm on a simulated server
        parts = {} if sim is None else {
            "sim": {"steps": sim.steps, "preemptions": sim.preemptions, "max_running": sim.max_running,
                    "max_num_seqs": server.seqs, "max_num_batched_tokens": server.tokens,
                    "capacity_req_s": server.capacity_req_s, "engine_version": server.version}}
        record = case_record(row, config=plain_json(cfg.model_dump()), model=session.model, environment=session.env,
                             log=None, requests=[r.to_dict() for r in records], sweep_id=session.sweep_id,
                             level={"kind": level.kind, "value": level.value, "burstiness": cfg.burstiness,
                                    "duration_s": sim.elapsed_s if sim is not None else None},
                             metrics=plain_json(metrics), **parts)
        return LevelOutcome(level=level, row=row, record=record)


def run_sim_serve(cfg: ServeConfig, model: ResolvedModel, out_csv: Path, on_level=None):
    """Every level of cfg on the simulated server, recorded like a measured session (bench.serve.session); with
    --find-max-load, the levels the search asks for (bench.serve.maxload), one predicted row each."""
    from bench.analysis.slo import cheapest_meeting_slo
    from bench.serve.session import SessionOutcome, _write_sweep_record, write_level

    results.check_appendable(out_csv)
    sim = _SimLevels(cfg, model, out_csv)
    if cfg.find_max_load:
        return _search(sim, on_level)
    levels = [Level(lv.kind, lv.value, r) for r in range(cfg.repeats) for lv in cfg.levels]
    planned = []
    for level in levels:  # every level checked before the first row is written
        arrivals, times = sim.arrivals(level)
        sim.server.check_sustainable(level, times)
        planned.append((level, arrivals))
    outcomes = []
    for level, arrivals in planned:
        outcome = sim.outcome(level, arrivals)
        write_level(sim.session, outcome)
        outcomes.append(outcome)
        if on_level is not None:
            on_level(outcome)
    cheapest = cheapest_meeting_slo([o.row for o in outcomes]) if cfg.hardware else None
    _write_sweep_record(sim.session, outcomes, cheapest)
    return SessionOutcome(sweep_id=sim.session.sweep_id, levels=outcomes, log_path=None, cheapest=cheapest)


def _search(sim: _SimLevels, on_level):
    """--find-max-load on the simulated server: the measured search's driver (bench.serve.maxload) with each level
    simulated. A level above the card's capacity is a failed level of the search (its row says why), never an
    error: the search reads it as a miss and bisects below it."""
    from bench.serve import maxload
    from bench.serve.session import SessionOutcome, end_search, searched_cheapest, write_level

    def measure(level: Level, first: bool):
        arrivals, times = sim.arrivals(level)
        return sim.outcome(level, arrivals, sim.server.unsustainable(level, times)), False

    outcomes, part = maxload.run_search(sim.cfg, measure, lambda o: write_level(sim.session, o), on_level,
                                        lambda outcomes, part: end_search(sim.session, outcomes, part))
    return SessionOutcome(sweep_id=sim.session.sweep_id, levels=outcomes, log_path=None, search=part,
                          cheapest=searched_cheapest(sim.session, outcomes))


def level_measurer(cfg: ServeConfig, model: ResolvedModel):
    """A search over load levels (the SLO boundary of bench serve --find-max-load) on the simulated server: a callable
    Level -> that level's figures (the row's metric columns, bench.measure.streaming), nothing written. An open-loop
    level above the card's capacity is not refused here: its figures say so, `sustainable` False (the queue grows
    without bound: no TTFT target is met)."""
    _, lengths, recorded, blocks = sim_workload(cfg, model)
    server = SimServer(cfg, model, lengths)

    def measure(level: Level) -> dict:
        arrivals, times = level_arrivals(level, len(lengths), cfg, recorded)
        if server.unsustainable(level, times) is not None:
            return {"sustainable": False, "predicted_capacity_req_s": server.capacity_req_s}
        _, _, metrics = server.measure(arrivals, cfg, lengths, blocks)
        return {**metrics, "sustainable": True, "predicted_capacity_req_s": server.capacity_req_s}
    return measure
