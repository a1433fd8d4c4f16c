"""The highest load a latency target allows (MLPerf's server metric): a search over request rate or concurrency,
and the boundary as a replica's capacity. Pure: the search calls a "measure this level" function it is given, so
bench serve's measured levels and a simulated server plug in alike.

A level *passes* when it was measured without failure and the 95% upper bounds of its p99 TTFT and p99 TPOT
(bench.measure.uncertainty.percentile_upper_bound, MLPerf's early stopping) are within the targets; a bound that
could not be computed (fewer than 299 samples) does not pass.

Search (`next_level`, driven by `search_max_load`): grow, then bisect.
1. Start at `start`. While every level tried passes, multiply by `growth` (x2); while every level tried fails,
   divide by it (concurrency stops at 1: when 1 fails there is no boundary).
2. Once a passing level lo sits below a failing level hi, bisect the bracket at its geometric mean sqrt(lo x hi)
   (concurrency: rounded to a whole stream strictly inside the bracket), as the bracket closes by a ratio.
3. Stop when hi <= lo x (1 + tolerance) (concurrency: also when no whole number lies between), after `max_steps`
   levels, when the next level would start after the time limit (the next level is taken to last as long as the
   longest so far), or at `max_level`.
The boundary is lo, the highest passing level below every failing one. bench plan takes its throughput as a
replica's capacity when the plan asks for the targets the search was run for (boundary_refs). Levels are tried in
order, so a level's verdict is revisited only by its confirmation: a noisy pass above the bracket cannot appear.

Confirmation (`Settings.confirm`; bench serve's measured levels): when the search would stop, its lo is measured a
second time and judged on the requests of both measurements pooled (`pool`), twice the samples for its p99 bound.
A level near the boundary passes or misses by luck: near capacity a level's TTFTs come in a few queue bursts, so its
n requests are far fewer than n independent samples and one run's p99 bound (at n = 320 about the slowest request)
moves by tens of percent between identical runs (docs/serve.md). A search that took one lucky pass as lo would
keep it. Confirmed, lo stays the boundary; missed, it becomes the lowest failing level and the search goes on below
it (bisecting, then confirming the new lo). With confirmation the boundary is always a confirmed level: a search
whose limits stop it before one is confirmed reports none. A deterministic server (the simulated one) needs none.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

from bench.config.serve import SEARCH_MAX_STEPS, SEARCH_TOLERANCE
from bench.measure.slo import Slo
from bench.results import cells

RATE, CONCURRENCY = "rate", "concurrency"
DEFAULT_GROWTH = 2.0


@dataclass(frozen=True)
class Verdict:
    """What the search reads of one measured level."""

    ok: bool  # measured without failure (bench serve: status ok)
    ttft_p99_bound_ms: float | None
    tpot_p99_bound_ms: float | None
    ref: str = ""  # the row's run_id, or what a simulator calls the level


def misses(v: Verdict, slo: Slo) -> list[str]:
    """The targets a level's p99 bounds do not show to be met ("failed" when it was not measured cleanly)."""
    if not v.ok:
        return ["failed"]
    out = []
    for name, bound, want in (("TTFT", v.ttft_p99_bound_ms, slo.ttft_ms), ("TPOT", v.tpot_p99_bound_ms, slo.tpot_ms)):
        if want is not None and (bound is None or bound > want):
            out.append(name if bound is not None else f"{name} (no p99 bound)")
    return out


@dataclass(frozen=True)
class Settings:
    axis: str  # RATE (requests/s, Poisson) or CONCURRENCY (streams)
    start: float
    max_steps: int = SEARCH_MAX_STEPS
    max_time_s: float = math.inf
    tolerance: float = SEARCH_TOLERANCE
    growth: float = DEFAULT_GROWTH
    max_level: float = math.inf
    confirm: bool = False  # measure lo again and judge it on both measurements pooled (module doc)

    def __post_init__(self):
        if self.axis not in (RATE, CONCURRENCY):
            raise ValueError(f"axis must be {RATE} or {CONCURRENCY}")
        if not (self.start > 0 and math.isfinite(self.start)) or self.max_steps < 1 or self.growth <= 1:
            raise ValueError("a search needs a finite start > 0, at least one step and a growth above 1")


@dataclass(frozen=True)
class Step:
    index: int  # 1-based, in the order tried
    level: float
    verdict: Verdict
    passed: bool
    missed: tuple[str, ...]
    seconds: float
    pooled: int = 1  # measurements of this level the verdict is judged on (2: a confirmation)


@dataclass
class SearchResult:
    settings: Settings
    steps: list[Step] = field(default_factory=list)
    stopped: str = ""  # why the search ended

    @property
    def bracket(self) -> tuple[float | None, float | None]:
        """(highest passing level below every failing one, lowest failing level)."""
        return bracket(self.steps)

    @property
    def boundary(self) -> Step | None:
        """The step at lo, its last (a confirmation when there was one); with confirm, only a confirmed one."""
        lo, _ = self.bracket
        at = [s for s in self.steps if s.passed and s.level == lo] if lo is not None else []
        if self.settings.confirm:
            at = [s for s in at if s.pooled > 1]
        return at[-1] if at else None


