"""The serving path's host cost (bench.roofline.servingpath) in the simulated server's steps, its non-negative fit,
and profiles without it reading (and predicting) as before. Hand-computed values; pure unit tests."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from bench.core.errors import BenchError
from bench.roofline import batchsim, servesim, servingpath
from bench.roofline.servesim import ClosedLoop, OpenArrivals
from bench.roofline.servingpath import ServingPath

STEP = 0.010  # the engine's seconds for every step


def const(n_decode, ctx, chunks):
    return STEP


def closed_loop(path: ServingPath, shared: bool, streams=4, requests=8, output=5):
    """A closed loop of `streams` streams of prompt 32 / `output` tokens (budget 256 holds every prompt at once)."""
    def served(engine_s, streamed, admitted):
        return path.step_s(engine_s, streamed, admitted, shared)
    return batchsim.simulate([(32, output)] * requests, const, 10_000, 16, 256, arrivals=ClosedLoop(requests, streams),
                             log_tokens=True, served_step_s=served)


def tpot(r):
    return (r.finish_s - r.first_token_s) / (r.output_len - 1)


def test_a_closed_loop_of_4_streams_on_shared_cores():
    """B = 4 streams in lockstep, 2 ms per streamed token, 5 ms per request, front end on the engine's cores.
    The first step admits 4 requests and completes their prompts (4 first tokens): 10 + 4 x 2 + 4 x 5 = 38 ms =
    TTFT. Each of the 4 decode steps streams 4 tokens: 10 + 4 x 2 = 18 ms = TPOT. A request: 38 + 4 x 18 = 110 ms;
    the second wave of 4 is sent when the first ends, at 110 ms, and runs the same: the level ends at 220 ms."""
    out = closed_loop(ServingPath(stream_token_s=0.002, stream_request_s=0.005), shared=True)
    assert [r.first_token_s - r.arrival_s for r in out.requests] == pytest.approx([0.038] * 8)
    assert [tpot(r) for r in out.requests] == pytest.approx([0.018] * 8)
    assert [r.arrival_s for r in out.requests] == pytest.approx([0.0] * 4 + [0.110] * 4)
    assert out.elapsed_s == pytest.approx(0.220)


def test_a_per_step_cost_does_not_grow_with_the_streams():
    """6 ms per step that streams anything, nothing per token: every step 10 + 6 = 16 ms whatever B (1 or 4):
    TTFT 16 ms, TPOT 16 ms."""
    for streams in (1, 4):
        out = closed_loop(ServingPath(stream_step_s=0.006), shared=True, streams=streams)
        assert [r.first_token_s - r.arrival_s for r in out.requests] == pytest.approx([0.016] * 8)
        assert [tpot(r) for r in out.requests] == pytest.approx([0.016] * 8)


def test_on_cores_of_its_own_the_front_end_overlaps_the_step():
    """A GPU box: the step is max(engine, host). 2 ms a token x 4 streams = 8 ms < 10 ms: TPOT 10 ms, the engine's.
    3 ms a token: 12 ms > 10 ms, the front end sets the pace: TPOT 12 ms."""
    out = closed_loop(ServingPath(stream_token_s=0.002), shared=False)
    assert [tpot(r) for r in out.requests] == pytest.approx([0.010] * 8)
    out = closed_loop(ServingPath(stream_token_s=0.003), shared=False)
    assert [tpot(r) for r in out.requests] == pytest.approx([0.012] * 8)


def test_a_chunk_that_does_not_finish_its_prompt_streams_nothing():
    """One request, prompt 100 at a budget of 32: 4 prefill steps (32, 32, 32, 4), only the 4th yields a token.
    5 ms per request, 2 ms per token, shared: 10 + 5 (admitted) = 15, 10, 10, 10 + 2 (first token) = 12:
    TTFT 47 ms; then 2 decodes of 12 ms: E2E 71 ms."""
    def served(engine_s, streamed, admitted):
        return ServingPath(stream_token_s=0.002, stream_request_s=0.005).step_s(engine_s, streamed, admitted, True)
    out = batchsim.simulate([(100, 3)], const, 10_000, 8, 32, arrivals=OpenArrivals([0.0]), log_tokens=True,
                            served_step_s=served)
    (r,) = out.requests
    assert r.first_token_s == pytest.approx(0.047) and r.finish_s == pytest.approx(0.071)


def series(path: ServingPath, arrivals, lengths):
    """The batch sim with the front end in series (servingpath.FrontEndQueue), on shared cores, steps of STEP."""
    fe = servingpath.FrontEndQueue(path, arrivals)
    return batchsim.simulate(lengths, const, 10_000, 16, 256, arrivals=fe, log_tokens=True,
                             served_step_s=lambda e, n, a: path.step_s(e, n, a, True), delivered_s=fe.delivered_s)


SERIES = ServingPath(stream_token_s=0.002, stream_step_s=0.003, stream_request_s=0.005, shares_cores=True,
                     in_series=True)


def test_in_series_a_closed_loop_of_4_streams():
    """4 streams, prompt 32 / 5 out, 5 ms per request and 2 ms per token in the front end's own queue, 3 ms per step on
    the step. The 4 requests at t=0 are handled one after another: admissible at 5, 10, 15, 20 ms. The engine
    starts at 5 ms with request 0 alone (13 ms step: 10 + 3), so the waves do not stay together:
    t=5: step 1 = [r0 prefill], ends 18; r0's first token to the front end, free at 20: delivered 20 + 2 = 22.
    t=18: r1, r2, r3 admissible (10, 15, 20 > 18: only r1, r2); step 2 = [r0 decode, r1, r2 prefill], ends 31;
    3 tokens delivered at max(31, 22) + 6 = 37. TTFT r0 = 22 ms, r1 = r2 = 37 ms; r0's 2nd token came at 37.
    t=31: step 3 = [r0, r1, r2 decode, r3 prefill], ends 44; 4 tokens delivered at 44 + 8 = 52 (r3's first, r0's 3rd).
    The wave no longer moves as one: each stream's TTFT includes its place in the front end's queue."""
    out = series(SERIES, ClosedLoop(8, 4), [(32, 5)] * 8)
    r0, r1, r2, r3 = out.requests[:4]
    assert r0.first_token_s == pytest.approx(0.022)
    assert r1.first_token_s == pytest.approx(0.037) and r2.first_token_s == pytest.approx(0.037)
    assert r3.first_token_s == pytest.approx(0.052)
    assert r0.token_s[1] == pytest.approx(0.037) and r0.token_s[2] == pytest.approx(0.052)


def test_in_series_one_stream_is_the_sum_of_the_stages():
    """Concurrency 1: TTFT = request 5 + step (10 + 3) + one token 2 = 20 ms; TPOT = the step 13 ms (the front end is
    idle when each token comes); the next request is sent at the last token's delivery: 20 + 4 x 13 = 72 ms."""
    out = series(SERIES, ClosedLoop(3, 1), [(32, 5)] * 3)
    assert [r.first_token_s - r.arrival_s for r in out.requests] == pytest.approx([0.020] * 3)
    assert [tpot(r) for r in out.requests] == pytest.approx([0.013] * 3)
    assert [r.arrival_s for r in out.requests] == pytest.approx([0.0, 0.072, 0.144])
    assert out.elapsed_s == pytest.approx(0.216)


