"""Progress estimates of bench run (bench.display.progress, bench.execution.worker), by hand."""

import json

import pytest

from bench.display.progress import case_left_s, duration_text, read_events, run_left_s
from bench.execution.worker import expected_generate_s


def test_the_timed_run_is_foreseen_from_the_warm_up():
    # 16 prompts at batch 4: 4 waves; the warm-up (one wave, 8 output tokens) took 2 s: 4 x 2 x 64 / 8 = 64 s
    assert expected_generate_s(2.0, 8, 64, 16, 4) == pytest.approx(64.0)
    # batch 16 (or no cap) holds all 16 prompts: one wave, 2 x 64 / 8 = 16 s
    assert expected_generate_s(2.0, 8, 64, 16, 16) == pytest.approx(16.0)
    assert expected_generate_s(2.0, 8, 64, 16, None) == pytest.approx(16.0)
    assert expected_generate_s(0.0, 8, 64, 16, 4) is None  # --no-warmup: nothing to go by
    # split into prefill 8 s + 7 decode steps in 1.4 s (0.2 s each): 8 + 0.2 x 63 = 20.6 s a wave; one wave at 16
    assert expected_generate_s(9.4, 8, 64, 16, 16, 8.0, 1.4) == pytest.approx(20.6)
    assert expected_generate_s(9.4, 8, 64, 16, 4, 8.0, 1.4) == pytest.approx(4 * 20.6)  # four waves at batch 4


def test_time_left_of_a_case_and_of_the_command():
    timed = [{"phase": "engine start", "t": 60.0}, {"phase": "timed run", "t": 100.0, "expected_s": 30.0}]
    assert case_left_s(timed, started_at=50.0, now=110.0, previous_wall_s=None) == pytest.approx(20.0)  # 30 - 10
    assert case_left_s(timed, started_at=50.0, now=140.0, previous_wall_s=None) == 0.0  # past its estimate
    before = [{"phase": "engine start", "t": 60.0}]
    assert case_left_s(before, started_at=100.0, now=120.0, previous_wall_s=50.0) == pytest.approx(30.0)  # 50 - 20
    assert case_left_s(before, started_at=100.0, now=120.0, previous_wall_s=None) is None
    # 20 s left of this case, 2 more cases at the mean of 50 and 70 s: 20 + 2 x 60
    assert run_left_s(20.0, 40.0, 2, [50.0, 70.0]) == pytest.approx(140.0)
    # none finished: the others are taken to last as long as this one (40 elapsed + 20 left)
    assert run_left_s(20.0, 40.0, 1, []) == pytest.approx(80.0)
    assert run_left_s(None, 40.0, 1, []) is None


def test_duration_text_and_a_half_written_line(tmp_path):
    assert [duration_text(x) for x in (None, 0.2, 44.6, 89, 150)] == ["?", "about 1 s", "about 45 s", "about 89 s",
                                                                      "about 2 min"]
    f = tmp_path / "progress.jsonl"
    f.write_text(json.dumps({"phase": "warm-up", "t": 1.0}) + '\n{"phase": "tim')  # the worker mid-write
    assert read_events(f) == [{"phase": "warm-up", "t": 1.0}]
    assert read_events(tmp_path / "none.jsonl") == []


def test_a_log_gets_a_line_per_phase_from_the_engine_start_on(tmp_path, capsys, monkeypatch):
    """Not for the engine import: the engine's checks run in it, and a case they refuse must print one line."""
    import time as _time

    from bench.display.progress import RunProgress

    progress = RunProgress(2, live=False)
    f = tmp_path / "progress.jsonl"
    with progress.case("tiny-qwen2 max_num_seqs=4") as watch:
        f.write_text(json.dumps({"phase": "engine import", "t": _time.time()}) + "\n")
        watch(f)
        assert capsys.readouterr().err == ""
        f.write_text(f.read_text() + json.dumps({"phase": "engine start", "t": _time.time()}) + "\n")
        watch(f)
        watch(f)  # the same phase again: no second line
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("[1/2] tiny-qwen2 max_num_seqs=4: engine start (this case: ?")
    assert len(progress.finished_walls) == 1
