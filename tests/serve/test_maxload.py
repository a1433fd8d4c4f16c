"""bench serve --find-max-load's rows (bench.serve.maxload): every level is written once, the best passing level
last, marked as the boundary; an interrupted search marks none. Fake levels, no server."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench.config.serve import parse
from bench.execution.signals import Interrupted
from bench.serve import maxload


def cfg(**over):
    return parse({"model": "tiny-qwen2", "find_max_load": True, "slo_ttft_ms": 200.0, "num_prompts": 299,
                  "concurrencies": [1], "search_confirm": False, **over})


def fake_levels(capacity: int, interrupt_at: int | None = None):
    """Concurrency C: TTFT p99 bound 100 x (1 + C / capacity) ms, so C <= capacity passes a 200 ms target."""
    written: list[tuple[int, int, bool | None, bool]] = []

    def measure(level, first):
        if interrupt_at is not None and level.value == interrupt_at:
            row = {"run_id": f"c{int(level.value)}", "status": "interrupted"}
            raise Interrupted("SIGTERM", SimpleNamespace(level=level, row=row))
        row = {"run_id": f"c{int(level.value)}", "status": "ok", "ttft_p99_bound_ms": 100 * (1 + level.value / capacity),
               "tpot_p99_bound_ms": None}
        return SimpleNamespace(level=level, row=row), False

    def write(o):
        written.append((int(o.level.value), o.row["search_step"], o.row["search_passed"], o.row["slo_boundary"]))

    return measure, write, written


def test_rows_are_written_once_each_the_boundary_last():
    measure, write, written = fake_levels(capacity=5)
    ends = []
    outcomes, part = maxload.run_search(cfg(), measure, write, None, lambda o, p: ends.append(p))
    # 1, 2, 4 pass; 8 fails; round(sqrt(32)) = 6 fails; 5 passes; bracket 5-6: done. Each passing level is written
    # when the next one passes (false); the boundary, 5, when the search ends (true).
    assert written == [(1, 1, True, False), (2, 2, True, False), (8, 4, False, False), (6, 5, False, False),
                       (4, 3, True, False), (5, 6, True, True)]
    assert part["boundary"] == 5 and part["boundary_run_id"] == "c5" and part["bracket"] == [5, 6]
    assert [o.level.value for o in outcomes] == [1, 2, 4, 8, 6, 5] and ends == [part]


def test_an_interrupted_search_writes_what_it_measured_and_marks_no_boundary():
    measure, write, written = fake_levels(capacity=5, interrupt_at=8)
    ends = []
    with pytest.raises(Interrupted):
        maxload.run_search(cfg(), measure, write, None, lambda o, p: ends.append(p))
    assert written == [(1, 1, True, False), (2, 2, True, False), (8, 4, None, False), (4, 3, True, False)]
    assert ends[0]["boundary"] is None and ends[0]["stopped"] == "stopped by SIGTERM"


def recorded_levels(capacity: int, lucky: dict):
    """Concurrency C measured as 299 requests that each wait 100 x (1 + C / capacity) ms for their first token
    (so the p99 bound is that), except a level's first run listed in `lucky` (C -> its requests' TTFT ms)."""
    written: list[tuple[str, int, bool | None, bool]] = []
    runs: dict[int, int] = {}

    def measure(level, first):
        c = int(level.value)
        runs[c] = runs.get(c, 0) + 1
        ttft_ms = lucky[c] if c in lucky and runs[c] == 1 else 100 * (1 + c / capacity)
        row = {"run_id": f"c{c}-{runs[c]}", "status": "ok", "ttft_p99_bound_ms": ttft_ms, "tpot_p99_bound_ms": None}
        record = {"requests": [{"success": True, "ttft_s": ttft_ms / 1e3, "tpot_s": None}] * 299}
        return SimpleNamespace(level=level, row=row, record=record), False

    def write(o):
        written.append((o.row["run_id"], o.row["search_step"], o.row["search_passed"], o.row["slo_boundary"]))

    return measure, write, written


def test_a_confirmed_search_drops_a_lucky_pass_and_marks_the_confirmation():
    """Capacity 5 (C <= 5 meets 200 ms), but concurrency 6's first run is lucky (150 ms). 1, 2, 4 pass; 8 fails;
    6 passes (lucky); 7 fails (240 ms); bracket 6-7: confirm 6: its second run reads 220 ms, and the 598 requests of
    both pooled have a p99 bound of 220 ms (the slowest 1% are the second run's): it fails. Bracket 4-6: 5 passes;
    4-5 has no whole number between: confirm 5: 200 ms twice, pooled 200: the boundary is 5's second run. Every
    passing level but a confirmation is written when measured; the confirmation last, as the boundary."""
    measure, write, written = recorded_levels(5, lucky={6: 150.0})
    outcomes, part = maxload.run_search(cfg(search_confirm=True), measure, write, None, lambda o, p: None)
    assert written == [("c1-1", 1, True, False), ("c2-1", 2, True, False), ("c4-1", 3, True, False),
                       ("c8-1", 4, False, False), ("c6-1", 5, True, False), ("c7-1", 6, False, False),
                       ("c6-2", 7, False, False), ("c5-1", 8, True, False), ("c5-2", 9, True, True)]
    assert part["boundary"] == 5 and part["boundary_run_id"] == "c5-2" and part["confirm"] is True
    steps = {s["run_id"]: s for s in part["steps"]}
    assert steps["c6-2"]["pooled"] == {"runs": 2, "ttft_p99_bound_ms": pytest.approx(220.0), "tpot_p99_bound_ms": None}
    assert steps["c5-2"]["pooled"]["ttft_p99_bound_ms"] == pytest.approx(200.0) and "pooled" not in steps["c6-1"]
    assert part["stopped"] == "bracket 5-6: no whole concurrency between; boundary confirmed on its measurements pooled"


def test_the_simulated_server_never_confirms():
    assert maxload.search_settings(cfg(search_confirm=True)).confirm
    assert not maxload.search_settings(cfg(search_confirm=True, engine="sim", hardware="H100-SXM")).confirm
