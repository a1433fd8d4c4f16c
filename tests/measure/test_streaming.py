"""Serving metrics from hand-built request records, checked against numbers worked out by hand with
vLLM's definitions (vllm/benchmarks/serve.py calculate_metrics). Pure: no vllm, no torch, no network."""

import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.serve.arrivals import arrival_offsets_s
from bench.measure.streaming import Slo, StreamedRequest, compute_serve_metrics, overhead_warning
from bench.analysis.slo import cheapest_meeting_slo, cost_of


def req(i, *, ttft, itl, out, prompt=10, start=0.0, overhead=0.0, ok=True, end=None):
    r = StreamedRequest(prompt_len=prompt, output_len=out, index=i, output_len_asked=out, start_s=start,
                        ttft_s=ttft, itl_s=list(itl), chunks=len(itl) + 1 if ttft is not None else 0,
                        client_overhead_s=overhead, success=ok)
    if ok:
        r.e2e_s = ttft + sum(itl)
    r.end_s = end if end is not None else start + (r.e2e_s or 0.1)
    r.finish()
    return r


@pytest.fixture
def three():
    """A: 4 tokens, TTFT 100 ms, gaps 20/30/50 ms -> E2E 200 ms, TPOT 100/3 ms.
    B: 2 tokens, TTFT 300 ms, gap 100 ms -> E2E 400 ms, TPOT 100 ms. C: failed after 0.1 s."""
    return [
        req(0, ttft=0.1, itl=[0.02, 0.03, 0.05], out=4, start=0.0, overhead=0.004),
        req(1, ttft=0.3, itl=[0.1], out=2, start=0.5, overhead=0.001),
        req(2, ttft=None, itl=[], out=0, start=1.0, ok=False, end=1.1),
    ]


def test_counts_and_throughput_use_successful_requests_over_the_duration(three):
    m = compute_serve_metrics(three, duration_s=2.0)
    assert (m["completed"], m["failed"], m["num_requests"]) == (2, 1, 3)
    assert m["input_tokens"] == 20 and m["output_tokens"] == 6
    assert m["requests_per_s"] == pytest.approx(1.0)
    assert m["output_tok_s"] == pytest.approx(3.0)
    assert m["total_tok_s"] == pytest.approx(13.0)
    assert m["elapsed_s"] == 2.0


def test_latency_percentiles_by_hand(three):
    m = compute_serve_metrics(three, duration_s=2.0)
    # TTFT over the two successes [100, 300] ms, linear interpolation
    assert m["ttft_p50_ms"] == pytest.approx(200.0)
    assert m["ttft_p90_ms"] == pytest.approx(280.0)
    assert m["ttft_p99_ms"] == pytest.approx(298.0)
    assert m["ttft_mean_ms"] == pytest.approx(200.0)
    # TPOT = (E2E - TTFT) / (tokens - 1): A 100/3, B 100
    assert m["tpot_p50_ms"] == pytest.approx((100 / 3 + 100) / 2)
    assert m["tpot_p99_ms"] == pytest.approx(100 / 3 + 0.99 * (100 - 100 / 3))
    # ITL pools every gap: [20, 30, 50, 100]
    assert m["itl_mean_ms"] == pytest.approx(50.0)
    assert m["itl_p50_ms"] == pytest.approx(40.0)
    assert m["itl_p99_ms"] == pytest.approx(50 + 0.97 * 50)
    # E2E [200, 400]
    assert m["e2e_p50_ms"] == pytest.approx(300.0) and m["e2e_p99_ms"] == pytest.approx(398.0)


def test_goodput_and_attainment(three):
    slo = Slo(ttft_ms=250, tpot_ms=50)  # A meets both; B's TTFT is 300 ms; C failed
    m = compute_serve_metrics(three, duration_s=2.0, slo=slo)
    assert m["goodput_req_s"] == pytest.approx(0.5)
    assert m["slo_attainment"] == pytest.approx(1 / 3)
    assert m["meets_slo"] is False
    # unsent requests (the time limit came first) count against attainment, not goodput
    m = compute_serve_metrics(three, duration_s=2.0, slo=slo, unsent=1)
    assert m["slo_attainment"] == pytest.approx(1 / 4) and m["goodput_req_s"] == pytest.approx(0.5)
    # a TTFT-only SLO: B's TPOT no longer matters, its TTFT still does
    m = compute_serve_metrics(three, duration_s=2.0, slo=Slo(ttft_ms=300, attainment=0.6))
    assert m["goodput_req_s"] == pytest.approx(1.0) and m["meets_slo"] is True


def test_no_slo_no_goodput(three):
    m = compute_serve_metrics(three, duration_s=2.0)
    assert m["goodput_req_s"] is None and m["meets_slo"] is None and m["slo_attainment"] is None


def test_one_token_output_has_no_tpot_and_counts_as_zero_for_goodput():
    r = req(0, ttft=0.05, itl=[], out=1)
    assert r.tpot_s is None
    m = compute_serve_metrics([r], duration_s=1.0, slo=Slo(ttft_ms=100, tpot_ms=1))
    assert m["tpot_p50_ms"] is None and m["goodput_req_s"] == 1.0


