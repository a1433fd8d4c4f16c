"""`bench serve` end to end: the server (or the endpoint), then one measured level after another,
each appended as a results row with its JSON beside it, then the summary.

Without --endpoint, vLLM's OpenAI server is started for the model on 127.0.0.1 and stopped when the
session ends, however it ends: normally, a failed level, an exception in the client, Ctrl-C or SIGTERM.
Its log is kept as <results folder>/<sweep_id>.log. With --endpoint, the same client measures
that server; the API key (if any) goes only there and is scrubbed from everything written.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.results import store as results
from bench.config.catalog import ResolvedModel, choose_weights
from bench.engines.vllm_build import cpu_build_problem, installed_vllm_build
from bench.serve.server import ServerFailed, VllmServer, server_args
from bench.measure.environment import host_env
from bench.core.errors import BenchError
from bench.engines.base import engine_env
from bench.execution.signals import Interrupted, signal_name, signals_deferred, sigterm_as_interrupt
from bench.execution.case import new_run_id
from bench.execution.rounds import UntilCi, in_rounds
from bench.serve import energy as level_energy
from bench.serve import maxload
from bench.serve.server_facts import local_versions, version_of
from bench.serve import prometheus
from bench.serve.client import Target
from bench.config.serve import ServeConfig
from bench.config.serve import Level
from bench.serve.load import LevelPlan, LevelResult, measure_level
from bench.serve.verdict import level_status, level_warnings, warmup_bad_input
from bench.measure.streaming import coalescing_warning, compute_serve_metrics, overhead_warning
from bench.workload import source
from bench.workload.prompts import prompts_of, workload_warmup
from bench.analysis.slo import cheapest_meeting_slo
from bench.execution.record import case_record, serve_row
from bench.serve.security import Endpoint, Secret, parse_endpoint, read_api_key, scrub, scrub_obj
from bench.measure.telemetry import PeakMemorySampler
from bench.measure import hostload
from bench.execution.forensics import looks_like_oom, root_cause

LOCAL_ENGINE = "vllm-server"
ENDPOINT_ENGINE = "openai-endpoint"


@dataclass
class LevelOutcome:
    level: Level
    row: dict
    record: dict
    warnings: list[str] = field(default_factory=list)


@dataclass
class SessionOutcome:
    sweep_id: str
    levels: list[LevelOutcome]
    log_path: Path | None
    cheapest: dict | None = None
    search: dict | None = None  # --find-max-load: bench.serve.maxload.search_record

    @property
    def ok(self) -> bool:
        """Every level ok; a search's levels above the boundary may fail by design: ok when it found one."""
        if self.search is not None:
            return self.search["boundary"] is not None
        return bool(self.levels) and all(o.row["status"] == "ok" for o in self.levels)


@dataclass
class _Session:
    """What every level of one bench serve session shares (its sweep_id)."""

    cfg: ServeConfig
    model: ResolvedModel
    out_csv: Path
    sweep_id: str
    env: dict
    api_model: str
    target: Target | None  # None until the local server has its port
    secret: Secret | None
    weights: str
    engine: str
    metrics_url: str | None
    device: str
    facts: dict = field(default_factory=dict)
    workload: dict = field(default_factory=dict)  # the rows' workload columns
    server: VllmServer | None = None
    log_path: Path | None = None
    engine_start_s: float | None = None
    weights_info: dict = field(default_factory=dict)


def _status(label: str):
    from bench.core.console import make_console

    return make_console(stderr=True).status(label)


def run_serve(cfg: ServeConfig, model: ResolvedModel, endpoint: Endpoint | None, out_csv: Path,
              verbose: bool = False, on_level=None) -> SessionOutcome:
    """Measure every level of cfg and record it. Bad input raises BenchError before anything runs."""
    results.check_appendable(out_csv)
    secret = read_api_key(cfg.api_key_env)
    when = dt.datetime.now(dt.timezone.utc)
    sweep_id = new_run_id(when)
    env = host_env()
    if endpoint is None:
        return _run_local(cfg, model, out_csv, sweep_id, env, verbose, on_level)
    api_model = cfg.api_model or model.hub_id or model.name
    session = _Session(cfg=cfg, model=model, out_csv=out_csv, sweep_id=sweep_id, env=env, api_model=api_model,
                   target=_target(cfg, endpoint, api_model, secret), secret=secret, weights="",
                   engine=ENDPOINT_ENGINE, metrics_url=endpoint.origin + "/metrics" if endpoint.loopback else None,
                   device="")
    if endpoint.loopback:
        session.facts = version_of(endpoint.origin)
    with sigterm_as_interrupt():
        return _run_levels(session, on_level)


