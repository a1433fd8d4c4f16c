"""The simulated server (bench.roofline.servesim): requests arriving over time through the batch sim's scheduler.
Hand-computed values with a constant step time; pure unit tests."""

from __future__ import annotations

import pytest

from bench.roofline import batchsim, servesim
from bench.roofline.servesim import ClosedLoop, OpenArrivals
from bench.serve.arrivals import arrival_offsets_s

STEP = 0.01  # seconds, every step


def const(n_decode, ctx, chunks):
    return STEP


def run(lengths, arrivals, seqs=8, budget=64, cap=10_000):
    return batchsim.simulate(lengths, const, cap, seqs, budget, arrivals=arrivals, log_tokens=True)


def ttft(r):
    return r.first_token_s - r.arrival_s


def test_one_request_at_t1_on_an_idle_server():
    """Prompt 100 at a budget of 32: ceil(100 / 32) = 4 prefill steps (32, 32, 32, 4), the 4th yields the first
    token: TTFT = 4 x 10 ms = 40 ms from its arrival at 1.0 s (the idle clock jumps there, no step runs before);
    4 more tokens one a step: E2E = 8 x 10 ms = 80 ms, each ITL 10 ms."""
    out = run([(100, 5)], OpenArrivals([1.0]), budget=32)
    (r,) = out.requests
    assert r.arrival_s == 1.0 and out.steps == 8
    assert ttft(r) == pytest.approx(0.04) and r.finish_s - r.arrival_s == pytest.approx(0.08)
    assert [b - a for a, b in zip(r.token_s, r.token_s[1:])] == pytest.approx([STEP] * 4)


def test_two_requests_with_overlapping_arrivals_queue():
    """One sequence slot; both prompts 64 (one step at budget 64), 2 output tokens. Request 0 at 0: prefill step
    0-10 ms (first token), decode 10-20 ms (done). Request 1 arrives at 5 ms but waits for the slot: prefill 20-30 ms,
    decode 30-40 ms. TTFT 10 ms and 30 - 5 = 25 ms; E2E 20 ms and 40 - 5 = 35 ms."""
    out = run([(64, 2), (64, 2)], OpenArrivals([0.0, 0.005]), seqs=1)
    a, b = out.requests
    assert (ttft(a), a.finish_s - a.arrival_s) == pytest.approx((0.01, 0.02))
    assert (ttft(b), b.finish_s - b.arrival_s) == pytest.approx((0.025, 0.035))


def test_a_request_arriving_mid_step_shares_the_next_step_with_a_chunk():
    """Two slots, budget 64. Request 0 (prompt 64, 3 tokens) prefills 0-10 ms. Request 1 (prompt 64) arrives at 5 ms:
    at 10 ms request 0 decodes 1 token and request 1 gets the 63 tokens left of the budget (chunked prefill); at
    20-30 ms request 0 decodes its last token beside request 1's last prompt token, which yields its first token:
    TTFT 30 - 5 = 25 ms; its decode 30-40 ms."""
    out = run([(64, 3), (64, 2)], OpenArrivals([0.0, 0.005]), seqs=2)
    a, b = out.requests
    assert a.finish_s == pytest.approx(0.03)  # prefill + 2 decodes
    assert ttft(b) == pytest.approx(0.025) and b.finish_s == pytest.approx(0.04)


def test_the_idle_clock_jumps_to_the_next_arrival():
    """Requests at 0 and 10 s, each one prefill step + 1 decode: the second's TTFT is one step, not 10 s, and the
    run ends at 10.02 s after 4 steps."""
    out = run([(32, 2), (32, 2)], OpenArrivals([0.0, 10.0]))
    assert out.steps == 4 and out.elapsed_s == pytest.approx(10.02)
    assert [ttft(r) for r in out.requests] == pytest.approx([0.01, 0.01])


def test_a_closed_loop_at_concurrency_1():
    """C = 1, 3 requests of prompt 32 / 4 tokens: each 1 prefill step + 3 decodes = 40 ms, the next sent when one
    ends: arrivals 0, 40, 80 ms; TTFT 10 ms each, E2E 40 ms each, the level 120 ms."""
    out = run([(32, 4)] * 3, ClosedLoop(3, 1))
    assert [r.arrival_s for r in out.requests] == pytest.approx([0.0, 0.04, 0.08])
    assert [ttft(r) for r in out.requests] == pytest.approx([0.01] * 3)
    assert [r.finish_s - r.arrival_s for r in out.requests] == pytest.approx([0.04] * 3)
    assert out.elapsed_s == pytest.approx(0.12)


def test_a_closed_loop_at_concurrency_2_keeps_two_in_flight():
    """C = 2, 4 requests of prompt 32 / 2 tokens, budget 64: 0 and 1 prefill together (0-10 ms), decode (10-20 ms);
    2 and 3 are sent at 20 ms and run 20-40 ms. max_running 2, never 3."""
    out = run([(32, 2)] * 4, ClosedLoop(4, 2))
    assert [r.arrival_s for r in out.requests] == pytest.approx([0.0, 0.0, 0.02, 0.02])
    assert out.max_running == 2 and out.elapsed_s == pytest.approx(0.04)


def test_poisson_arrivals_with_a_seed_are_reproducible():
    """The same seed: the same send times (bench.serve.arrivals, the real serve's) and the same outcome; another
    seed: other times. The offsets scale so the last is sent at n / rate = 20 / 50 = 0.4 s."""
    times = arrival_offsets_s(20, 50.0, 1.0, seed=7)
    assert times == arrival_offsets_s(20, 50.0, 1.0, seed=7) != arrival_offsets_s(20, 50.0, 1.0, seed=8)
    assert times[-1] == pytest.approx(0.4)
    one, two = (run([(48, 8)] * 20, OpenArrivals(times)) for _ in range(2))
    assert [r.first_token_s for r in one.requests] == [r.first_token_s for r in two.requests]
    assert [r.arrival_s for r in one.requests] == pytest.approx(times)


