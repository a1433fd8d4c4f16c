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


def test_a_step_time_with_costs_splits_the_run():
    # every step 1 s, its costs: prompt tokens scheduled vs decodes. Two requests (4 in / 3 out, 4 in / 2 out),
    # a budget of 5 tokens a step:
    #   step 1: A's 4 prompt tokens + B's first 1 -> all prefill: 1 s      (A's first token)
    #   step 2: A decodes, B's last 3 prompt tokens -> 3 : 1, 0.75 s / 0.25 s (A's 2nd, B's first token)
    #   step 3: A and B decode -> decode 1 s                               (both done)
    # prefill 1.75 s, decode 1.25 s, elapsed 3 s
    def step(n_decode, ctx, chunks):
        return 1.0, sum(n for n, _ in chunks), n_decode

    out = simulate([(4, 3), (4, 2)], step, kv_capacity_tokens=100, max_num_seqs=2, max_num_batched_tokens=5)
    assert out.steps == 3 and out.elapsed_s == 3.0
    assert (out.prefill_s, out.decode_s) == pytest.approx((1.75, 1.25))
    # a plain step time (seconds only) says nothing about the split
    plain = simulate([(4, 3)], lambda n, c, ch: 1.0, kv_capacity_tokens=100, max_num_seqs=2, max_num_batched_tokens=5)
    assert plain.prefill_s is None and plain.decode_s is None