def _run_local(cfg: ServeConfig, model: ResolvedModel, out_csv: Path, sweep_id: str, env: dict, verbose: bool,
               on_level) -> SessionOutcome:
    device = installed_vllm_device()
    if cfg.device != "auto" and cfg.device != device:
        raise BenchError(f"--device {cfg.device}: the installed vLLM is the {device} build; install the matching "
                         "build (scripts/setup.sh) or use --device auto")
    problem = cpu_build_problem(model.config) if device == "cpu" else None
    if problem:  # the server would die at start-up with a traceback in its log
        raise BenchError(problem)
    choice = choose_weights(model, cfg.weights)
    log_path = None if verbose else results.json_dir(out_csv) / f"{sweep_id}.log"
    served = cfg.api_model or model.name  # the name the server answers to, and the client sends

    def args(port: int) -> list[str]:
        return server_args(cfg, choice.load_path, choice.load_format, served, device, port,
                           token_prompts=not cfg.text_prompts)

    server = VllmServer(args, log_path, cfg.server_timeout_s, env=_server_env(cfg))
    session = _Session(cfg=cfg, model=model, out_csv=out_csv, sweep_id=sweep_id, env=env, secret=None,
                   api_model=served, target=None, weights=choice.kind,
                   engine=LOCAL_ENGINE, metrics_url=None, device=device, server=server, log_path=log_path,
                   weights_info={"kind": choice.kind, "source": choice.source, "load_path": choice.load_path,
                                 "load_format": choice.load_format})
    with sigterm_as_interrupt():
        try:
            with _status(f"{model.name}: starting vLLM's OpenAI server"
                         + (f" (log: {log_path})" if log_path else "")):
                server.start()
        except ServerFailed as e:
            server.stop()
            status = "oom" if e.status == "failed" and looks_like_oom(str(e)) else e.status
            return _failed_session(session, status, str(e))
        except BaseException:
            server.stop()
            raise
        try:
            session.engine_start_s = server.start_s
            url = parse_endpoint(server.base_url, cfg.api)
            session.target = _target(cfg, url, session.api_model, None)
            session.metrics_url = url.origin + "/metrics"
            session.facts = {**server.facts(), **local_versions(device)}
            session.device = session.facts.get("device") or device
            return _run_levels(session, on_level)
        finally:
            server.stop()


def _target(cfg: ServeConfig, endpoint: Endpoint, api_model: str, secret: Secret | None) -> Target:
    """Where the requests go, with the stall timeout and, where a local tokenizer is given (a text dataset's), its
    count of each delta's tokens (the check of the server's usage)."""
    count = None
    if cfg.tokenizer:
        from bench.workload.tokenizer import load

        encode = load(cfg.tokenizer).encode
        count = lambda text: len(encode(text))  # noqa: E731
    return Target(endpoint, api_model, cfg.ignore_eos, secret, stall_timeout_s=cfg.stall_timeout_s,
                  count_tokens=count, temperature=cfg.temperature)


def installed_vllm_device() -> str:
    """The device the installed vLLM build targets (cpu or cuda), read from package metadata without
    importing vllm; BenchError when vllm is not installed. (The server tests stub it: a fake CPU build.)"""
    if importlib.util.find_spec("vllm") is None:
        raise BenchError(f"vllm is not installed in this Python ({sys.executable}); run `bash scripts/setup.sh` "
                         "(CPU build of vLLM) or `bash scripts/setup.sh gpu`, then use .venv/bin/bench, "
                         "or measure a running server with --endpoint")
    return installed_vllm_build()[0] or "cuda"


def _server_env(cfg: ServeConfig) -> dict:
    env = engine_env(os.environ, cfg.weights)
    env.pop("VLLM_API_KEY", None)  # it would make the server ask for a key; it listens on 127.0.0.1 only
    return env


