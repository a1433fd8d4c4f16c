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
                  "concurrencies": [1], **over})


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
