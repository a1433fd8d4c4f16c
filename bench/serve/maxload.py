"""`bench serve --find-max-load`: the search of bench.analysis.boundary run on bench serve's levels, measured or
simulated (--engine sim: bench.serve.simulated gives the `measure` and `write` callables, its rows predicted).

Each level tried is one row, as any level's (its status by serve.verdict), plus search_step, search_passed and
slo_boundary. Rows are appended as the levels are measured, except the best passing level so far: whether it is
the boundary is known only when a higher level passes (then it is written, slo_boundary false) or the search ends
(then true). A measured search confirms its boundary (--search-confirm, bench.analysis.boundary): its level is
measured again, and that row's search_passed is judged on the requests of both runs pooled (their p99 bounds in
the search record); only a passing confirmation can be the boundary, so only it is held. So at most one measured
row waits in memory; Ctrl-C or SIGTERM writes it (false: an interrupted search marks no boundary) with the
interrupted level's. The rows of one search share its sweep_id, and
<sweep_id>.sweep.json carries the search: axis, settings, steps, the boundary and why the search stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.analysis.boundary import Settings, SearchResult, Step, Verdict, search_max_load
from bench.config.engines import is_predicted
from bench.config.serve import Level, ServeConfig
from bench.execution.signals import Interrupted, signal_name, signals_deferred
from bench.measure.metrics import p99_honesty


def search_settings(cfg: ServeConfig) -> Settings:
    """Concurrency when --concurrency is given, else Poisson request rate; from the one level given (default 1)."""
    confirm = cfg.search_confirm and not is_predicted(cfg.engine)  # the simulated server is deterministic
    if cfg.concurrencies:
        return Settings("concurrency", float(cfg.concurrencies[0]), cfg.max_steps, cfg.search_timeout_s,
                        cfg.search_tolerance, confirm=confirm)
    start = cfg.request_rates[0] if cfg.request_rates else 1.0
    return Settings("rate", start, cfg.max_steps, cfg.search_timeout_s, cfg.search_tolerance, confirm=confirm)


def pooled_verdict(outcomes: list) -> Verdict:
    """One level's measurements judged together: ok when every one was, the p99 bounds of all their successful
    requests' TTFTs and TPOTs pooled (bench.measure.metrics.p99_honesty, as one level's own)."""
    reqs = [q for o in outcomes for q in (o.record.get("requests") or []) if q.get("success")]
    ttft = p99_honesty("ttft", [q.get("ttft_s") for q in reqs])
    tpot = p99_honesty("tpot", [q.get("tpot_s") for q in reqs])
    return Verdict(all(o.row["status"] == "ok" for o in outcomes), ttft["ttft_p99_bound_ms"],
                   tpot["tpot_p99_bound_ms"], outcomes[-1].row["run_id"])  # the confirmation's row


class _WarmupFailed(Exception):
    """A level's warm-up failed: the server cannot take requests, so the search ends."""


@dataclass
class _Search:
    measure: object  # (Level, first: bool) -> (LevelOutcome, stop: bool), the row held back
    write: object  # LevelOutcome -> None: append its row and JSON
    on_level: object
    outcomes: list = field(default_factory=list)
    held: object = None  # the best passing level so far, not yet written
    written: set = field(default_factory=set)
    confirm: bool = False  # only a passing confirmation can be the boundary
    pooled: dict = field(default_factory=dict)  # run_id of a confirmation -> (its pooled Verdict, runs)

    def pool(self, verdicts: list[Verdict]) -> Verdict:
        refs = {v.ref for v in verdicts}
        return pooled_verdict([o for o in self.outcomes if o.row["run_id"] in refs])

    def level(self, axis: str, value: float) -> Verdict:
        outcome, stop = self.measure(Level(axis, value), not self.outcomes)
        self.outcomes.append(outcome)
        if stop:
            self._put(outcome, len(self.outcomes), None, False)
            raise _WarmupFailed
        r = outcome.row
        return Verdict(r["status"] == "ok", r.get("ttft_p99_bound_ms"), r.get("tpot_p99_bound_ms"), r["run_id"])

    def step(self, step: Step) -> None:
        outcome = self.outcomes[-1]
        if step.pooled > 1:
            self.pooled[outcome.row["run_id"]] = (step.verdict, step.pooled)
        if self.confirm and step.passed and step.pooled == 1:  # a confirmed search's boundary is a confirmation
            self._put(outcome, step.index, True, False)
        elif step.passed:  # a passing level is always the highest below every failing one (boundary module doc)
            outcome.row.update(search_step=step.index, search_passed=True)
            if self.held is not None:
                self._put(self.held, None, True, False)
            self.held = outcome
        else:
            self._put(outcome, step.index, False, False)
        if self.on_level is not None:
            self.on_level(outcome)

    def _put(self, outcome, index: int | None, passed: bool | None, boundary: bool) -> None:
        if index is not None:
            outcome.row.update(search_step=index, search_passed=passed)
        outcome.row["slo_boundary"] = boundary
        self.write(outcome)
        self.written.add(outcome.row["run_id"])

    def finish(self, boundary: bool) -> None:
        if self.held is not None and self.held.row["run_id"] not in self.written:
            self._put(self.held, None, True, boundary)