def test_mean_concurrency_is_littles_law(three):
    # in the system: A 0-0.2 s, B 0.5-0.9 s, C 1.0-1.1 s -> 0.7 s of requests over 2 s
    assert compute_serve_metrics(three, duration_s=2.0)["mean_concurrency"] == pytest.approx(0.35)


def test_client_overhead_against_the_median_itl(three):
    lag = [0.0001, 0.0002, 0.0003]
    m = compute_serve_metrics(three, duration_s=2.0, loop_lag_s=lag)
    # per token: A 4 ms / 4 chunks = 1 ms, B 1 ms / 2 chunks = 0.5 ms -> median 0.75 ms; lag median 0.2 ms
    assert m["client_overhead_per_token_ms"] == pytest.approx(0.75)
    assert m["client_loop_lag_p50_ms"] == pytest.approx(0.2)
    assert m["client_overhead_pct_itl"] == pytest.approx(100 * 0.75 / 40)
    assert overhead_warning(m) is None
    slow = [req(0, ttft=0.1, itl=[0.02, 0.03, 0.05], out=4, overhead=0.04)]  # 10 ms per token vs ITL 30 ms
    m = compute_serve_metrics(slow, duration_s=1.0)
    assert m["client_overhead_pct_itl"] == pytest.approx(100 * 10 / 30)
    assert "may be the bottleneck" in overhead_warning(m)


def test_bursty_delivery_falls_back_to_the_mean_itl():
    r = req(0, ttft=0.1, itl=[0.0, 0.0, 0.0, 0.08], out=5, overhead=0.005)  # 1 ms per chunk
    m = compute_serve_metrics([r], duration_s=1.0)
    assert m["itl_p50_ms"] == 0.0
    assert m["client_overhead_pct_itl"] == pytest.approx(100 * 1.0 / 20.0)


def test_bench_serve_never_imports_vllm_or_torch():
    code = ("import sys, bench.cli, bench.serve.session, bench.display.serve; bench.cli.build_parser(); "
            "print(sorted(m for m in ('vllm', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip() == "[]"


def test_poisson_arrivals_offer_exactly_the_rate():
    t = arrival_offsets_s(1000, 10.0, 1.0, seed=1)
    assert t == sorted(t) and t[-1] == pytest.approx(100.0)  # vLLM rescales: the last is sent at n / rate
    assert t == arrival_offsets_s(1000, 10.0, 1.0, seed=1) and t != arrival_offsets_s(1000, 10.0, 1.0, seed=2)


@pytest.mark.parametrize("burstiness", [0.25, 1.0, 4.0])
def test_burstiness_sets_the_spread_of_gaps(burstiness):
    t = arrival_offsets_s(20000, 5.0, burstiness, seed=3)
    gaps = [b - a for a, b in zip([0.0] + t, t)]
    mean = sum(gaps) / len(gaps)
    cv = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps)) / mean
    assert mean == pytest.approx(0.2, rel=1e-9)
    assert cv == pytest.approx(1 / math.sqrt(burstiness), rel=0.05)  # gamma(shape k): CV = 1/sqrt(k)


def test_infinite_rate_or_burstiness():
    assert arrival_offsets_s(3, math.inf) == [0.0, 0.0, 0.0]
    assert arrival_offsets_s(4, 2.0, math.inf) == pytest.approx([0.5, 1.0, 1.5, 2.0])
    with pytest.raises(ValueError):
        arrival_offsets_s(3, 0.0)


def test_cheapest_level_meeting_the_slo():
    rows = [
        {"run_id": "a", "status": "ok", "meets_slo": True, "cny_per_m_blended": 9.0},
        {"run_id": "b", "status": "ok", "meets_slo": True, "cny_per_m_blended": 4.0},
        {"run_id": "c", "status": "ok", "meets_slo": False, "cny_per_m_blended": 2.0},
        {"run_id": "d", "status": "timeout", "meets_slo": True, "cny_per_m_blended": 1.0},
    ]
    assert cheapest_meeting_slo(rows)["run_id"] == "b"
    assert cheapest_meeting_slo([r | {"meets_slo": None} for r in rows[:3]])["run_id"] == "c"  # no SLO: cheapest ok
    assert cheapest_meeting_slo([rows[2]]) is None
    assert cost_of({"cny_per_m_blended": None, "cny_per_m_total": 3.5}) == 3.5


def test_cost_split_uses_the_measured_requests_in_flight():
    from bench.cost.pricing import split_seconds

    row = {"elapsed_s": 10.0, "output_tokens": 1000, "completed": 10, "num_prompts": 10, "tpot_mean_ms": 20.0,
           "input_len": 100, "output_len": 100}
    # bench run: all 10 decode together -> 99 steps of 20 ms
    assert split_seconds(row) == pytest.approx((10.0 - 1.98, 1.98))
    # bench serve at 2 requests in flight on average: 495 steps of 20 ms
    assert split_seconds({**row, "mean_concurrency": 2.2}) == pytest.approx((0.1, 9.9))