def test_in_series_a_request_waits_behind_the_tokens_being_streamed():
    """Request 0 at t=0 (prompt 32, 3 out), request 1 at 20 ms. Token cost 10 ms, so request 0's first token
    (step 5-18 ms) is streamed 18-28 ms; request 1, arriving at 20 ms while it is, waits until 28 and is handled
    28-33 ms: admissible at 33. Step 2 (18-31) yields r0's 2nd token, which comes after request 1 in the front
    end's queue: streamed 33-43. Step 3 starts at 31 with r0 decoding alone (r1 not yet admissible) and ends at 44:
    r0's last token, streamed 44-54. Step 4 (44-57) admits r1: its first token streamed 57-67. TTFT r1 = 67 - 20 =
    47 ms, of which 13 ms is the front end's queue and work before the engine saw it."""
    path = ServingPath(stream_token_s=0.010, stream_step_s=0.003, stream_request_s=0.005, shares_cores=True,
                       in_series=True)
    out = series(path, OpenArrivals([0.0, 0.020]), [(32, 3), (32, 3)])
    r0, r1 = out.requests
    assert r0.token_s == pytest.approx([0.028, 0.043, 0.054])
    assert r1.first_token_s == pytest.approx(0.067) and r1.arrival_s == pytest.approx(0.020)


def test_in_series_profiles_round_trip_and_old_ones_read_as_not_in_series():
    assert servingpath.from_dict(SERIES.as_dict()) == dataclasses.replace(SERIES, source=SERIES.source)
    assert not servingpath.from_dict({"stream_step_s": 0.001}).in_series
    with pytest.raises(ValueError, match="in_series"):
        servingpath.from_dict({"in_series": "yes"})