def _run_levels(session: _Session, on_level) -> SessionOutcome:
    cfg = session.cfg
    text = cfg.text_prompts
    run = cfg.model_dump()
    work = source.build(run, session.model.config)
    session.workload = work.columns()
    prompts = prompts_of(work.requests, text)
    warm = workload_warmup(run, session.model.config, work, cfg.warmup_requests if cfg.warmup else 0, text)
    arrivals = [r.arrival_s or 0.0 for r in work.requests] if work.replayable else None
    outcomes: list[LevelOutcome] = []

    def plan_of(level: Level) -> LevelPlan:
        return LevelPlan(level=level, prompts=prompts, warmup=warm, burstiness=cfg.burstiness, seed=cfg.seed,
                         max_duration_s=cfg.timeout_s, metrics_url=session.metrics_url, arrivals_s=arrivals,
                         max_failure_rate=cfg.max_failure_rate)

    if cfg.find_max_load:
        return _run_search(session, plan_of, len(prompts), on_level)
    # repeats interleave across levels (L1 r0, L2 r0, L1 r1, ...): drift over the session hits every level alike;
    # --until-ci drops a level from the rounds once its output tok/s interval is narrow enough (execution.rounds)
    until = UntilCi(cfg.until_ci)
    total = cfg.repeats * len(cfg.levels)
    rounds = in_rounds(list(enumerate(cfg.levels)), lambda c: cfg.repeats, lambda c: c[0], until)
    for i, (r, (n, level)) in enumerate(rounds):
        level = replace(level, repeat=r)
        plan = plan_of(level)
        label = f"[{i + 1}/{total}] {session.model.name} {level.label}: {len(prompts)} requests"
        try:
            with _status(label):
                outcome, stop = _measure_and_record(session, plan, first=not outcomes)
        except KeyboardInterrupt as e:  # SIGINT or SIGTERM: the level stopped is a row too, then the session ends
            name = signal_name(e)
            with signals_deferred():
                recorded = e.outcome if isinstance(e, Interrupted) else None
                outcome = recorded or _record_empty_level(session, level, "interrupted", f"stopped by {name}")
                outcomes.append(outcome)
                _write_sweep_record(session, outcomes, None)
            raise Interrupted(name, outcome) from None
        outcomes.append(outcome)
        until.add(n, outcome.row)
        if on_level is not None:
            on_level(outcome)
        if until.target_pct is not None and (until.met(n) or r + 1 == cfg.repeats):
            print(f"{level.label}: {until.summary(n)}")
        if stop or (session.server is not None and not session.server.alive()):
            break  # the warm-up failed or the server died: the levels left would only fail the same way
    cheapest = cheapest_meeting_slo([o.row for o in outcomes]) if cfg.hardware else None
    _write_sweep_record(session, outcomes, cheapest)
    return SessionOutcome(sweep_id=session.sweep_id, levels=outcomes, log_path=_existing(session.log_path),
                        cheapest=cheapest)


def _run_search(session: _Session, plan_of, requests: int, on_level) -> SessionOutcome:
    """--find-max-load (bench.serve.maxload): levels as the search asks, until it stops or the server cannot go on."""
    def measure(level: Level, first: bool):
        with _status(f"[search step {len(done) + 1}] {session.model.name} {level.label}: {requests} requests"):
            outcome, stop = _measure_and_record(session, plan_of(level), first=first, hold=True)
        done.append(outcome)
        return outcome, stop or (session.server is not None and not session.server.alive())

    done: list[LevelOutcome] = []
    outcomes, part = maxload.run_search(session.cfg, measure, lambda o: write_level(session, o), on_level,
                                        lambda outcomes, part: end_search(session, outcomes, part))
    return SessionOutcome(sweep_id=session.sweep_id, levels=outcomes, log_path=_existing(session.log_path),
                          search=part, cheapest=searched_cheapest(session, outcomes))


def searched_cheapest(session: _Session, outcomes: list[LevelOutcome]) -> dict | None:
    """The cheapest level of a search that met the SLO (priced rows only), as a plain sweep's: the search asks
    for the highest load, the price per token is lowest at some level of it, not always the boundary."""
    return cheapest_meeting_slo([o.row for o in outcomes]) if session.cfg.hardware else None


def end_search(session: _Session, outcomes: list[LevelOutcome], part: dict) -> None:
    """<sweep_id>.sweep.json of a search: its levels, the search's part and its cheapest level meeting the SLO."""
    _write_sweep_record(session, outcomes, searched_cheapest(session, outcomes), part)


