"""The search for the highest load a latency target allows (bench.analysis.boundary), against a deterministic
fake server whose p99 bounds are a known function of the load, every step hand-computed."""

from __future__ import annotations

import math

import pytest

from bench.analysis import boundary
from bench.analysis.boundary import CONCURRENCY, RATE, Settings, Verdict, search_max_load
from bench.measure.slo import Slo


def fake_server(capacity: float, calls: list):
    """TTFT p99 bound 100 ms x (1 + load / capacity): exactly 200 ms at `capacity`; TPOT bound 10 ms."""

    def measure(level: float) -> Verdict:
        calls.append(level)
        return Verdict(True, 100.0 * (1 + level / capacity), 10.0, ref=f"L{len(calls)}")

    return measure


class Clock:
    """Each measurement takes `step_s` seconds on this clock."""

    def __init__(self, step_s: float = 0.0):
        self.t, self.step_s, self.calls = 0.0, step_s, 0

    def __call__(self) -> float:
        return self.t

    def wrap(self, measure):
        def timed(level):
            self.t += self.step_s
            return measure(level)
        return timed


def test_rate_grows_by_two_then_bisects_geometrically_to_five_percent():
    calls: list[float] = []
    res = search_max_load(fake_server(13.7, calls), Settings(RATE, 1.0), Slo(ttft_ms=200.0))
    # passes while rate <= 13.7. Grow: 1, 2, 4, 8 pass; 16 fails. Bisect at geometric means:
    # sqrt(8 x 16) = 8 x 2^0.5 = 11.31 pass; sqrt(11.31 x 16) = 8 x 2^0.75 = 13.45 pass;
    # 8 x 2^0.875 = 14.67 fail; 8 x 2^0.8125 = 14.05 fail; bracket 13.45-14.05: 2^0.0625 = 1.044 <= 1.05, stop
    want = [1, 2, 4, 8, 16, 8 * 2 ** 0.5, 8 * 2 ** 0.75, 8 * 2 ** 0.875, 8 * 2 ** 0.8125]
    assert calls == pytest.approx(want)
    assert [s.passed for s in res.steps] == [True] * 4 + [False, True, True, False, False]
    assert res.boundary.level == pytest.approx(8 * 2 ** 0.75) and res.boundary.index == 7
    assert res.bracket[1] == pytest.approx(8 * 2 ** 0.8125)
    assert res.stopped == "bracket 13.4543-14.05 within 5%"
    assert res.steps[4].missed == ("TTFT",)


def test_a_first_level_that_fails_shrinks_by_two():
    calls: list[float] = []
    res = search_max_load(fake_server(3.0, calls), Settings(RATE, 10.0, tolerance=0.3), Slo(ttft_ms=200.0))
    # 10 fails, 5 fails, 2.5 passes; sqrt(2.5 x 5) = 3.536 fails; sqrt(2.5 x 3.536) = 2.973 passes;
    # 3.536 / 2.973 = 1.189 <= 1.3: stop
    assert calls == pytest.approx([10, 5, 2.5, math.sqrt(12.5), math.sqrt(2.5 * math.sqrt(12.5))])
    assert res.boundary.level == pytest.approx(math.sqrt(2.5 * math.sqrt(12.5)))


def test_concurrency_bisects_on_whole_streams():
    calls: list[float] = []
    res = search_max_load(fake_server(6.0, calls), Settings(CONCURRENCY, 1.0), Slo(ttft_ms=200.0))
    # 1, 2, 4 pass; 8 fails; round(sqrt(4 x 8) = 5.66) = 6 passes; round(sqrt(6 x 8) = 6.93) = 7 fails;
    # 6-7: no whole concurrency between
    assert calls == [1, 2, 4, 8, 6, 7]
    assert res.boundary.level == 6 and res.stopped == "bracket 6-7: no whole concurrency between"


def test_concurrency_one_failing_means_no_boundary():
    calls: list[float] = []
    res = search_max_load(fake_server(0.5, calls), Settings(CONCURRENCY, 4.0), Slo(ttft_ms=200.0))
    assert calls == [4, 2, 1] and res.boundary is None  # each halved, down to 1, all fail
    assert res.stopped == "concurrency 1 misses the targets: no load meets them"


def test_the_step_and_time_limits_bound_the_search():
    calls: list[float] = []
    res = search_max_load(fake_server(13.7, calls), Settings(RATE, 1.0, max_steps=6), Slo(ttft_ms=200.0))
    assert len(calls) == 6 and res.stopped == "step limit (6 levels)"
    assert res.boundary.level == pytest.approx(8 * 2 ** 0.5)  # the best so far: 11.31 passed, 16 failed
    clock, calls = Clock(step_s=100.0), []
    # each level takes 100 s; after k levels the next starts only if 100 k + 100 <= 350: 3 levels
    res = search_max_load(clock.wrap(fake_server(13.7, calls)), Settings(RATE, 1.0, max_time_s=350.0),
                          Slo(ttft_ms=200.0), clock=clock)
    assert calls == [1, 2, 4] and res.stopped == "time limit (350 s)" and res.boundary.level == 4


def test_a_failed_level_or_a_missing_bound_does_not_pass():
    slo = Slo(ttft_ms=200.0, tpot_ms=20.0)
    assert boundary.misses(Verdict(False, 1.0, 1.0), slo) == ["failed"]
    assert boundary.misses(Verdict(True, 150.0, None), slo) == ["TPOT (no p99 bound)"]
    assert boundary.misses(Verdict(True, 250.0, 25.0), slo) == ["TTFT", "TPOT"]
    assert boundary.misses(Verdict(True, 200.0, 20.0), slo) == []  # at the target is within it
    with pytest.raises(ValueError):
        search_max_load(lambda level: Verdict(True, 1.0, 1.0), Settings(RATE, 1.0), Slo())


def test_boundary_rows_count_for_the_targets_the_search_was_run_for():
    rows = [{"run_id": "a", "slo_boundary": True, "slo_ttft_ms": 200.0, "slo_tpot_ms": 20.0},
            {"run_id": "b", "slo_boundary": "True", "slo_ttft_ms": 300.0, "slo_tpot_ms": None},
            {"run_id": "c", "slo_boundary": False, "slo_ttft_ms": 300.0, "slo_tpot_ms": None}]
    assert boundary.boundary_refs(rows, Slo(ttft_ms=200.0, tpot_ms=20.0)) == {"a"}
    assert boundary.boundary_refs(rows, Slo(ttft_ms=300.0)) == {"b"}  # c is a level of a search, not its boundary
    # other targets than the search's (a looser TTFT, or a TPOT target b was not searched for): none
    assert boundary.boundary_refs(rows, Slo(ttft_ms=250.0, tpot_ms=20.0)) == set()
    assert boundary.boundary_refs(rows, Slo(ttft_ms=300.0, tpot_ms=20.0)) == set()
    assert boundary.boundary_refs(rows, Slo()) == set()