def test_in_series_only_the_per_step_term_lengthens_the_step():
    assert SERIES.step_s(0.010, 4, 2, True) == pytest.approx(0.013)
    assert dataclasses.replace(SERIES, in_series=False).step_s(0.010, 4, 2, True) == pytest.approx(0.031)


def test_sharing_is_stated_or_follows_the_hardware():
    """None: as the hardware says (a CPU entry's engine runs on the host's cores); true/false: as stated."""
    assert servingpath.shares_cores_on(ServingPath(), host_cores=True)
    assert not servingpath.shares_cores_on(ServingPath(), host_cores=False)
    assert servingpath.shares_cores_on(ServingPath(shares_cores=True), host_cores=False)
    assert not servingpath.shares_cores_on(ServingPath(shares_cores=False), host_cores=True)


def test_a_probed_cpu_entry_shares_its_cores_a_gpu_does_not():
    from bench.roofline.gpu import gpu_spec

    cpu = SimpleNamespace(kind="cpu", fp32_tflops=0.012, bf16_tflops=None, memory_bw_tb_s=0.0036, memory_gb=8,
                          spec_source="bench probe 2026-12-06")
    gpu = SimpleNamespace(kind="gpu", memory_gb=80, memory_bw_tb_s=3.35, bf16_tflops=989, fp8_tflops=1979,
                          spec_source="datasheet")
    assert gpu_spec("this-cpu", cpu).host_cores and not gpu_spec("H100", gpu).host_cores


# -- the fit ----------------------------------------------------------------------------------------------------------


def test_fit_of_one_parameter_over_two_levels():
    """Per-token cost from two closed loops: at B = 1 the TPOT misses by 20 ms, at B = 4 by 60 ms (effects 1 and 4
    per second of the parameter). Least squares: t = (1 x 20 + 4 x 60) / (1^2 + 4^2) = 260 / 17 = 15.294 ms."""
    (t,) = servingpath.fit_nonnegative([0.020, 0.060], [[1.0], [4.0]])
    assert t == pytest.approx(0.260 / 17)


def test_fit_keeps_every_parameter_non_negative():
    """Misses 10 and 10 ms, effects [1, 1] and [1, 2]: the unconstrained answer is x = (10, 0) ms exactly. Misses 10
    and 5 ms: unconstrained (15, -5) ms; the second parameter held at 0, the first alone fits (10 + 5) / (1 + 1) =
    7.5 ms (of the subsets with non-negative answers, the best)."""
    assert servingpath.fit_nonnegative([0.010, 0.010], [[1, 1], [1, 2]]) == pytest.approx([0.010, 0.0], abs=1e-12)
    assert servingpath.fit_nonnegative([0.010, 0.005], [[1, 1], [1, 2]]) == pytest.approx([0.0075, 0.0])
    assert servingpath.fit_nonnegative([-0.01], [[1.0]]) == [0.0]  # faster than predicted: no cost, never negative


# -- profiles: the term is read, written, and absent from old ones ----------------------------------------------------


def test_old_profiles_read_with_the_term_at_0_and_write_back_unchanged(tmp_path):
    from bench.roofline import profile

    pub = profile.published()
    assert pub.serving == ServingPath() and pub.serving.is_zero and pub.serving.source.startswith("assumed")
    assert "serving" not in pub.as_dict()  # an old profile round-trips without the key
    mine = profile.Profile(name="mine", kind="user", parameters=pub.parameters,
                           serving=ServingPath(stream_token_s=0.0195, shares_cores=True, source="measured: test"))
    profile.save(mine, tmp_path / "mine.yaml")
    back = profile.load(tmp_path / "mine.yaml")
    assert back.serving == mine.serving
    (tmp_path / "bad.yaml").write_text("name: bad\nparameters: {}\nserving: {stream_token_ms: 3}\n")
    with pytest.raises(BenchError, match="unknown key stream_token_ms"):
        profile.load(tmp_path / "bad.yaml")
    (tmp_path / "neg.yaml").write_text("name: neg\nparameters: {}\nserving: {stream_token_s: -0.001}\n")
    with pytest.raises(BenchError, match="outside its range"):
        profile.load(tmp_path / "neg.yaml")


def deployment():
    from bench.config import catalog
    from bench.roofline import predict

    m = catalog.resolve_model("qwen2.5-7b-instruct")
    dep = predict.deployment({"dtype": m.dtype}, m.config, predict.require_gpu("H100-SXM"))
    return dep, predict.load_profile(None).efficiency_for("vllm")


