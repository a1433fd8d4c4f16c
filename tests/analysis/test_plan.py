"""`bench plan`: operating point at an SLO, fleet for a traffic, monthly cost, vendor bills and
break-even, each against a hand computation written out. Pure unit tests (no vllm or torch)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from bench.analysis import frontier, plan
from bench.analysis.frontier import Point, Slo
from bench.analysis.plan_points import (Shape, batch_of, expected_label, expected_point, predicted_points,
                                        roofline_point, roofline_points)
from bench.results import cells
from bench.results.schema import SCHEMA_VERSION
from bench.cli import main
from tests.result_rows import write_rows

# Three measured batches of one replica (1 GPU): batch, tok/s, TTFT p99 ms, TPOT p99 ms.
POINTS = [Point(1, 100.0, 1, 50.0, 10.0, ref="b1"), Point(8, 600.0, 1, 80.0, 20.0, ref="b8"),
          Point(32, 1600.0, 1, 200.0, 60.0, ref="b32")]


def test_at_batch_is_linear_between_measured_batches_and_to_zero_below():
    # batch 20 lies 12/24 of the way from 8 to 32: 600 + 0.5 x 1000 = 1100 tok/s; TTFT 80 + 0.5 x 120 = 140
    p = frontier.at_batch(POINTS, 20)
    assert (p.total_tok_s, p.ttft_ms, p.tpot_ms) == pytest.approx((1100.0, 140.0, 40.0))
    # below batch 1: 100 tok/s x 0.5 / 1 = 50; latencies stay batch 1's
    half = frontier.at_batch(POINTS, 0.5)
    assert (half.total_tok_s, half.ttft_ms, half.tpot_ms) == pytest.approx((50.0, 50.0, 10.0))


def test_operating_point_interpolates_to_the_first_target_reached():
    # TPOT <= 40: between batch 8 (20 ms) and 32 (60 ms): 8 + (40 - 20) / (60 - 20) x 24 = 20
    op = frontier.at_slo(POINTS, Slo(tpot_ms=40))
    assert op.point.batch == pytest.approx(20) and op.binding == "TPOT" and op.between == ("b8", "b32")
    assert op.point.total_tok_s == pytest.approx(1100.0)
    # + TTFT <= 110: 8 + (110 - 80) / (200 - 80) x 24 = 14 comes first; 600 + 6/24 x 1000 = 850 tok/s
    op = frontier.at_slo(POINTS, Slo(ttft_ms=110, tpot_ms=40))
    assert (op.point.batch, op.binding, op.point.total_tok_s) == pytest.approx((14, "TTFT", 850.0))
    # no target: the largest batch measured
    assert frontier.at_slo(POINTS, Slo()).binding == "largest batch"
    # a target no point meets: None, and the closest point is batch 1 (TPOT 10 / 5 = 2x the target)
    assert frontier.at_slo(POINTS, Slo(tpot_ms=5)) is None
    assert frontier.best_available(POINTS, Slo(tpot_ms=5)).ref == "b1"


def test_front_keeps_points_no_other_beats_on_both_axes():
    # per user 1000/10 = 100, 50, 16.7 tok/s; per GPU 100, 600, 1600: each is best on one axis
    assert [p.ref for p in frontier.front(POINTS)] == ["b1", "b8", "b32"]
    worse = Point(16, 500.0, 1, 90.0, 30.0, ref="b16")  # slower per user AND per GPU than b8
    assert "b16" not in [p.ref for p in frontier.front(POINTS + [worse])]


@pytest.mark.parametrize("text,tokens_per_day", [
    ("500M/day", 5e8), ("120B", 1.2e11), ("120B/day", 1.2e11),
    ("2M req/day", 2e6 * 1024),  # 2M requests x (768 + 256) tokens
    ("30k tok/s", 30e3 * 86_400),  # 2.592e9
    ("1500 req/min", 1500 * 1440 * 1024),  # 2.21184e9
])
def test_parse_traffic(text, tokens_per_day):
    assert plan.parse_traffic(text, 1024) == pytest.approx(tokens_per_day)


@pytest.mark.parametrize("text", ["0/day", "lots", "5M/week", ""])
def test_parse_traffic_refuses(text):
    with pytest.raises(ValueError):
        plan.parse_traffic(text, 1024)


def test_fleet_for_a_traffic_sized_from_the_batch_it_fills():
    traffic = plan.Traffic(100e6, (3, 1), peak_to_mean=2, output_len=256)
    # 768 in + 256 out per request; mean 1e8 / 86,400 = 1,157.41 tok/s; peak 2,314.81
    assert (traffic.input_len, traffic.tokens_per_request) == (768, 1024)
    assert traffic.mean_tok_s == pytest.approx(1157.407, rel=1e-6)
    op = frontier.at_slo(POINTS, Slo(tpot_ms=40))  # 1,100 tok/s at batch 20
    f = plan.size_fleet(POINTS, op, traffic)
    # replicas ceil(2,314.81 / 1,100) = ceil(2.104) = 3; GPUs 3; servers ceil(3 / 8) = 1
    assert (f.replicas, f.gpus, f.servers) == (3, 3, 1)
    # each replica at the peak carries 2,314.81 / 3 = 771.6 tok/s: batch 8 + (771.6 - 600) / 500 x 12 = 12.12
    assert f.batch_at_peak == pytest.approx(8 + (2314.815 / 3 - 600) / 500 * 12, rel=1e-5)
    # at the mean 385.8 tok/s: batch 1 + (385.8 - 100) / 500 x 7 = 5.00
    assert f.batch_at_mean == pytest.approx(1 + (1157.407 / 3 - 100) / 500 * 7, rel=1e-5)
    # utilisation at the mean: 1,157.41 / (3 x 1,100) = 35.07%
    assert f.utilization_at_mean == pytest.approx(0.350729, rel=1e-5)
    # the latency users see at the peak is read at batch 12.12, not at the operating batch 20
    assert f.at_peak.tpot_ms == pytest.approx(20 + (f.batch_at_peak - 8) / 24 * 40, rel=1e-6)


def test_low_traffic_runs_a_small_batch():
    # 1M tokens/day: peak 23.1 tok/s on one replica, batch 1 x 23.15 / 100 = 0.23; utilisation 11.57 / 1100
    f = plan.size_fleet(POINTS, frontier.at_slo(POINTS, Slo(tpot_ms=40)), plan.Traffic(1e6, (3, 1), 2))
    assert f.replicas == 1 and f.batch_at_peak == pytest.approx(2e6 / 86_400 / 100, rel=1e-6)
    assert f.utilization_at_mean == pytest.approx(1e6 / 86_400 / 1100, rel=1e-6)


def test_monthly_cost_vendor_bill_and_break_even():
    traffic = plan.Traffic(100e6, (3, 1), 2)
    # 3 GPUs x 10 CNY x 730 h = 21,900 CNY; 1e8 x 30.4167 days = 3,041.67 M tokens -> 7.2 CNY/M
    assert plan.monthly_cny(3, 10.0) == pytest.approx(21_900)
    assert plan.cny_per_m_at(21_900, traffic.tokens_per_month) == pytest.approx(7.2)
    # a vendor at 0.8 / 2 CNY/M blended 3:1 = (2.4 + 2) / 4 = 1.1: 1.1 x 3,041.67 = 3,345.83 CNY a month
    assert plan.vendor_monthly_cny(1.1, traffic.tokens_per_month) == pytest.approx(3345.833, rel=1e-6)
    # one replica: 10 CNY/h, 1,100 tok/s = 3.96 M tokens/h -> 2.5253 CNY/M when always busy
    be = plan.break_even(10.0, 1100.0, 2, 1.1)
    # against 1.1: utilisation 2.5253 / 1.1 = 2.296 > 1 -> never; V* = 240 / 1.1 = 218.2M/day > 47.52M
    assert be.utilization == pytest.approx(2.295684, rel=1e-5) and be.tokens_per_day is None
    assert be.replica_tokens_per_day == pytest.approx(1100 * 86_400 / 2)  # 47.52M
    # against 20 CNY/M: V* = 10 x 24 x 1e6 / 20 = 12M tokens/day; utilisation 12M / (1100 x 86,400) = 12.63%
    be = plan.break_even(10.0, 1100.0, 2, 20.0)
    assert be.tokens_per_day == pytest.approx(12e6) and be.utilization == pytest.approx(0.126263, rel=1e-5)


def test_a_serve_row_batch_is_its_measured_concurrency():
    assert batch_of(cells.row({"mean_concurrency": "12.5", "concurrency": 16, "max_num_seqs": 256})) == 12.5
    assert batch_of(cells.row({"max_num_seqs": "64", "num_prompts": "16"})) == 16  # no more than the requests


def published_label() -> str:
    """How a point predicted with the published fit names itself (its name and band are the fit's)."""
    from bench.roofline import predict

    prof = predict.load_profile(None)
    return expected_label(prof.name, prof.band_low, prof.band_high)


def test_roofline_point_is_the_steady_state_step():
    from bench.config import catalog
    from bench.roofline import predict

    model = catalog.resolve_model("qwen2.5-7b-instruct")
    dep = predict.deployment({"dtype": "bfloat16"}, model.config, predict.require_gpu("H100-SXM"))
    p = roofline_point(dep, 8, Shape(768, 256))
    # each step: 8 decodes at context 768 + 128 = 896 and 8 x 768 / 256 = 24 prompt tokens
    step = dep.step(8, 8 * 896, [(24, 0)])
    assert p.tpot_ms == pytest.approx(step.time_s * 1e3)
    assert p.total_tok_s == pytest.approx(8 / step.time_s * 1024 / 256)  # output tok/s x (768 + 256) / 256
    assert p.ttft_ms == pytest.approx(dep.step(7, 7 * 896, [(768, 0)]).time_s * 1e3) and p.predicted


def half_speed_profile(band=(0.8, 2.5), hardware=None):
    """A profile whose every fraction is 0.5 and overheads 0: each expected step is exactly twice the bound's,
    max(memory / 0.5, compute / 0.5) = 2 max(memory, compute) (TP 1: no communication)."""
    from bench.roofline.efficiency import Efficiency
    from bench.roofline.profile import Profile

    half = Efficiency(bandwidth_fraction=0.5, compute_fraction=0.5, attention_efficiency=1.0, moe_efficiency=1.0)
    return Profile(name="half-speed", kind="user", parameters=half, band_low=band[0], band_high=band[1],
                   hardware=hardware)


def test_expected_point_is_the_bound_steps_timed_by_the_efficiency_model():
    from bench.config import catalog
    from bench.roofline import predict
    from bench.roofline.efficiency import Efficiency

    model = catalog.resolve_model("qwen2.5-7b-instruct")
    dep = predict.deployment({"dtype": "bfloat16"}, model.config, predict.require_gpu("H100-SXM"))
    bound = roofline_point(dep, 8, Shape(768, 256))
    # every fraction 0.5: twice the bound's step; tok/s half of it; TTFT and TPOT twice
    p = expected_point(dep, 8, Shape(768, 256), half_speed_profile().parameters, (0.8, 2.5), "half-speed")
    assert p.tpot_ms == pytest.approx(2 * bound.tpot_ms) and p.ttft_ms == pytest.approx(2 * bound.ttft_ms)
    assert p.total_tok_s == pytest.approx(bound.total_tok_s / 2) and p.bound_tok_s == pytest.approx(bound.total_tok_s)
    # band: 0.8 x expected = 0.4 x bound; 2.5 x expected = 1.25 x bound, capped at the bound
    assert p.band_low_tok_s == pytest.approx(0.4 * bound.total_tok_s)
    assert p.band_high_tok_s == pytest.approx(bound.total_tok_s)
    assert p.source == "predicted (calibration half-speed, band 0.8-2.5x)" and p.predicted
    # a fixed 5 ms a step on top of the roofline (fractions 1): TPOT = bound + 5 ms; tok/s = 8 x 4 / step
    step = Efficiency(step_overhead_s=0.005)
    q = expected_point(dep, 8, Shape(768, 256), step, (0.5, 1.5), "x")
    assert q.tpot_ms == pytest.approx(bound.tpot_ms + 5.0)
    assert q.total_tok_s == pytest.approx(8 / (q.tpot_ms / 1e3) * 1024 / 256)
    assert q.band_high_tok_s == pytest.approx(1.5 * q.total_tok_s)  # below the bound: not capped


def test_predicted_points_follow_the_profile_and_keep_the_bound_beside_them():
    from bench.config import catalog

    model = catalog.resolve_model("qwen2.5-7b-instruct")
    shape = Shape(768, 256)
    pts, note = predicted_points(model, "H100-SXM", shape, profile=half_speed_profile())
    bounds = roofline_points(model, "H100-SXM", shape)
    assert note == "" and [p.batch for p in pts] == [b.batch for b in bounds] and len(pts) >= 8
    for p, b in zip(pts, bounds):
        assert p.total_tok_s == pytest.approx(b.total_tok_s / 2) and p.bound_tok_s == pytest.approx(b.total_tok_s)
    # the published fit by default: its name in the label
    default, _ = predicted_points(model, "H100-SXM", shape, batches=(1, 8))
    assert default[0].source == published_label() and default[0].total_tok_s < default[0].bound_tok_s


def test_at_batch_interpolates_a_predictions_band_and_bound():
    lo = Point(8, 600.0, 1, 80.0, 20.0, source="p", band_low_tok_s=300.0, band_high_tok_s=900.0, bound_tok_s=1000.0)
    hi = Point(32, 1600.0, 1, 200.0, 60.0, source="p", band_low_tok_s=800.0, band_high_tok_s=2400.0,
               bound_tok_s=3000.0)
    # batch 20 is half-way: band 300 + 0.5 x 500 = 550 .. 900 + 0.5 x 1500 = 1650; bound 1000 + 0.5 x 2000 = 2000
    p = frontier.at_batch([lo, hi], 20)
    assert (p.band_low_tok_s, p.band_high_tok_s, p.bound_tok_s) == pytest.approx((550.0, 1650.0, 2000.0))
    # below batch 8, all scale with the batch: batch 4 = half of batch 8's
    q = frontier.at_batch([lo, hi], 4)
    assert (q.total_tok_s, q.band_low_tok_s, q.band_high_tok_s, q.bound_tok_s) == pytest.approx((300, 150, 450, 500))
    assert frontier.at_batch(POINTS, 20).bound_tok_s is None  # measured points have none


def test_predictions_raise_tp_until_the_model_fits():
    from bench.config import catalog

    lite = catalog.resolve_model("deepseek-v2-lite-chat")  # 15.7B x 2 bytes = 31.4 GB: not on one 24 GB RTX-4090
    pts, note = predicted_points(lite, "RTX-4090", Shape(768, 256))
    assert note == "" and pts and {p.gpus for p in pts} == {2}
    big = catalog.resolve_model("deepseek-v2-chat")  # 236B x 2 bytes = 472 GB > 8 x 24 GB
    pts, note = predicted_points(big, "RTX-4090", Shape(768, 256))
    assert pts == [] and "does not fit on RTX-4090 up to TP 8" in note


# -- the command ---------------------------------------------------------------------------------------

def measured_csv(tmp_path: Path) -> Path:
    """H100-SXM rows of qwen2.5-7b-instruct at batch 1, 8, 32 with the POINTS figures (as p99)."""
    rows = []
    for p in POINTS:
        rows.append({"schema_version": SCHEMA_VERSION, "run_id": p.ref, "timestamp": "2026-01-01T00:00:00+00:00",
                     "model": "qwen2.5-7b-instruct", "engine": "vllm", "device": "cuda", "status": "ok",
                     "hardware": "H100-SXM", "input_len": 768, "output_len": 256, "num_prompts": 64,
                     "max_num_seqs": int(p.batch), "total_tok_s": p.total_tok_s, "ttft_p99_ms": p.ttft_ms,
                     "tpot_p99_ms": p.tpot_ms, "ttft_p50_ms": p.ttft_ms, "tpot_p50_ms": p.tpot_ms,
                     "tensor_parallel_size": 1, "pipeline_parallel_size": 1})
    return write_rows(tmp_path / "h100.csv", rows)


def run_plan(capsys, *argv) -> tuple[int, str, str]:
    code = main(["plan", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plan_end_to_end_equals_the_hand_computation(capsys, tmp_path):
    csv_path = measured_csv(tmp_path)
    out_path = tmp_path / "plan.csv"
    code, out, err = run_plan(capsys, str(csv_path), "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM",
                              "--traffic", "100M/day", "--slo-tpot-ms", "40", "--gpu-cny-per-hour", "10",
                              "--vendors", "doubao-pro-32k", "--as-of", "2024-06-01", "--format", "json",
                              "--out", str(out_path))
    assert code == 0, err
    d = json.loads(out)
    h = d["hardware"][0]
    assert h["source"] == "measured" and h["operating_point_from"] == ["b8", "b32"]
    assert (h["replicas"], h["gpus"], h["servers"]) == (3, 3, 1)
    assert h["monthly_cny"]["rental"] == pytest.approx(21_900) and h["cny_per_m"]["rental"] == pytest.approx(7.2)
    v = d["vendors"][0]
    # doubao-pro-32k 0.8 / 2 -> 1.1 CNY/M; the peak 2,314.81 tok/s = 138,889 tokens and 135.6 requests a minute
    # need max(ceil(138,889 / 800,000), ceil(135.6 / 10,000)) = 1 key
    assert v["monthly_cny"] == pytest.approx(3345.833, rel=1e-6) and v["keys_needed"] == 1
    assert h["versus"]["doubao-pro-32k"]["breakeven_tokens_per_day"] is None  # never (hand-computed above)
    assert h["versus"]["doubao-pro-32k"]["self_over_vendor"] == pytest.approx(7.2 / 1.1)
    # 21,900 / 3,345.83 = 6.55: the vendor is cheapest
    assert d["verdict"] == ("[GPU-hours given on the command line] cheapest: ByteDance doubao-pro-32k (rate-limited) at "
                            "3,346 CNY/month, 6.55x cheaper (1 run: no interval) than self-host on 3 x H100-SXM "
                            "(measured) at 21,900")
    assert (d["market"], d["rental_tier"]) == ("cn", "on-demand")
    with out_path.open() as f:
        lines = list(csv.DictReader(f))
    assert len(lines) == 1 and float(lines[0]["monthly_cny"]) == pytest.approx(21_900)


def test_plan_table_labels_measured_and_predicted(capsys, tmp_path):
    code, out, err = run_plan(capsys, str(measured_csv(tmp_path)), "--model", "qwen2.5-7b-instruct",
                              "--hardware", "H100-SXM,H20", "--traffic", "100M/day", "--basis", "owned",
                              "--format", "markdown")
    assert code == 0, err
    assert "| H100-SXM | measured 768/256 |" in out and f"| H20 | {published_label()} 768/256 |" in out
    assert out.startswith("**[China market, owned] cheapest: ")  # the market and the basis in the first line


def test_like_for_like_vendors_by_default_all_on_request(capsys):
    argv = ["--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--traffic", "500M/day",
            "--as-of", "2025-06-01", "--format", "json"]
    d = json.loads(run_plan(capsys, *argv)[1])
    assert {v["model"].split(" ")[0] for v in d["vendors"]} == {"qwen2.5-7b-instruct", "qwen-turbo",
                                                                 "doubao-lite-32k", "deepseek-chat"}
    assert next(v for v in d["vendors"] if v["model"] == "qwen2.5-7b-instruct")["match"].startswith("same model")
    everyone = json.loads(run_plan(capsys, *argv, "--vendors", "all")[1])
    assert len(everyone["vendors"]) > 15
    free = next(v for v in everyone["vendors"] if v["model"] == "glm-4-flash")
    assert free["marks"] == "free, rate-limited" and free["monthly_cny"] == 0
    assert next(v for v in everyone["vendors"] if v["model"] == "doubao-pro-32k")["marks"] == "rate-limited"


def test_cache_hits_lower_the_vendor_bill(capsys):
    # deepseek-chat V2.5 on 2024-09-10: 1 / 0.1 (hit) / 2 CNY/M; 60% hits: input 0.6 x 0.1 + 0.4 x 1 = 0.46;
    # blended 3:1 (3 x 0.46 + 2) / 4 = 0.845 CNY/M
    d = json.loads(run_plan(capsys, "--model", "deepseek-v2-lite-chat", "--hardware", "H20", "--traffic",
                            "50M/day", "--vendors", "deepseek-chat", "--as-of", "2024-09-10", "--cache-hit-rate",
                            "0.6", "--basis", "owned", "--format", "json")[1])
    assert d["vendors"][0]["cny_per_m"] == pytest.approx(0.845)
    assert d["vendors"][0]["monthly_cny"] == pytest.approx(0.845 * 50 * 730 / 24)  # 50M x 30.4167 days


def test_internet_scale_is_sized(capsys):
    # how long it takes is scripts/plan_examples.py's figure (docs/plan.md), not a test
    code, out, err = run_plan(capsys, "--model", "qwen2.5-7b-instruct", "--hardware", "H20,H800-SXM", "--traffic",
                              "120B/day", "--basis", "owned", "--slo-tpot-ms", "50", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    h20 = d["hardware"][0]
    # peak 1.2e11 / 86,400 x 2 = 2,777,778 tok/s; replicas = ceil(peak / per replica)
    assert h20["replicas"] == -(-2_777_777.78 // h20["replica_tok_s"])
    assert h20["servers"] == -(-h20["gpus"] // 8)


@pytest.mark.parametrize("argv,message", [
    (["--model", "qwen2.5-7b", "--hardware", "H20", "--traffic", "1M/day"], "unknown model 'qwen2.5-7b'; did you mean"),
    (["--model", "qwen2.5-7b-instruct", "--hardware", "H2O", "--traffic", "1M/day"], "did you mean"),
    (["--model", "qwen2.5-7b-instruct", "--hardware", "H20", "--traffic", "0/day"], "--traffic: traffic must be above 0"),
    (["--model", "qwen2.5-7b-instruct", "--hardware", "H20", "--traffic", "lots"], "--traffic: expected a traffic"),
    (["--model", "qwen2.5-7b-instruct", "--hardware", "H20", "--traffic", "1M", "--mix", "3:0"], "needs output"),
    (["--model", "qwen2.5-7b-instruct", "--hardware", "H20", "--traffic", "1M", "--peak-to-mean", "0.5"],
     "--peak-to-mean: Input should be greater than or equal to 1"),
    (["--model", "qwen2.5-7b-instruct", "--hardware", "H20", "--traffic", "1M", "--vendors", "bytedanse"],
     "did you mean ByteDance"),
    (["--model", "qwen2.5-7b-instruct", "--hardware", "H20", "--traffic", "1M", "--as-of", "2020-01-01"],
     "before every known price"),
    (["--model", "qwen2.5-7b-instruct", "--hardware", "H20", "--traffic", "1M", "--slo-percentile", "90"],
     "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, message):
    out_path = tmp_path / "plan.csv"
    code, out, err = run_plan(capsys, *argv, "--out", str(out_path))
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out_path.exists()


def test_an_slo_no_point_meets_names_the_best_point(capsys, tmp_path):
    code, out, err = run_plan(capsys, str(measured_csv(tmp_path)), "--model", "qwen2.5-7b-instruct", "--hardware",
                              "H100-SXM", "--traffic", "1M/day", "--slo-tpot-ms", "5", "--slo-ttft-ms", "1000")
    assert code == 2 and err.count("\n") == 1
    assert ("meets TTFT p99 <= 1000 ms and TPOT p99 <= 5 ms; the best available: H100-SXM batch 1 (measured, b1): "
            "TTFT p99 50 ms, TPOT p99 10 ms") in err


def test_every_like_for_like_api_model_has_a_price():
    from bench.config import catalog
    from bench.config.prices import load_prices

    names = {p.model for p in load_prices().prices}
    wanted = {(m, api) for m, entry in catalog.load().models.items() for api, _ in
              catalog.from_entry(m, entry, catalog.catalog_path().parent).compare_with}
    assert wanted and [x for x in wanted if x[1] not in names] == []
    full = [m for m, e in catalog.load().models.items() if not e.tiny]
    assert [m for m in full if not catalog.load().models[m].compare_with] == []  # every full-size model has some


def test_every_model_compares_with_todays_rows_and_dates_the_retired_ones(capsys):
    """On the price book's newest day (the last row that starts), every full-size model has a like-for-like API model
    in force; an API name whose every row has ended (deepseek-chat, deepseek-reasoner: last day 2026-07-24) stays
    for the plans of earlier days, its basis giving that last day, and a plan of today says it was retired."""
    from bench.config import catalog
    from bench.config.prices import in_force, load_prices

    book = load_prices()
    newest = max(p.applies_from for p in book.prices if p.applies_from)
    now = {p.model for p in in_force(book, newest).prices}
    ends: dict[str, list] = {}
    for p in book.prices:
        ends.setdefault(p.model, []).append(p.applies_to)
    retired = {m: max(e) for m, e in ends.items() if None not in e}
    assert retired["deepseek-chat"] == retired["deepseek-reasoner"] == dt.date(2026, 7, 24)
    for name, entry in catalog.load().models.items():
        if entry.tiny:
            continue
        pairs = catalog.resolve_model(name).compare_with
        assert any(api in now for api, _ in pairs), name
        for api, basis in pairs:
            assert api not in retired or f"retired after {retired[api]}" in basis, (name, api)
    d = json.loads(run_plan(capsys, "--model", "deepseek-v3.2", "--hardware", "H200-SXM", "--traffic", "100M/day",
                            "--as-of", "2026-12-06", "--format", "json")[1])
    assert {v["model"].split(" ")[0] for v in d["vendors"]} == {"deepseek-flash", "deepseek-v4-pro", "qwen-max"}
    old = json.loads(run_plan(capsys, "--model", "deepseek-v3.2", "--hardware", "H200-SXM", "--traffic", "100M/day",
                              "--as-of", "2025-10-01", "--format", "json")[1])
    assert {v["model"].split(" ")[0] for v in old["vendors"]} == {"deepseek-chat", "deepseek-reasoner", "qwen-max"}
    code, out, _ = run_plan(capsys, "--model", "deepseek-v3.2", "--hardware", "H200-SXM", "--traffic", "100M/day",
                            "--as-of", "2026-12-06")
    assert code == 0 and ("deepseek-chat (like-for-like for deepseek-v3.2) was retired after 2026-07-24: no price in "
                          "force on 2026-12-06") in out


def priced_csv(tmp_path: Path) -> Path:
    """measured_csv's rows with what `bench cost` needs: 64 requests of 768 / 256 at the POINTS throughputs, each
    run's time split 1:3 between prefill and decode (input tokens are 3/4 of all: every token costs the same)."""
    rows = []
    for p in POINTS:
        elapsed = 64 * 1024 / p.total_tok_s
        rows.append({"schema_version": SCHEMA_VERSION, "run_id": p.ref, "timestamp": "2026-01-01T00:00:00+00:00",
                     "model": "qwen2.5-7b-instruct", "engine": "vllm", "device": "cuda", "status": "ok",
                     "hardware": "H100-SXM", "input_len": 768, "output_len": 256, "num_prompts": 64,
                     "completed": 64, "max_num_seqs": int(p.batch), "total_tok_s": p.total_tok_s, "elapsed_s": elapsed,
                     "input_tokens": 64 * 768, "output_tokens": 64 * 256, "prefill_s": elapsed * 0.75,
                     "decode_s": elapsed * 0.25, "ttft_p99_ms": p.ttft_ms, "tpot_p99_ms": p.tpot_ms,
                     "ttft_p50_ms": p.ttft_ms, "tpot_p50_ms": p.tpot_ms, "tensor_parallel_size": 1,
                     "pipeline_parallel_size": 1})
    return write_rows(tmp_path / "priced.csv", rows)


def test_cost_at_slo_interpolates_tokens_per_cny_between_batches(tmp_path):
    from bench.analysis.slo import cost_at_slo
    from bench.cost.pricing import CostOptions, self_cost
    from bench.results import typed

    _, rows = typed.read_rows(priced_csv(tmp_path))
    opts = CostOptions(gpu_cny_per_hour=10.0)
    found = cost_at_slo([(r, self_cost(r, opts)) for r in rows], Slo(tpot_ms=40))
    assert len(found) == 1 and found[0].op.between == ("b8", "b32")
    # 10 CNY/h: batch 8 at 600 tok/s buys 600 x 3,600 / 10 = 216,000 tokens per CNY, batch 32 at 1,600: 576,000;
    # at batch 20 (half way): 216,000 + 0.5 x 360,000 = 396,000 -> 1e6 / 396,000 = 2.525 CNY/M
    assert found[0].tokens_per_cny_blended == pytest.approx(396_000)
    assert found[0].cny_per_m_blended == pytest.approx(2.52525, rel=1e-5)


def test_bench_cost_with_an_slo(tmp_path, capsys):
    path = priced_csv(tmp_path)
    assert main(["cost", str(path), "--gpu-cny-per-hour", "10", "--as-of", "2025-06-01", "--slo-tpot-ms", "40"]) == 0
    out = capsys.readouterr().out
    assert "cost at the latency target (TPOT p99 <= 40 ms" in out and "b8 .. b32" in out and "2.53" in out
    assert main(["cost", str(path), "--gpu-cny-per-hour", "10", "--slo-tpot-ms", "4"]) == 2
    err = capsys.readouterr().err
    assert "no row meets TPOT p99 <= 4 ms; the best available: H100-SXM batch 1 (measured, b1)" in err


def test_measured_rows_of_the_traffics_shape_are_preferred():
    from bench.analysis.plan_build import closest_shapes

    # a 3:1 traffic: 768/256 (ratio 3) beats 128/64 (2) and 4096/256 (16)
    assert closest_shapes(["128/64", "768/256", "4096/256"], (3, 1)) == {"768/256"}
    assert closest_shapes(["?/?", "512/512"], (3, 1)) == {"512/512"}
    assert closest_shapes(["?/?"], (3, 1)) == {"?/?"}


def test_a_batch_share_and_off_peak_share_in_the_vendor_bill(capsys):
    # doubao-pro-32k 0.8 / 2 -> 1.1 CNY/M; 40% of tokens through the batch API at -50%: 1.1 x (1 - 0.4 x 0.5) = 0.88
    d = json.loads(run_plan(capsys, "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--traffic",
                            "100M/day", "--vendors", "doubao-pro-32k", "--as-of", "2024-06-01", "--batch-share", "0.4",
                            "--format", "json")[1])
    v = d["vendors"][0]
    assert v["cny_per_m"] == pytest.approx(0.88) and v["terms"] == "40% batch -50%"


def test_a_trace_gives_the_mix_volume_and_peak_to_mean():
    # three hours of requests: hour 0 has 2 requests of 300 in / 100 out, hour 1 one, hour 2 three; the last at
    # 3 h 0 s (span 10,800 s: three whole hours)
    recs = [(0, 300, 100), (1800, 300, 100), (3600, 300, 100), (7200, 300, 100), (7300, 300, 100),
            (10_800, 300, 100)]
    t = plan.trace_summary(recs)
    # mix 1,800 : 600 = 3:1; mean output 100; 2,400 tokens over 10,800 s -> 2,400 / 10,800 x 86,400 = 19,200 a day
    assert t.mix == (3.0, 1.0) and t.output_len == 100 and t.tokens_per_day == pytest.approx(19_200)
    # hours 0, 1, 2 hold 800, 400, 800 tokens (the request at 10,800 s starts hour 3, left out): peak 800 / 666.7
    assert t.peak_to_mean == pytest.approx(800 / (2000 / 3))
    untimed = plan.trace_summary([(None, 10, 5), (None, 20, 5)])
    assert untimed.tokens_per_day is None and untimed.mix == (3.0, 1.0) and untimed.output_len == 5
    with pytest.raises(ValueError):
        plan.trace_summary([])


def test_plan_from_a_trace(capsys, tmp_path):
    trace = tmp_path / "trace.jsonl"
    # 3 hours of 300-in / 100-out requests as above: 19,200 tokens a day, mix 3:1, peak-to-mean 1.2
    trace.write_text("".join(json.dumps({"timestamp": t, "prompt_tokens": 300, "completion_tokens": 100}) + "\n"
                             for t in (0, 1800, 3600, 7200, 7300, 10_800)))
    d = json.loads(run_plan(capsys, "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--trace", str(trace),
                            "--format", "json")[1])
    t = d["traffic"]
    assert t["tokens_per_day"] == pytest.approx(19_200) and t["mix"] == "3:1" and t["output_len"] == 100
    assert t["peak_to_mean"] == pytest.approx(1.2)
    # a typed option wins over the trace
    d = json.loads(run_plan(capsys, "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--trace", str(trace),
                            "--traffic", "1B/day", "--peak-to-mean", "3", "--format", "json")[1])
    assert (d["traffic"]["tokens_per_day"], d["traffic"]["peak_to_mean"]) == (1e9, 3)
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt,answer\n1,2\n")
    code, _, err = run_plan(capsys, "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--trace", str(bad))
    assert code == 2 and "request 1 lacks input and output token counts" in err and err.count("\n") == 1
    code, _, err = run_plan(capsys, "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM")
    assert code == 2 and "--traffic is required" in err


def test_a_card_that_cannot_meet_the_targets_says_so_beside_one_that_can(capsys, tmp_path):
    # measured H100-SXM meets TPOT <= 12 ms at batch 1 + (12 - 10) / (20 - 10) x 7 = 2.4; the predicted
    # RTX-4090's batch-1 TPOT bound is above 12 ms (14.14 GB of weights at 1.008 TB/s alone take 14.0 ms)
    code, out, err = run_plan(capsys, str(measured_csv(tmp_path)), "--model", "qwen2.5-7b-instruct", "--hardware",
                              "H100-SXM,RTX-4090", "--traffic", "1M/day", "--slo-tpot-ms", "12", "--format",
                              "markdown")
    assert code == 0, err
    assert "| H100-SXM | measured 768/256 | 1 | 2.4 (TPOT, interpolated) |" in out
    assert f"| RTX-4090 | {published_label()} 768/256 | - | does not meet the targets; best: RTX-4090 batch 1" in out


def test_json_output_is_strict_json_with_a_free_vendor(capsys):
    out = run_plan(capsys, "--model", "glm-4-9b-chat", "--hardware", "H100-SXM", "--traffic", "10M/day",
                   "--as-of", "2025-06-01", "--format", "json")[1]
    d = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    flash = d["hardware"][0]["versus"]["glm-4-flash"]
    assert flash["breakeven_utilization"] == "inf" and flash["breakeven_tokens_per_day"] is None


def test_plan_with_a_profile_sizes_on_the_expected_value_and_shows_the_bound(capsys, tmp_path):
    from bench.roofline import profile

    prof_path = tmp_path / "half.yaml"
    profile.save(half_speed_profile(hardware="CPU"), prof_path)
    out_csv = tmp_path / "plan.csv"
    argv = ["--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--traffic", "2B/day", "--gpu-cny-per-hour",
            "10", "--profile", str(prof_path), "--vendors", "qwen2.5-7b-instruct", "--as-of", "2025-06-01"]
    code, out, err = run_plan(capsys, *argv, "--format", "json", "--out", str(out_csv))
    assert code == 0, err
    hw = json.loads(out)["hardware"][0]
    assert hw["source"] == "predicted (calibration half-speed, band 0.8-2.5x)"
    assert "calibration half-speed was fitted on CPU, not H100-SXM" in hw["note"]
    # no SLO: both run their largest batch; the expected replica carries half the bound's tokens/s
    bound = hw["bound"]
    assert hw["batch_at_slo"] == bound["batch_at_slo"]
    assert hw["replica_tok_s"] == pytest.approx(bound["replica_tok_s"] / 2)
    # peak 2e9 / 86,400 x 2 = 46,296 tok/s; the bound carries more than that on one H100 (1 GPU), the expected
    # value (half of it) on 2: 2 x 10 CNY x 730 h = 14,600 CNY a month; 2e9 x 30.4167 = 60,833M tokens a month
    # -> 14,600 / 60,833 = 0.24 CNY/M; at the bound 7,300 -> 0.12
    assert 46_296.3 / 2 < hw["replica_tok_s"] < 46_296.3 < bound["replica_tok_s"]
    assert (hw["gpus"], hw["monthly_cny"]["rental"], hw["cny_per_m"]["rental"]) == (2, 14_600, pytest.approx(0.24))
    assert (bound["gpus"], bound["cny_per_m"]) == (1, pytest.approx(0.12))
    # the band: high end 2.5 x expected = 1.25 x bound, capped at the bound -> 1 GPU; low end 0.8 x expected
    # = 0.4 x bound < 46,296 / 2 (the bound is below 115,741) -> 2 GPUs
    assert hw["band"]["replica_tok_s"] == pytest.approx([0.4 * bound["replica_tok_s"], bound["replica_tok_s"]])
    assert hw["band"]["gpus"] == [1, 2] and hw["band"]["cny_per_m"] == pytest.approx([0.12, 0.24])
    with out_csv.open() as f:
        line = next(csv.DictReader(f))
    assert (line["bound_gpus"], line["cny_per_m_band_low"], line["source"]) == ("1", "0.12", hw["source"])
    # the table: the label, the band beside each predicted figure, the bound's plan in its own column
    code, out, err = run_plan(capsys, *argv, "--format", "markdown")
    assert (f"| H100-SXM | {hw['source']} 768/256 | 1 | 1,024 (largest batch) | "
            f"{hw['replica_tok_s']:,.0f} (band {0.4 * bound['replica_tok_s']:,.0f}-{bound['replica_tok_s']:,.0f}) | "
            "2 (2, 1) (band 1-2) |") in out
    assert "| 0.24 (band 0.12-0.24) |" in out
    assert f"| batch 1,024, {bound['replica_tok_s']:,.0f} tok/s, 1 GPU, 0.12 CNY/M |" in out


def test_plan_with_a_bad_profile_says_so(capsys, tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("name: x\nparameters: {bandwidth_fraction: 7}\n")
    code, out, err = run_plan(capsys, "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--traffic",
                              "1M/day", "--profile", str(bad))
    assert code == 2 and out == "" and f"--profile {bad}: efficiency parameter bandwidth_fraction" in err
    code, out, err = run_plan(capsys, "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--traffic",
                              "1M/day", "--profile", str(tmp_path / "none.yaml"))
    assert code == 2 and "no such file" in err and len(err.strip().splitlines()) == 1


def sim_csv(tmp_path):
    """priced_csv's rows as `bench run --engine sim` rows timed by the published fit, each at half the bound's speed."""
    from bench.results import store

    rows = store.read_rows(priced_csv(tmp_path))
    for r in rows:
        out = float(r["total_tok_s"]) * 256 / 1024
        r.update(engine="sim", device="sim", device_name="H100-SXM", engine_version="roofline-3+published-fit-3",
                 prediction_calibration="published-fit-3", output_tok_s=out, roofline_output_tok_s=2 * out)
    return write_rows(tmp_path / "sim.csv", rows)


def rows_own_latencies(monkeypatch):
    """Sim rows keep their own TTFT / TPOT, as a row the simulated server cannot rebuild does (plan_points.
    served_row_latencies_ms returns None): the tests of labels and interpolation on hand-made sim rows."""
    from bench.analysis import plan_points

    monkeypatch.setattr(plan_points, "served_row_latencies_ms", lambda *a, **k: None)


def test_plan_labels_sim_rows_predicted_and_puts_measured_rows_first(capsys, tmp_path, monkeypatch):
    rows_own_latencies(monkeypatch)
    argv = ["--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--traffic", "100M/day", "--slo-tpot-ms", "40",
            "--gpu-cny-per-hour", "10", "--format", "json"]
    sims = sim_csv(tmp_path)
    code, out, err = run_plan(capsys, str(sims), *argv)
    hw = json.loads(out)["hardware"][0]
    # the sim rows' points (batch 20 at TPOT 40 ms, 1,100 tok/s as measured_csv's): labelled, no band of their own
    assert code == 0 and hw["source"] == "predicted (calibration published-fit-3)" and "band" not in hw
    assert hw["batch_at_slo"] == pytest.approx(20) and hw["replica_tok_s"] == pytest.approx(1100)
    code, out, err = run_plan(capsys, str(sims), str(measured_csv(tmp_path)), *argv)
    assert json.loads(out)["hardware"][0]["source"] == "measured"


def test_a_latency_target_at_p99_reads_the_95pct_bound_where_the_row_has_one():
    from bench.analysis.plan_points import latency_at

    row = {"ttft_p99_ms": 80.0, "ttft_p99_bound_ms": 95.0, "ttft_p50_ms": 40.0, "tpot_p99_ms": 9.0,
           "tpot_p99_bound_ms": None}  # typed, as results are read back
    assert latency_at(row, "ttft", 99) == 95.0  # the bound, not the point estimate
    assert latency_at(row, "tpot", 99) == 9.0  # under 299 requests: no bound, the p99 stands
    assert latency_at(row, "ttft", 50) == 40.0


def test_a_searchs_boundary_is_the_replicas_capacity(capsys, tmp_path):
    """Beside the three offline rows, a --find-max-load search for TPOT <= 40 ms: its boundary level carried 700
    tok/s. Without it the plan would run batch 20 at 1,100 tok/s (interpolated, test above)."""
    csv_path = measured_csv(tmp_path)
    base = {"schema_version": SCHEMA_VERSION, "timestamp": "2026-01-01T00:00:00+00:00", "model": "qwen2.5-7b-instruct",
            "engine": "vllm-server", "device": "cuda", "status": "ok", "hardware": "H100-SXM", "input_len": 768,
            "output_len": 256, "num_prompts": 400, "tensor_parallel_size": 1, "pipeline_parallel_size": 1,
            "load_mode": "rate", "slo_tpot_ms": 40.0}
    rows = [{**base, "run_id": "s1", "request_rate": 1.0, "mean_concurrency": 6.0, "total_tok_s": 500.0,
             "tpot_p99_bound_ms": 30.0, "search_step": 1, "search_passed": True, "slo_boundary": False},
            {**base, "run_id": "s3", "request_rate": 1.5, "mean_concurrency": 9.0, "total_tok_s": 700.0,
             "tpot_p99_bound_ms": 39.0, "search_step": 3, "search_passed": True, "slo_boundary": True},
            {**base, "run_id": "s2", "request_rate": 2.0, "mean_concurrency": 14.0, "total_tok_s": 800.0,
             "tpot_p99_bound_ms": 55.0, "search_step": 2, "search_passed": False, "slo_boundary": False}]
    serve_csv = write_rows(tmp_path / "serve.csv", rows)
    code, out, err = run_plan(capsys, str(csv_path), str(serve_csv), "--model", "qwen2.5-7b-instruct", "--hardware",
                              "H100-SXM", "--traffic", "100M/day", "--slo-tpot-ms", "40", "--gpu-cny-per-hour", "10",
                              "--vendors", "doubao-pro-32k", "--as-of", "2024-06-01", "--format", "json")
    assert code == 0, err
    h = json.loads(out)["hardware"][0]
    # peak 2,314.81 tok/s (the test above) over 700 tok/s a replica: ceil(3.307) = 4 replicas, 4 GPUs, 1 server;
    # 4 x 10 CNY x 730 h = 29,200 CNY a month
    assert h["operating_point_from"] == ["s3"] and h["replica_tok_s"] == pytest.approx(700.0)
    assert (h["replicas"], h["gpus"], h["servers"]) == (4, 4, 1) and h["monthly_cny"]["rental"] == pytest.approx(29_200)
    assert h["binding"] == "SLO boundary (bench serve --find-max-load)"
    # another target than the search's (TPOT <= 50 ms): the boundary does not answer it, the front is read as before
    code, out, err = run_plan(capsys, str(csv_path), str(serve_csv), "--model", "qwen2.5-7b-instruct", "--hardware",
                              "H100-SXM", "--traffic", "100M/day", "--slo-tpot-ms", "50", "--gpu-cny-per-hour", "10",
                              "--vendors", "doubao-pro-32k", "--as-of", "2024-06-01", "--format", "json")
    assert code == 0, err
    h = json.loads(out)["hardware"][0]
    # the points by batch: 1 (TPOT 10), 6 (30), 8 (20), 9 (39), 14 (55), 32 (60); TPOT 50 is reached between
    # batch 9 and 14 at 9 + (50 - 39) / (55 - 39) x 5 = 12.44, where 700 + (800 - 700) x 3.4375 / 5 = 768.75 tok/s
    assert h["operating_point_from"] == ["s3", "s2"] and h["replica_tok_s"] == pytest.approx(768.75)
