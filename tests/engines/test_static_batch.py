import pytest

from bench.engines.static_batch import batches, left_pad, request_timing


def test_batches_in_order_last_one_short():
    assert [list(b) for b in batches(7, 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [list(b) for b in batches(2, 8)] == [[0, 1]]
    assert batches(0, 4) == []
    with pytest.raises(ValueError):
        batches(3, 0)


def test_left_pad_keeps_prompts_flush_right():
    ids, mask = left_pad([[5, 6, 7], [8]], pad_id=0)
    assert ids == [[5, 6, 7], [0, 0, 8]]
    assert mask == [[1, 1, 1], [0, 0, 1]]


def test_request_timing_from_step_times():
    steps = [1.5, 1.7, 1.9, 2.1]  # tokens of the batch, submitted at t = 1.0
    ttft, tpot, e2e = request_timing(1.0, steps, 4)
    assert ttft == pytest.approx(0.5) and tpot == pytest.approx(0.2) and e2e == pytest.approx(1.1)
    ttft, tpot, e2e = request_timing(1.0, steps, 2)  # a shorter request ends at its own last token
    assert tpot == pytest.approx(0.2) and e2e == pytest.approx(0.7)
    assert request_timing(1.0, steps, 1) == (pytest.approx(0.5), None, pytest.approx(0.5))
    assert request_timing(1.0, steps, 5) == (None, None, None)