def bracket(steps: list[Step]) -> tuple[float | None, float | None]:
    fails = [s.level for s in steps if not s.passed]
    hi = min(fails) if fails else None
    passes = [s.level for s in steps if s.passed and (hi is None or s.level < hi)]
    return (max(passes) if passes else None), hi


def _whole(x: float) -> float:
    return float(max(1, round(x)))


def next_level(steps: list[Step], s: Settings) -> tuple[float | None, str]:
    """The next level to measure, or (None, why the search is over), by the module's method."""
    if not steps:
        return (_whole(s.start) if s.axis == CONCURRENCY else s.start), ""
    lo, hi = bracket(steps)
    if hi is None:  # every level passed: grow
        nxt = lo * s.growth
        if s.axis == CONCURRENCY:
            nxt = max(_whole(nxt), lo + 1)
        if lo >= s.max_level:
            return None, f"every level passed up to the highest allowed ({lo:g})"
        return min(nxt, s.max_level), ""
    if lo is None:  # every level failed: shrink
        if s.axis == CONCURRENCY:
            if hi <= 1:
                return None, "concurrency 1 misses the targets: no load meets them"
            return min(_whole(hi / s.growth), hi - 1), ""
        return hi / s.growth, ""
    if hi <= lo * (1.0 + s.tolerance):
        return None, f"bracket {lo:g}-{hi:g} within {s.tolerance:.0%}"
    if s.axis == CONCURRENCY:
        if hi - lo <= 1:
            return None, f"bracket {lo:g}-{hi:g}: no whole concurrency between"
        return min(max(_whole(math.sqrt(lo * hi)), lo + 1), hi - 1), ""
    return math.sqrt(lo * hi), ""


def search_max_load(measure: Callable[[float], Verdict], settings: Settings, slo: Slo,
                    clock: Callable[[], float] = time.monotonic,
                    on_step: Callable[[Step], None] | None = None,
                    pool: Callable[[list[Verdict]], Verdict] | None = None) -> SearchResult:
    """Measure levels by `next_level` until it stops or the step or time limit comes; `measure(level)` returns the
    level's Verdict. `on_step` sees each step as it is decided (bench serve writes its row there). With
    settings.confirm, `pool(verdicts)` judges a level on every measurement of it together (module doc)."""
    if not slo.given:
        raise ValueError("the search needs a TTFT or TPOT target")
    if settings.confirm and pool is None:
        raise ValueError("a search that confirms its boundary needs a pool function")
    result = SearchResult(settings)
    raw: dict[float, list[Verdict]] = {}  # every measurement of each level, as measured
    confirmed: set[float] = set()
    t_start = clock()
    while True:
        level, why = next_level(result.steps, settings)
        lo, _ = result.bracket
        to_confirm = settings.confirm and lo is not None and lo not in confirmed
        longest = max((st.seconds for st in result.steps), default=0.0)
        last_chance = (len(result.steps) == settings.max_steps - 1
                       or clock() - t_start + 2 * longest > settings.max_time_s)
        confirming = to_confirm and (level is None or last_chance)  # the last level the limits allow confirms lo
        if level is None and not confirming:
            result.stopped = why
        elif len(result.steps) >= settings.max_steps:
            result.stopped = f"step limit ({settings.max_steps} levels)"
        elif clock() - t_start + longest > settings.max_time_s:
            result.stopped = f"time limit ({settings.max_time_s:g} s)"
        if result.stopped:
            if settings.confirm and lo is not None:
                result.stopped += ("; boundary confirmed on its measurements pooled" if lo in confirmed else
                                   "; its highest passing level not confirmed: no boundary")
            break
        if confirming:
            level = lo
        t0 = clock()
        verdict = measure(level)
        raw.setdefault(level, []).append(verdict)
        if confirming:
            confirmed.add(level)
            verdict = pool(raw[level])
        missed = tuple(misses(verdict, slo))
        step = Step(len(result.steps) + 1, level, verdict, not missed, missed, clock() - t0,
                    len(raw[level]) if confirming else 1)
        result.steps.append(step)
        if on_step is not None:
            on_step(step)
    return result


# -- the boundary as a replica's capacity (bench plan) --------------------------------------------------------


def boundary_refs(rows: list[dict], slo: Slo) -> set[str]:
    """run_ids of the rows a search marked as its boundary (slo_boundary true) found for exactly `slo`'s targets:
    the search answered the plan's own question. (A search for stricter targets only bounds the capacity from
    below; the plan then reads the front as it would without it.)"""
    out = set()
    if not slo.given:
        return out
    for r in rows:
        if cells.value("slo_boundary", r.get("slo_boundary")) is True and (
                cells.value("slo_ttft_ms", r.get("slo_ttft_ms")), cells.value("slo_tpot_ms", r.get("slo_tpot_ms"))
        ) == (slo.ttft_ms, slo.tpot_ms):
            out.add(str(r.get("run_id") or ""))
    return out


def boundary_operating_point(points: list, refs: set[str]):
    """The operating point at a search's boundary: of the points whose ref is in `refs` (boundary_refs), the one
    with the most tokens/s; None when there is none. Its throughput is the replica's capacity."""
    from bench.analysis.frontier import OperatingPoint

    found = [p for p in points if p.ref in refs]
    if not found:
        return None
    p = max(found, key=lambda q: q.total_tok_s)
    return OperatingPoint(p, "SLO boundary (bench serve --find-max-load)", (p.ref,), (p.batch,))