def run_search(cfg: ServeConfig, measure, write, on_level, on_end) -> tuple[list, dict]:
    """Measure levels as the search asks; (outcomes in the order tried, search_record). `measure(level, first)`
    builds a level's row without writing it, (outcome, stop: the server cannot go on); `write(outcome)` writes it;
    `on_end(outcomes, search_record)` runs however the search ends (Ctrl-C included), before this returns."""
    settings = search_settings(cfg)
    search = _Search(measure, write, on_level, confirm=settings.confirm)
    try:
        result = search_max_load(lambda value: search.level(settings.axis, value), settings, cfg.slo,
                                 on_step=search.step, pool=search.pool)
    except _WarmupFailed:
        search.finish(False)
        if on_level is not None:
            on_level(search.outcomes[-1])
        part = search_record(cfg, search.outcomes, None, "a level failed its warm-up or the server died: the search "
                                                          "cannot go on", search.pooled)
        on_end(search.outcomes, part)
        return search.outcomes, part
    except KeyboardInterrupt as e:  # the level stopped is a row too (false), then the best so far (false)
        name = signal_name(e)
        with signals_deferred():
            outcome = e.outcome if isinstance(e, Interrupted) else None
            if outcome is not None:
                search.outcomes.append(outcome)
                search._put(outcome, len(search.outcomes), None, False)
            search.finish(False)
            on_end(search.outcomes, search_record(cfg, search.outcomes, None, f"stopped by {name}", search.pooled))
        raise Interrupted(name, outcome) from None
    search.finish(True)
    part = search_record(cfg, search.outcomes, result, result.stopped, search.pooled)
    on_end(search.outcomes, part)
    return search.outcomes, part


def search_record(cfg: ServeConfig, outcomes: list, result: SearchResult | None, stopped: str,
                  pooled: dict | None = None) -> dict:
    """The search's part of <sweep_id>.sweep.json (`result` None: it ended before deciding; no boundary); `pooled`:
    run_id of each confirmation -> (the Verdict of its level's runs pooled, how many runs): in its step."""
    s = search_settings(cfg)
    best = result.boundary if result is not None else None
    pooled = pooled or {}

    def confirmation(run_id: str) -> dict:
        if run_id not in pooled:
            return {}
        v, runs = pooled[run_id]
        return {"pooled": {"runs": runs, "ttft_p99_bound_ms": v.ttft_p99_bound_ms,
                           "tpot_p99_bound_ms": v.tpot_p99_bound_ms}}
    return {
        "axis": s.axis, "start": s.start, "growth": s.growth, "tolerance": s.tolerance, "max_steps": s.max_steps,
        "max_time_s": s.max_time_s, "confirm": s.confirm,
        "method": "grow x growth from start until a level fails, then bisect the bracket at its geometric mean"
                  + ("; the highest passing level measured again and judged on both runs' requests pooled"
                     if s.confirm else "") + " (bench.analysis.boundary)",
        "steps": [{"step": o.row.get("search_step"), "level": o.level.value, "passed": o.row.get("search_passed"),
                   "run_id": o.row["run_id"], "status": o.row["status"], **confirmation(o.row["run_id"])}
                  for o in outcomes],
        "boundary": best.level if best else None, "boundary_run_id": best.verdict.ref if best else None,
        "bracket": list(result.bracket) if result is not None else None, "stopped": stopped,
    }
