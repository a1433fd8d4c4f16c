"""`bench plan` in a market: every card listed whatever its prices, the market and tier in the first line, both
sides credited alike for prefix caching and batch traffic, and a refusal that names the real reason. Hand-computed
expected values; pure unit tests (no vllm or torch)."""

from __future__ import annotations

import json

import pytest

from bench.analysis import frontier, plan
from bench.analysis.frontier import Point, Slo
from bench.analysis.plan_points import Shape, cache_speedup, measured_point, prompt_chunks
from bench.results.schema import SCHEMA_VERSION
from tests.result_rows import write_rows
from tests.analysis.test_plan import measured_csv, run_plan

PLAN = ["--model", "qwen2.5-7b-instruct", "--traffic", "500M/day", "--as-of", "2026-12-01"]


def test_every_card_appears_and_a_card_without_a_price_says_how_to_give_one(capsys):
    code, out, err = run_plan(capsys, *PLAN, "--hardware", "H100-SXM,H20,L20,A100-40G-SXM", "--basis", "owned",
                              "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert [h["hardware"] for h in d["hardware"]] == ["H100-SXM", "H20", "L20", "A100-40G-SXM"]
    by = {h["hardware"]: h for h in d["hardware"]}
    # L20 has no purchase price: the owned headline uses its rental quote (AutoDL 3.87 CNY), labelled
    assert by["L20"]["prices"]["owned"]["cny_per_gpu_hour"] is None
    lines = d["notes"]
    assert any(line.startswith("L20: no owned price; the headline uses rental 3.87/GPU-h (owned: none; rental "
                               "on-demand: cn list price") for line in lines)
    assert by["L20"]["gpus"] >= 1
    # the 40 GB A100 has no price at all: one line says which is missing and how to give one
    a100 = next(line for line in lines if line.startswith("A100-40G-SXM: rental: none"))
    assert "pass --gpu-cny-per-hour A100-40G-SXM=X" in a100
    # the H20's owned price is its 8-card server's (1.4M CNY / 8 = 175,000) over 3 years + 400 W x 1.3 x 0.63:
    # 175,000 / 26,280 + 0.3276 = 6.986712 CNY per GPU-hour
    assert by["H20"]["prices"]["owned"]["cny_per_gpu_hour"] == pytest.approx(175_000 / 26_280 + 0.4 * 1.3 * 0.63)


def test_the_market_and_tier_lead_the_first_line_and_the_json(capsys):
    code, out, _ = run_plan(capsys, *PLAN, "--hardware", "H100-SXM")
    assert code == 0 and out.startswith("[China market, rental on-demand] cheapest: ")
    d = json.loads(run_plan(capsys, *PLAN, "--hardware", "H100-SXM", "--market", "global", "--format", "json")[1])
    assert (d["market"], d["rental_tier"], d["market_text"]) == ("global", "on-demand", "global market, rental "
                                                                                          "on-demand")
    assert d["verdict"].startswith("[global market, rental on-demand] ")
    # RunPod's list price: USD 2.69 x 7.2 = 19.368 CNY; China: 70,000 / 8 / 730 = 11.986301
    assert d["hardware"][0]["prices"]["rental"]["cny_per_gpu_hour"] == pytest.approx(19.368)
    cn = json.loads(run_plan(capsys, *PLAN, "--hardware", "H100-SXM", "--format", "json")[1])
    assert cn["hardware"][0]["prices"]["rental"]["cny_per_gpu_hour"] == pytest.approx(70_000 / 8 / 730)
    d = json.loads(run_plan(capsys, *PLAN, "--hardware", "H20", "--rental-tier", "china-cloud", "--market", "global",
                            "--format", "json")[1])
    assert (d["market"], d["rental_tier"]) == ("cn", "on-demand")  # china-cloud is the cn market's on-demand quote


def test_an_unknown_market_is_one_line_exit_2_and_nothing_written(capsys, tmp_path):
    out = tmp_path / "plan.csv"
    code, _, err = run_plan(capsys, *PLAN, "--hardware", "H20", "--market", "chian", "--out", str(out))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--market: unknown market 'chian'; did you mean china" in err
    assert not out.exists()


def test_cache_hits_credit_the_self_hosted_prefill_saved():
    # a row whose 10 s split 2 s prefill / 8 s decode: with 50% of prompt tokens cached the prefill work halves,
    # 10 / (10 - 0.5 x 2) = 1.1111x the tokens a second
    row = {"run_id": "r", "max_num_seqs": 8, "num_prompts": 64, "total_tok_s": 900.0, "elapsed_s": 10.0,
           "prefill_s": 2.0, "decode_s": 8.0, "ttft_p99_ms": 100.0, "tpot_p99_ms": 20.0}
    assert cache_speedup(row, 0.5) == pytest.approx(10 / 9)
    assert measured_point(row, 99, 1, 0.5).total_tok_s == pytest.approx(900 * 10 / 9)  # 1,000
    assert measured_point(row, 99, 1).total_tok_s == 900.0
    # a row that measured its own hits is not credited twice
    assert cache_speedup({**row, "prefix_cache_hit_rate": 0.3}, 0.5) == 1.0
    # a predicted step: batch 64 of 768-in / 256-out requests take 64 x 768 / 256 = 192 prompt tokens a step; with
    # 50% cached, 96 run, attending to 384 cached tokens; a first step runs 384 of the 768 (384 cached)
    assert prompt_chunks(64, Shape(768, 256), 0.5) == ([(96, 384)], [(384, 384)])
    assert prompt_chunks(64, Shape(768, 256)) == ([(192, 0)], [(768, 0)])
    assert prompt_chunks(64, Shape(768, 256), 1.0) == ([], [(1, 767)])  # the last prompt token always runs


def test_plan_cache_hit_rate_lowers_the_self_hosted_month_too(capsys):
    argv = [*PLAN, "--hardware", "RTX-4090", "--slo-tpot-ms", "50", "--format", "json"]
    base = json.loads(run_plan(capsys, *argv)[1])["hardware"][0]
    hit = json.loads(run_plan(capsys, *argv, "--cache-hit-rate", "0.6")[1])["hardware"][0]
    assert hit["replica_tok_s"] > base["replica_tok_s"]  # the prefill saved
    assert hit["cny_per_m"]["rental"] <= base["cny_per_m"]["rental"]


def test_the_batch_share_runs_at_the_cheapest_batch():
    """Points b8 1,000, b32 3,000, b128 6,000 tok/s; the targets hold to batch 32. Peak 12,000 tok/s (mean 6,000):
    no batch share, ceil(12,000 / 3,000) = 4 replicas; half of it batch: ceil(6,000 / 3,000) = 2 at the target +
    ceil(6,000 / 6,000) = 1 at batch 128, 3 replicas; utilisation 6,000 / (2 x 3,000 + 6,000) = 50%."""
    pts = [Point(8, 1000.0, 1, 50.0, 10.0, ref="b8"), Point(32, 3000.0, 1, 80.0, 30.0, ref="b32"),
           Point(128, 6000.0, 1, 400.0, 90.0, ref="b128")]
    op = frontier.at_slo(pts, Slo(tpot_ms=30))
    traffic = plan.Traffic(6000 * 86_400, (3, 1), peak_to_mean=2)
    assert plan.size_fleet(pts, op, traffic).gpus == 4
    f = plan.size_fleet(pts, op, traffic, batch_share=0.5)
    assert (f.replicas, f.batch_replicas, f.gpus, f.batch_point.ref) == (2, 1, 3, "b128")
    assert f.utilization_at_mean == pytest.approx(0.5)
    every = plan.size_fleet(pts, op, traffic, batch_share=1.0)  # all batch: ceil(12,000 / 6,000) = 2 replicas
    assert (every.replicas, every.batch_replicas, every.gpus) == (0, 2, 2)


def test_the_refusal_names_offline_ttft_and_the_fix(capsys, tmp_path):
    """Offline rows (every request at t=0) whose TTFT p99 is the wait for a batch slot: the plan says so. (Measured
    bench run rows: sim rows take served latencies from the simulated server instead, the next test.)"""
    rows = []
    for batch, tok_s, ttft in ((1, 100.0, 9_000.0), (16, 1_200.0, 12_000.0)):
        rows.append({"schema_version": SCHEMA_VERSION, "run_id": f"s{batch}", "timestamp": "2026-01-01T00:00:00+00:00",
                     "model": "qwen2.5-7b-instruct", "engine": "vllm", "device": "cuda", "device_name": "H100-SXM",
                     "status": "ok", "hardware": "H100-SXM", "input_len": 768, "output_len": 256, "num_prompts": 256,
                     "max_num_seqs": batch, "total_tok_s": tok_s, "ttft_p99_ms": ttft, "tpot_p99_ms": 20.0,
                     "ttft_p50_ms": ttft, "tpot_p50_ms": 20.0, "tensor_parallel_size": 1,
                     "pipeline_parallel_size": 1})
    path = write_rows(tmp_path / "sim.csv", rows)
    code, _, err = run_plan(capsys, str(path), *PLAN, "--hardware", "H100-SXM", "--slo-ttft-ms", "2000",
                            "--slo-tpot-ms", "50")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "the points of H100-SXM are offline rows (bench run, sweep or sim: every request submitted at t=0)" in err
    assert "give `bench serve` rows" in err and "relax the targets or add hardware" not in err


def test_predicted_latencies_are_labelled_served_predictions(capsys, tmp_path):
    code, out, _ = run_plan(capsys, *PLAN, "--hardware", "H20", "--slo-tpot-ms", "50", "--format", "markdown")
    assert code == 0 and "(served p99, predicted)" in out and "served p99 predicted" in out
    assert "H20: its latencies are served predictions: the simulated server (bench serve --engine sim)" in out
    code, out, _ = run_plan(capsys, str(measured_csv(tmp_path)), *PLAN, "--hardware", "H100-SXM",
                            "--slo-tpot-ms", "40", "--format", "markdown")
    assert code == 0 and "(p99)" in out
