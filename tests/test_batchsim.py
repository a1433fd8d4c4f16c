"""The continuous-batching simulator, with step times of one second so the schedule is readable."""

import pytest

from bench.roofline.batchsim import SimError, simulate


def one_second(n_decode, ctx, chunks):
    return 1.0


def test_one_request_prefill_then_decode():
    out = simulate([(10, 5)], one_second, kv_capacity_tokens=100, max_num_seqs=4, max_num_batched_tokens=64)
    r = out.requests[0]
    assert (r.first_token_s, r.finish_s, r.generated) == (1.0, 5.0, 5)  # prefill yields token 1, 4 decodes
    assert out.elapsed_s == 5.0 and out.steps == 5


def test_max_num_seqs_serialises():
    out = simulate([(10, 5), (10, 5)], one_second, 100, max_num_seqs=1, max_num_batched_tokens=64)
    a, b = out.requests
    assert (a.finish_s, b.first_token_s, b.finish_s) == (5.0, 6.0, 10.0)


def test_batched_requests_share_steps():
    out = simulate([(10, 5)] * 3, one_second, 100, max_num_seqs=4, max_num_batched_tokens=64)
    assert [r.finish_s for r in out.requests] == [5.0, 5.0, 5.0]
    assert out.max_running == 3


def test_chunked_prefill_by_token_budget():
    out = simulate([(20, 2)], one_second, 100, max_num_seqs=4, max_num_batched_tokens=8)
    assert out.requests[0].first_token_s == 3.0  # chunks of 8, 8, 4


def test_step_sees_decode_contexts_and_chunks():
    seen = []

    def record(n_decode, ctx, chunks):
        seen.append((n_decode, ctx, list(chunks)))
        return 1.0

    simulate([(10, 3)], record, 100, max_num_seqs=4, max_num_batched_tokens=64)
    assert seen == [(0, 0, [(10, 0)]), (1, 11, []), (1, 12, [])]


def test_preemption_when_kv_runs_out():
    out = simulate([(4, 10), (4, 10)], one_second, kv_capacity_tokens=16, max_num_seqs=4, max_num_batched_tokens=64)
    assert out.preemptions >= 1
    assert [r.generated for r in out.requests] == [10, 10]
    assert out.requests[0].finish_s < out.requests[1].finish_s


def test_request_larger_than_cache():
    with pytest.raises(SimError, match="does not fit"):
        simulate([(10, 10)], one_second, kv_capacity_tokens=15, max_num_seqs=4, max_num_batched_tokens=64)