def test_with_the_term_at_0_the_simulated_server_is_unchanged():
    """The published fit (no serving path): a closed loop at C = 1 gives TTFT = one prefill step of the whole
    512-token prompt, the figure bench serve --engine sim has always given (tests/e2e/test_serve_sim.py), and the
    same request times, TPOT and capacity whether the term is absent (None) or given at 0."""
    from bench.roofline import efficiency

    dep, eff = deployment()
    one_step = float(efficiency.step_time_s(dep.step_cost(0, 0, [(512, 0)]), dep.machine, eff))
    for serving in (None, ServingPath(), ServingPath(shares_cores=True)):
        ttft_s, tpot_s = servesim.closed_loop_latencies_s(dep, 512, 32, 1, eff, 8, 2048, serving=serving)
        assert ttft_s == pytest.approx([one_step] * 32, rel=1e-12)
    base = servesim.serve(dep, [(512, 32)] * 16, ClosedLoop(16, 4), eff, 8, 2048)
    zero = servesim.serve(dep, [(512, 32)] * 16, ClosedLoop(16, 4), eff, 8, 2048, serving=ServingPath())
    assert [r.token_s for r in zero.requests] == [r.token_s for r in base.requests]
    lengths = [(512, 32)] * 24
    assert servesim.capacity_req_s(dep, lengths, eff, 8, 2048, serving=ServingPath()) == \
        servesim.capacity_req_s(dep, lengths, eff, 8, 2048)


def test_on_a_deployment_a_shared_front_end_adds_b_times_t_to_each_decode_step():
    """Qwen2.5-7B on an H100 stated to share cores, 1 ms per streamed token: at C = 1 every TPOT is the engine's
    + 1 ms, at C = 4 (lockstep: 4 equal requests a wave) + 4 ms; the capacity falls (each step is longer)."""
    dep, eff = deployment()
    path = ServingPath(stream_token_s=0.001, shares_cores=True)
    for c in (1, 4):
        _, base = servesim.closed_loop_latencies_s(dep, 512, 32, c, eff, 8, 2048)
        _, served = servesim.closed_loop_latencies_s(dep, 512, 32, c, eff, 8, 2048, serving=path)
        assert served == pytest.approx([b + c * 0.001 for b in base], rel=1e-9)
    lengths = [(512, 32)] * 24
    assert servesim.capacity_req_s(dep, lengths, eff, 8, 2048, serving=path) < \
        servesim.capacity_req_s(dep, lengths, eff, 8, 2048)


def test_bench_plan_served_latencies_take_the_profiles_serving_path():
    """An offline sim row's served latencies (bench plan) with a profile whose path costs 1 ms a step on shared
    cores: at a closed loop of 1 stream every step streams one token, so TTFT (one prefill step) and TPOT are each the
    published fit's + 1 ms; the same profile without the path gives the published fit's figures exactly."""
    import dataclasses

    from bench.analysis import plan_points
    from bench.roofline import predict

    pub = predict.load_profile(None)
    row = {"model": "qwen2.5-7b-instruct", "hardware": "H100-SXM", "input_len": 512, "output_len": 32,
           "dtype": "bfloat16"}
    base = plan_points.served_row_latencies_ms(row, 1, 50, pub.name, pub)
    mine = dataclasses.replace(pub, serving=ServingPath(stream_step_s=0.001, shares_cores=True))
    ttft, tpot = plan_points.served_row_latencies_ms(row, 1, 50, pub.name, mine)
    assert (ttft, tpot) == pytest.approx((base[0] + 1.0, base[1] + 1.0), rel=1e-9)
    assert plan_points.served_row_latencies_ms(row, 1, 50, pub.name, dataclasses.replace(pub)) == base