def _measure_and_record(session: _Session, plan: LevelPlan, first: bool, hold: bool = False) -> tuple[LevelOutcome, bool]:
    """Measure one level and append its row (hold: build it, leave the writing to the caller, write_level);
    (the outcome, whether the session stops: its warm-up failed). Ctrl-C or SIGTERM during the level: its row,
    `interrupted`, keeps what was measured, then Interrupted."""
    when = dt.datetime.now(dt.timezone.utc)
    cfg = session.cfg  # the server's GPUs: the first tensor x pipeline parallel ones this process sees
    gpus = (cfg.tensor_parallel_size or 1) * cfg.pipeline_parallel_size
    sampler = PeakMemorySampler(session.device, gpu_count=gpus,
                                cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES")).start() \
        if session.server is not None else None
    nvml, why_not = level_energy.start(session.device, session.server is not None, gpus)
    # what else the machine did meanwhile: only where bench started the server (else the server is "elsewhere")
    host = hostload.HostLoad().start() if session.server is not None else None
    t0 = time.perf_counter()
    try:
        res = measure_level(session.target, plan)
    except BaseException as e:
        peak = sampler.stop() if sampler is not None else None
        host_columns = host.stop() if host is not None else {}
        res = getattr(e, "level_result", None)
        if not isinstance(e, KeyboardInterrupt) or res is None:
            level_energy.stop_quietly(nvml)
            raise
        name = signal_name(e)
        with signals_deferred():
            outcome = _record_level(session, plan, res, when, time.perf_counter() - t0, peak, sampler,
                                    ("interrupted", f"stopped by {name}"), energy=(nvml, why_not), hold=hold,
                                    host=host_columns)
        raise Interrupted(name, outcome) from None
    peak = sampler.stop() if sampler is not None else None
    host_columns = host.stop() if host is not None else {}
    wall_s = time.perf_counter() - t0
    if first and res.warmup_failed and session.server is None:
        refused = warmup_bad_input(res, session.target.endpoint.url)
        if refused is not None:
            level_energy.stop_quietly(nvml)
            raise refused
    return _record_level(session, plan, res, when, wall_s, peak, sampler, energy=(nvml, why_not),
                         hold=hold, host=host_columns), res.warmup_failed


def _record_level(session: _Session, plan: LevelPlan, res: LevelResult, when: dt.datetime, wall_s: float, peak,
                  sampler, status: tuple[str, str] | None = None, energy: tuple = (None, ""),
                  hold: bool = False, host: dict | None = None) -> LevelOutcome:
    """The row and JSON of a level as far as it got: its status by the stated rule (serve.verdict), or `status`;
    written at once unless `hold`. `host`: bench.measure.hostload's columns over the level (none: not measured)."""
    metrics = compute_serve_metrics(res.records, res.duration_s, session.cfg.slo, res.unsent, res.loop_lag_s)
    gpu_energy = level_energy.columns(*energy, res.t0, res.duration_s, metrics.get("input_tokens"),
                                      metrics.get("output_tokens"))
    server = prometheus.summarise(res.metrics_before, res.metrics_after, res.metrics_samples)
    metrics.update(prometheus.prefix_cache_columns(metrics, server))
    if status is None:
        dead = session.server is not None and not session.server.alive()
        cause = (root_cause(session.server.log_text()) or "the server exited during the level") if dead else None
        status = level_status(res, metrics, session.cfg.max_failure_rate, session.cfg.timeout_s, cause)
    warnings = [w for w in (overhead_warning(metrics), coalescing_warning(metrics), hostload.warning(host or {}),
                            *level_warnings(res, status[0])) if w]
    row = serve_row(run_id=new_run_id(when), sweep_id=session.sweep_id, when=when, cfg=session.cfg, model=session.model,
                    level=plan.level, weights=session.weights, engine=session.engine,
                    endpoint_url=session.target.endpoint.url if session.server is None else "",
                    api_model=session.api_model, metrics=metrics, server=server, facts=session.facts, env=session.env,
                    status=status[0], error=status[1], engine_start_s=session.engine_start_s,
                    peak_memory=(peak, sampler.source if sampler else ""), workload=session.workload,
                    energy=gpu_energy, host=host)
    record = case_record(
        row, config=session.cfg.model_dump(), model=session.model, environment={**session.env, **session.facts},
        log=session.log_path.name if _existing(session.log_path) else None, requests=[r.to_dict() for r in res.records],
        level={"kind": plan.level.kind, "value": plan.level.value if plan.level.kind == "trace"
               else row["request_rate"] if plan.level.kind == "rate" else row["concurrency"],
               "burstiness": session.cfg.burstiness, "duration_s": res.duration_s,
               "cut_by_time_limit": res.cut, "warmup_failed": res.warmup_failed, "stopped_by": res.stopped_by or None,
               "wall_s": wall_s},
        weights=session.weights_info, server=_server_record(session),
        endpoint={"url": session.target.endpoint.url, "api": session.target.endpoint.api, "model": session.target.model,
                  "api_key_env": session.cfg.api_key_env, "api_key_sent": session.secret is not None},
        metrics=metrics, server_metrics={**server, "before": res.metrics_before, "after": res.metrics_after},
        client={"loop_lag_samples": len(res.loop_lag_s)}, warnings=warnings, sweep_id=session.sweep_id,
        warmup=[r.to_dict() for r in res.warmup],
    )
    row, record = scrub_obj(row, session.secret), plain_json(scrub_obj(record, session.secret))
    outcome = LevelOutcome(level=plan.level, row=row, record=record,
                           warnings=[scrub(w, session.secret) for w in warnings])
    if not hold:
        write_level(session, outcome)
    return outcome


def write_level(session: _Session, outcome: LevelOutcome) -> None:
    """Append a level's row and write its JSON (the row inside it, as it is now)."""
    outcome.record["row"] = outcome.row
    results.write_json(results.json_path(session.out_csv, outcome.row["run_id"]), plain_json(outcome.record))
    results.append_row(session.out_csv, outcome.row)


def plain_json(obj):
    """Infinite or NaN floats (an infinite request rate) as strings: strict JSON readers refuse Infinity."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: plain_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain_json(v) for v in obj]
    return obj


def _server_record(session: _Session) -> dict:
    s = session.server
    if s is None:
        return {}
    return {"command": s.command, "base_url": s.base_url, "start_s": s.start_s,
            "log": session.log_path.name if _existing(session.log_path) else None}


def _existing(path: Path | None) -> Path | None:
    return path if path is not None and path.exists() else None


def _failed_session(session: _Session, status: str, error: str) -> SessionOutcome:
    """The server never became ready: one failed row per level asked, with the server's root cause."""
    outcomes = [_record_empty_level(session, level, status, error) for level in session.cfg.levels]
    return SessionOutcome(sweep_id=session.sweep_id, levels=outcomes, log_path=_existing(session.log_path))


def _record_empty_level(session: _Session, level: Level, status: str, error: str) -> LevelOutcome:
    """A level without figures (the server never got ready, or a signal stopped the level): its row and JSON."""
    when = dt.datetime.now(dt.timezone.utc)
    endpoint_url = session.target.endpoint.url if session.server is None and session.target is not None else ""
    row = serve_row(run_id=new_run_id(when), sweep_id=session.sweep_id, when=when, cfg=session.cfg, model=session.model,
                    level=level, weights=session.weights, engine=session.engine, endpoint_url=endpoint_url,
                    api_model=session.api_model, metrics={}, server={}, facts={"device": session.device, **session.facts},
                    env=session.env, status=status, error=error, engine_start_s=session.engine_start_s,
                    peak_memory=(None, ""), workload=session.workload)
    row = scrub_obj(row, session.secret)
    record = case_record(row, config=plain_json(session.cfg.model_dump()), model=session.model, environment=session.env,
                         log=session.log_path.name if _existing(session.log_path) else None, requests=[],
                         server=_server_record(session), sweep_id=session.sweep_id)
    results.write_json(results.json_path(session.out_csv, row["run_id"]), record)
    results.append_row(session.out_csv, row)
    return LevelOutcome(level=level, row=row, record=record)


def _write_sweep_record(session: _Session, outcomes: list[LevelOutcome], cheapest: dict | None,
                        search: dict | None = None) -> None:
    """<sweep_id>.sweep.json: the levels in order (run ids, key figures) and the cheapest level that met the SLO."""
    keys = ("run_id", "load_mode", "request_rate", "concurrency", "status", "completed", "failed", "requests_per_s",
            "output_tok_s", "ttft_p99_ms", "tpot_p99_ms", "goodput_req_s", "slo_attainment", "meets_slo",
            "cny_per_m_blended", "cny_per_m_total", "unsent", "failure_rate", "rate_limited", "usage_mismatch",
            "error", "search_step", "search_passed", "slo_boundary", "ttft_p99_bound_ms", "tpot_p99_bound_ms")
    record = {
        "schema_version": results.SCHEMA_VERSION, "sweep_id": session.sweep_id, "model": session.model.name,
        "engine": session.engine, "hardware": session.cfg.hardware,
        "slo": {"ttft_ms": session.cfg.slo_ttft_ms, "tpot_ms": session.cfg.slo_tpot_ms,
                "attainment": session.cfg.slo_attainment},
        "levels": [{k: o.row.get(k) for k in keys} for o in outcomes],
        "cheapest_meeting_slo": cheapest["run_id"] if cheapest else None,
        **({"search": search} if search is not None else {}),
        "log": session.log_path.name if _existing(session.log_path) else None,
    }
    path = results.json_dir(session.out_csv) / f"{session.sweep_id}.sweep.json"
    results.write_json(path, scrub_obj(record, session.secret))
