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


def lucky_server(capacity: float, lucky_level: float, lucky_bound_ms: float, calls: list):
    """fake_server, except that the first measurement of `lucky_level` reads `lucky_bound_ms` (a lucky run)."""
    honest = fake_server(capacity, [])

    def measure(level: float) -> Verdict:
        first = not any(abs(c - level) < 1e-9 for c in calls)
        calls.append(level)
        if first and abs(level - lucky_level) < 1e-9:
            return Verdict(True, lucky_bound_ms, 10.0, ref=f"L{len(calls)}")
        return honest(level)
    return measure


def mean_pool(verdicts: list[Verdict]) -> Verdict:
    """A stand-in for pooling the requests: the mean of the bounds (bench serve pools the requests themselves)."""
    return Verdict(all(v.ok for v in verdicts), sum(v.ttft_p99_bound_ms for v in verdicts) / len(verdicts),
                   max(v.tpot_p99_bound_ms for v in verdicts), ref="+".join(v.ref for v in verdicts))


def test_a_lucky_pass_is_not_kept_when_the_boundary_is_confirmed():
    """True boundary 12 (bound 200 ms at 12). 1, 2, 4, 8 pass; 16 fails; 8 x 2^0.5 = 11.31 passes (194.3 ms);
    8 x 2^0.75 = 13.45 would read 212.1 ms but its first run is lucky, 190 ms: pass; 8 x 2^0.875 = 14.67 and
    8 x 2^0.8125 = 14.05 fail; bracket 13.45-14.05 within 5%. Without confirmation the boundary is 13.45, 12% above
    the truth. Confirming: 13.45 again reads 212.1 ms, pooled (190 + 212.1) / 2 = 201.05 > 200: it fails, and the
    search goes on below it: 8 x 2^0.625 = 12.34 fails (202.8 ms), 8 x 2^0.5625 = 11.81 passes (198.5 ms); bracket
    11.81-12.34 (2^0.0625 = 1.044) within 5%; 11.81 again: 198.5 ms, pooled 198.5: confirmed, the boundary."""
    lucky = 8 * 2 ** 0.75
    calls: list[float] = []
    res = search_max_load(lucky_server(12.0, lucky, 190.0, calls), Settings(RATE, 1.0), Slo(ttft_ms=200.0))
    assert res.boundary.level == pytest.approx(lucky)
    calls = []
    res = search_max_load(lucky_server(12.0, lucky, 190.0, calls), Settings(RATE, 1.0, max_steps=20, confirm=True),
                          Slo(ttft_ms=200.0), pool=mean_pool)
    want = [1, 2, 4, 8, 16, 8 * 2 ** 0.5, lucky, 8 * 2 ** 0.875, 8 * 2 ** 0.8125, lucky, 8 * 2 ** 0.625,
            8 * 2 ** 0.5625, 8 * 2 ** 0.5625]
    assert calls == pytest.approx(want)
    assert [s.pooled for s in res.steps] == [1] * 9 + [2, 1, 1, 2]
    assert res.steps[9].verdict.ttft_p99_bound_ms == pytest.approx((190.0 + 100 * (1 + lucky / 12)) / 2)
    assert not res.steps[9].passed
    assert res.boundary is res.steps[-1] and res.boundary.level == pytest.approx(8 * 2 ** 0.5625)
    assert res.stopped == "bracket 11.8146-12.3377 within 5%; boundary confirmed on its measurements pooled"


def test_the_last_level_the_limits_allow_confirms_the_best_so_far():
    """9 steps on the honest server of the first test (capacity 13.7): its first 8 levels (1, 2, 4, 8, 16, 11.31,
    13.45, 14.67), then the 9th, the last allowed, confirms 13.45 instead of bisecting: pooled 198.2 ms, the boundary.
    On the lucky server (capacity 12, 13.45 lucky at first) the same 9th step finds 13.45 fails (201.05 ms pooled):
    the limit leaves nothing confirmed, so there is no boundary, and the search says why."""
    calls: list[float] = []
    res = search_max_load(fake_server(13.7, calls), Settings(RATE, 1.0, max_steps=9, confirm=True),
                          Slo(ttft_ms=200.0), pool=mean_pool)
    lucky = 8 * 2 ** 0.75
    assert calls == pytest.approx([1, 2, 4, 8, 16, 8 * 2 ** 0.5, lucky, 8 * 2 ** 0.875, lucky])
    assert res.boundary is res.steps[-1] and res.boundary.pooled == 2
    assert res.stopped == "step limit (9 levels); boundary confirmed on its measurements pooled"
    calls = []
    res = search_max_load(lucky_server(12.0, lucky, 190.0, calls), Settings(RATE, 1.0, max_steps=9, confirm=True),
                          Slo(ttft_ms=200.0), pool=mean_pool)
    assert calls[-1] == pytest.approx(lucky) and not res.steps[-1].passed
    assert res.boundary is None and res.bracket == (pytest.approx(8 * 2 ** 0.5), pytest.approx(lucky))
    assert res.stopped == "step limit (9 levels); its highest passing level not confirmed: no boundary"
    with pytest.raises(ValueError, match="pool"):
        search_max_load(fake_server(13.7, []), Settings(RATE, 1.0, confirm=True), Slo(ttft_ms=200.0))


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