def test_a_requests_latency_delays_it_but_holds_no_other_request_up():
    """4 streams at t=0, prompt 32 / 5 out, steps of 10 ms on cores of their own (front end per step 0). Work 0.5 ms
    and latency 4.5 ms a request: handled 0-0.5, 0.5-1, 1-1.5, 1.5-2 ms, admissible at 5, 5.5, 6, 6.5. The engine
    starts at 5 with r0 alone (5-15); r1-r3 are admissible by 15 and prefill together (15-25): first tokens at 15 and
    25, 25, 25 (a wave of 1 + 3, as vLLM's server admits one, measured). The same 5 ms as work alone (q = 5, L = 0):
    admissible at 5, 10, 15, 20, so r0 5-15, r1 and r2 15-25, r3 25-35: the wave comes apart."""
    def first_tokens(path):
        out = batchsim.simulate([(32, 5)] * 4, const, 10_000, 16, 256,
                                arrivals=servingpath.FrontEndQueue(path, ClosedLoop(4, 4)), log_tokens=True,
                                served_step_s=lambda e, n, a: path.step_s(e, n, a, False))
        return [r.first_token_s for r in out.requests]

    split = ServingPath(stream_request_s=0.0005, request_latency_s=0.0045, shares_cores=False, in_series=True)
    assert first_tokens(split) == pytest.approx([0.015, 0.025, 0.025, 0.025])
    work = ServingPath(stream_request_s=0.005, shares_cores=False, in_series=True)
    assert first_tokens(work) == pytest.approx([0.015, 0.025, 0.025, 0.035])


def test_a_requests_latency_on_the_simulated_server_adds_to_ttft_alone():
    """Not in series, latency only (3 ms): at C = 1 each request reaches the engine 3 ms after it is sent, so TTFT is
    the engine's + 3 ms and TPOT the engine's; profiles round-trip it."""
    dep, eff = deployment()
    path = ServingPath(request_latency_s=0.003, shares_cores=False)
    ttft0, tpot0 = servesim.closed_loop_latencies_s(dep, 512, 32, 1, eff, 8, 2048)
    ttft, tpot_s = servesim.closed_loop_latencies_s(dep, 512, 32, 1, eff, 8, 2048, serving=path)
    assert ttft == pytest.approx([t + 0.003 for t in ttft0], rel=1e-9) and tpot_s == pytest.approx(tpot0, rel=1e-9)
    assert servingpath.from_dict(path.as_dict()).request_latency_s == 0.003


def test_an_exponential_latency_draws_each_requests_own_from_the_seed():
    """latency_dist exponential, mean 3 ms, at C = 1 (not in series): request i reaches the engine 3 ms x E_i after
    it is sent, E_i the i-th standard exponential of random.Random(seed): its TTFT is the engine's + that, TPOT the
    engine's. Over 400 requests the draws' mean is within 10% of 3 ms and p90 - p50 near 3 x (ln 10 - ln 2) = 4.83
    ms; the same seed gives the same TTFTs, another seed others."""
    import math
    import random
    import statistics

    dep, eff = deployment()
    path = ServingPath(request_latency_s=0.003, shares_cores=False, latency_dist="exponential")
    n = 400
    base = servesim.serve(dep, [(512, 32)] * n, ClosedLoop(n, 1), eff, 8, 2048)
    out = servesim.serve(dep, [(512, 32)] * n, ClosedLoop(n, 1), eff, 8, 2048, serving=path, seed=7)
    rng = random.Random(7)
    draws = [rng.expovariate(1.0) for _ in range(n)]
    extra = [(r.first_token_s - r.arrival_s) - (b.first_token_s - b.arrival_s)
             for r, b in zip(out.requests, base.requests)]
    assert extra == pytest.approx([0.003 * e for e in draws], rel=1e-6, abs=1e-12)
    tpot = [(r.finish_s - r.first_token_s) for r in out.requests]
    assert tpot == pytest.approx([b.finish_s - b.first_token_s for b in base.requests], rel=1e-9)
    assert statistics.mean(extra) == pytest.approx(0.003, rel=0.10)
    q = statistics.quantiles(extra, n=10)
    assert q[8] - q[4] == pytest.approx(0.003 * (math.log(10) - math.log(2)), rel=0.2)
    again = servesim.serve(dep, [(512, 32)] * n, ClosedLoop(n, 1), eff, 8, 2048, serving=path, seed=7)
    other = servesim.serve(dep, [(512, 32)] * n, ClosedLoop(n, 1), eff, 8, 2048, serving=path, seed=8)
    assert [r.first_token_s for r in again.requests] == [r.first_token_s for r in out.requests]
    assert [r.first_token_s for r in other.requests] != [r.first_token_s for r in out.requests]


def test_latency_dist_round_trips_and_is_checked():
    path = ServingPath(request_latency_s=0.002, latency_dist="exponential", shares_cores=False)
    assert servingpath.from_dict(path.as_dict()).latency_dist == "exponential"
    assert "latency_dist" not in ServingPath(request_latency_s=0.002).as_dict()  # fixed: profiles as before
    with pytest.raises(ValueError, match="latency_dist is one of fixed, exponential"):
        servingpath.from_dict({"request_latency_s": 0.002, "latency_dist": "gamma"})