def test_without_arrivals_the_offline_sim_is_unchanged():
    """All at t=0 given as arrivals: the same schedule as the offline call (the one scheduler)."""
    lengths = [(40, 3), (70, 5), (20, 2)]
    offline = batchsim.simulate(lengths, const, 10_000, 2, 64)
    served = run(lengths, OpenArrivals([0.0] * 3), seqs=2)
    assert [r.first_token_s for r in offline.requests] == [r.first_token_s for r in served.requests]
    assert [r.finish_s for r in offline.requests] == [r.finish_s for r in served.requests]


def test_mean_rate_of_arrival_times():
    """10 requests, the last at 2 s: 5 requests/s; all at once: infinite."""
    assert servesim.mean_rate_req_s([0.2 * (i + 1) for i in range(10)]) == pytest.approx(5.0)
    assert servesim.mean_rate_req_s([0.0, 0.0]) == float("inf")


# -- on a deployment: the offline prediction's timing, capacity ------------------------------------------------------


def deployment():
    from bench.config import catalog
    from bench.roofline import predict

    m = catalog.resolve_model("qwen2.5-7b-instruct")
    dep = predict.deployment({"dtype": m.dtype}, m.config, predict.require_gpu("H100-SXM"))
    return dep, predict.load_profile(None).efficiency_for("vllm")


def test_all_at_t0_the_served_timing_equals_the_offline_prediction():
    """Arrivals all at 0 through serve(): each request's first and last token at the times the offline trace
    (bench.roofline.trace, the batch prediction) gives: one step-time model for both."""
    from bench.roofline import trace

    dep, eff = deployment()
    lengths = [(512, 32)] * 24
    t = trace.timings(trace.schedule(dep, lengths, 8, 2048), eff)
    out = servesim.serve(dep, lengths, OpenArrivals([0.0] * 24), eff, 8, 2048)
    assert [r.first_token_s for r in out.requests] == pytest.approx(t.ttft_s.tolist(), rel=1e-9)
    assert [r.finish_s for r in out.requests] == pytest.approx(t.e2e_s.tolist(), rel=1e-9)


def test_a_lone_request_waits_one_prefill_step_and_a_rate_above_capacity_queues():
    """C = 1: TTFT = the expected time of one step holding the whole 512-token prompt (budget 2,048) and nothing
    else. Open loop at half the capacity: the last requests wait about as long as the first; at twice the capacity
    the queue grows: the last request's TTFT is many times the first's."""
    from bench.roofline import efficiency

    dep, eff = deployment()
    one_step = float(efficiency.step_time_s(dep.step_cost(0, 0, [(512, 0)]), dep.machine, eff))
    ttft_s, _ = servesim.closed_loop_latencies_s(dep, 512, 32, 1, eff, 8, 2048)
    assert ttft_s == pytest.approx([one_step] * 32)
    lengths = [(512, 32)] * 64
    cap = servesim.capacity_req_s(dep, lengths, eff, 8, 2048)
    for share, grows in ((0.5, False), (2.0, True)):
        out = servesim.serve(dep, lengths, OpenArrivals(arrival_offsets_s(64, share * cap, 1.0, 0)), eff, 8, 2048)
        waits = [ttft(r) for r in out.requests]
        assert (waits[-1] > 10 * waits[0]) == grows


def test_a_step_scale_stretches_every_step_and_shrinks_the_capacity_alike():
    """step_scale 1.25 (an engine at 0.8 of the calibration's speed): at one stream, no front end, every time of the
    level is 1.25x (TTFT 1.25 x one step; each finish too, since the next request leaves at the previous finish);
    the capacity is 1 / 1.25 = 0.8x, by the offline trace (no serving path) and by the served steps alike (a front
    end in series on cores of its own whose one cost, 1 ns a step, hides under every engine step)."""
    from bench.roofline import efficiency, servingpath

    dep, eff = deployment()
    one_step = float(efficiency.step_time_s(dep.step_cost(0, 0, [(512, 0)]), dep.machine, eff))
    lengths = [(512, 32)] * 8
    base = servesim.serve(dep, lengths, ClosedLoop(8, 1), eff, 8, 2048)
    slow = servesim.serve(dep, lengths, ClosedLoop(8, 1), eff, 8, 2048, step_scale=1.25)
    assert ttft(slow.requests[0]) == pytest.approx(1.25 * one_step, rel=1e-12)
    assert [r.finish_s for r in slow.requests] == pytest.approx([1.25 * r.finish_s for r in base.requests], rel=1e-12)
    many = [(512, 32)] * 64
    cap = servesim.capacity_req_s(dep, many, eff, 8, 2048)
    assert servesim.capacity_req_s(dep, many, eff, 8, 2048, step_scale=1.25) == pytest.approx(0.8 * cap, rel=1e-12)
    path = servingpath.ServingPath(request_latency_s=0.0, stream_step_s=1e-9, in_series=True, shares_cores=False)
    served = servesim.capacity_req_s(dep, many, eff, 8, 2048, serving=path)
    assert servesim.capacity_req_s(dep, many, eff, 8, 2048, serving=path, step_scale=1.25) == \
        pytest.approx(0.8 * served, rel=1e-6)
