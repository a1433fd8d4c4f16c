"""bench serve --engine sim: the simulated server's rows, its bad input, and bench plan on sim rows (no vllm, no GPU).
Hand-computed where the figure is arithmetic; the rows are checked against what a measured level's row holds."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.results import store as results
from bench.results.schema import SCHEMA_VERSION, names_of, SERVE
from bench.serve import session as sweep
from tests.result_rows import write_rows

SIM = ["serve", "--engine", "sim", "--hardware", "H100-SXM", "--model", "qwen2.5-7b-instruct", "--input-len", "512",
       "--output-len", "32", "--num-prompts", "32"]


@pytest.fixture
def no_server(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the simulated server starts no vLLM server")

    monkeypatch.setattr(sweep, "VllmServer", refuse)


def test_a_closed_loop_level_writes_a_measured_levels_columns_marked_predicted(tmp_path, capsys, no_server):
    """Concurrency 1: every request alone, so its TTFT is one prefill step of its 512 tokens (the server's budget
    8,192 holds it whole) and every request's alike; 32 requests, each TTFT + 31 decode steps."""
    from bench.config import catalog
    from bench.roofline import efficiency, predict

    out = tmp_path / "sim.csv"
    assert main([*SIM, "--concurrency", "1", "--slo-ttft-ms", "500", "--out", str(out)]) == 0, capsys.readouterr().err
    (row,) = results.read_rows(out)
    assert list(row) == list(results.COLUMNS)
    assert (row["engine"], row["device"], row["device_name"], row["load_mode"]) == ("sim", "sim", "H100-SXM",
                                                                                      "concurrency")
    prof = predict.load_profile(None)
    assert row["engine_version"] == f"roofline-3+{prof.name}" and row["prediction_calibration"] == prof.name
    m = catalog.resolve_model("qwen2.5-7b-instruct")
    dep = predict.deployment({"dtype": m.dtype}, m.config, predict.require_gpu("H100-SXM"))
    prefill_ms = float(efficiency.step_time_s(dep.step_cost(0, 0, [(512, 0)]), dep.machine,
                                              prof.efficiency_for("vllm"))) * 1e3
    assert float(row["ttft_p50_ms"]) == pytest.approx(prefill_ms) == pytest.approx(float(row["ttft_p99_ms"]))
    assert row["completed"] == "32" and row["status"] == "ok" and row["warmup_requests"] == "0"
    # the band around output tok/s, as a sim run row's: the calibration's low and high shares
    tok_s = float(row["output_tok_s"])
    assert float(row["predicted_band_low_tok_s"]) == pytest.approx(tok_s * prof.band_low)
    assert float(row["predicted_capacity_req_s"]) > float(row["requests_per_s"])
    # the latencies at the band's edges: at one stream every time of the level scales with the steps, so TTFT p99 is
    # the prefill step / band high (fast edge) and / band low (slow edge); TPOT p99 likewise
    assert float(row["predicted_band_low_ttft_p99_ms"]) == pytest.approx(prefill_ms / prof.band_high)
    assert float(row["predicted_band_high_ttft_p99_ms"]) == pytest.approx(prefill_ms / prof.band_low)
    tpot = float(row["tpot_p99_ms"])
    assert float(row["predicted_band_low_tpot_p99_ms"]) == pytest.approx(tpot / prof.band_high)
    assert float(row["predicted_band_high_tpot_p99_ms"]) == pytest.approx(tpot / prof.band_low)
    assert prof.band_low < 1 < prof.band_high
    # every figure a measured level carries is filled (the server's gauges aside: none to scrape)
    for col in ("ttft_mean_ms", "ttft_p90_ms", "tpot_p50_ms", "tpot_p99_ms", "itl_p50_ms", "itl_p99_ms", "e2e_p50_ms",
                "e2e_mean_ms", "goodput_req_s", "slo_attainment", "output_tok_s", "mean_concurrency"):
        assert row[col] not in ("", None), col
    assert set(names_of(SERVE)) <= set(row)
    record = json.loads((tmp_path / "sim" / f"{row['run_id']}.json").read_text())
    assert len(record["requests"]) == 32 and record["sim"]["max_num_batched_tokens"] == 8192


def test_a_rate_level_is_seeded_like_the_real_serve(tmp_path, capsys, no_server):
    """The same seed, the same send times (bench.serve.arrivals), the same figures; a level of 4 req/s sends 32
    requests over 32 / 4 = 8 s."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (a, b):
        assert main([*SIM, "--request-rate", "4", "--burstiness", "0.5", "--out", str(path)]) == 0
    (ra,), (rb,) = results.read_rows(a), results.read_rows(b)
    assert ra["ttft_p99_ms"] == rb["ttft_p99_ms"] and ra["request_rate"] == "4.0" and ra["burstiness"] == "0.5"
    assert float(ra["elapsed_s"]) > 8.0


def test_a_rate_within_capacity_but_beyond_it_at_the_bands_slow_edge_has_an_unbounded_high_ttft(tmp_path, capsys,
                                                                                                  no_server):
    """The published fit's band reaches down to band_low (< 1) of the predicted throughput: the capacity at the slow
    edge is band_low x the capacity (every step 1 / band_low as long). A rate at 0.95 of the capacity is served,
    but above band_low x capacity its slow edge's TTFT p99 is inf (the queue would grow without bound there); a
    rate at 0.3 of the capacity has a finite one, above the row's own TTFT p99."""
    from bench.roofline import predict

    band_low = predict.load_profile(None).band_low
    assert band_low < 0.9
    first = tmp_path / "c1.csv"
    assert main([*SIM, "--concurrency", "1", "--out", str(first)]) == 0, capsys.readouterr().err
    capacity = float(results.read_rows(first)[0]["predicted_capacity_req_s"])
    out = tmp_path / "rates.csv"
    rates = f"{0.3 * capacity:.4g},{0.95 * capacity:.4g}"
    capsys.readouterr()
    assert main([*SIM, "--rates", rates, "--out", str(out)]) == 0, capsys.readouterr().err
    printed = " ".join(capsys.readouterr().out.split())
    assert f"with every engine step at the edges of {predict.load_profile(None).name}'s band:" in printed
    assert "ms-unbounded (above the capacity there)" in printed
    light, heavy = results.read_rows(out)
    assert heavy["status"] == "ok" and heavy["predicted_band_high_ttft_p99_ms"] == "inf"
    assert float(light["predicted_band_high_ttft_p99_ms"]) > float(light["ttft_p99_ms"]) > \
        float(light["predicted_band_low_ttft_p99_ms"]) > 0
    assert float(heavy["predicted_band_high_tpot_p99_ms"]) > float(heavy["tpot_p99_ms"])


def test_a_band_wholly_below_the_prediction_can_leave_both_edges_unbounded(tmp_path, capsys, no_server):
    """A calibration whose held-out rows all ran slower than predicted (band 0.5-0.8: steps x 1.25 at the fast
    edge, x 2 at the slow one): the capacity there is 0.8 and 0.5 of the prediction's. At 0.7 of the capacity the
    fast edge is finite and the slow one unbounded; at 0.9 both are."""
    import yaml

    from bench.roofline import profile as profiles

    raw = yaml.safe_load(profiles.PUBLISHED_FILE.read_text())
    raw.update(name="slow-band", kind="user", band={"low": 0.5, "high": 0.8})
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(raw))
    first = tmp_path / "c1.csv"
    assert main([*SIM, "--profile", str(path), "--concurrency", "1", "--out", str(first)]) == 0, \
        capsys.readouterr().err
    capacity = float(results.read_rows(first)[0]["predicted_capacity_req_s"])
    out = tmp_path / "rates.csv"
    capsys.readouterr()
    assert main([*SIM, "--profile", str(path), "--rates", f"{0.7 * capacity:.4g},{0.9 * capacity:.4g}", "--out",
                 str(out)]) == 0, capsys.readouterr().err
    printed = " ".join(capsys.readouterr().out.split())
    assert "TTFT p99 unbounded at both edges (above the capacity there)" in printed and "inf ms" not in printed
    mid, high = results.read_rows(out)
    assert mid["predicted_band_high_ttft_p99_ms"] == "inf" and float(mid["predicted_band_low_ttft_p99_ms"]) > \
        float(mid["ttft_p99_ms"])
    assert high["predicted_band_low_ttft_p99_ms"] == high["predicted_band_high_ttft_p99_ms"] == "inf"


@pytest.mark.parametrize("args,needle", [
    (["--request-rate", "500"], "is more than H100-SXM x1 can sustain: its capacity for these requests is about"),
    (["--rates", "1,500"], "the queue would grow without bound"),
    (["--endpoint", "http://127.0.0.1:8000"], "--engine sim simulates a server on --hardware"),
    (["--num-prompts", "300", "--find-max-load"], "--find-max-load needs a latency target"),
])
def test_bad_sim_serve_input(tmp_path, capsys, no_server, args, needle):
    path = tmp_path / "serve.csv"
    code = main([*SIM, *args, "--out", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1, err
    assert not path.exists()  # no row, not even the sustainable level's


def test_sim_without_hardware_and_a_trace_without_timestamps(tmp_path, capsys, no_server):
    path = tmp_path / "serve.csv"
    assert main(["serve", "--engine", "sim", "--model", "tiny-qwen2", "--out", str(path)]) == 2
    err = capsys.readouterr().err
    assert "--engine sim needs --hardware NAME" in err and err.count("\n") == 1
    trace = tmp_path / "t.csv"
    trace.write_text("input_len,output_len\n40,8\n64,16\n")
    assert main(["serve", "--engine", "sim", "--hardware", "H100-SXM", "--model", "tiny-qwen2", "--dataset",
                 f"trace:{trace}", "--out", str(path)]) == 2
    err = capsys.readouterr().err
    assert "no timestamp column" in err and err.count("\n") == 1 and not path.exists()


def sim_rows(tmp_path):
    """bench run --engine sim rows of Qwen2.5-7B on an H100 at batches 1/16/64/256, 768 in / 256 out, with the
    offline TTFT p99 they carry (every request at t=0: 5-270 s of waiting for a batch slot)."""
    rows = []
    for batch, tok_s, ttft in ((1, 482.0, 271_000.0), (16, 6_496.0, 19_000.0), (64, 17_309.0, 6_500.0),
                               (256, 29_356.0, 5_010.0)):
        rows.append({"schema_version": SCHEMA_VERSION, "run_id": f"s{batch}", "timestamp": "2026-01-01T00:00:00+00:00",
                     "model": "qwen2.5-7b-instruct", "engine": "sim", "device": "sim", "device_name": "H100-SXM",
                     "engine_version": "roofline-3+published-fit-3", "prediction_calibration": "published-fit-3",
                     "status": "ok", "hardware": "H100-SXM", "input_len": 768, "output_len": 256, "num_prompts": 256,
                     "max_num_seqs": batch, "total_tok_s": tok_s, "output_tok_s": tok_s / 4, "ttft_p99_ms": ttft,
                     "tpot_p99_ms": 20.0, "ttft_p50_ms": ttft, "tpot_p50_ms": 20.0, "tensor_parallel_size": 1,
                     "pipeline_parallel_size": 1, "dtype": "bfloat16", "kv_cache_dtype": "auto"})
    return write_rows(tmp_path / "sim.csv", rows)


def test_plan_on_sim_rows_plans_a_fleet_with_served_latencies(tmp_path, capsys):
    """TTFT p99 <= 2 s and TPOT p99 <= 50 ms: the rows' offline TTFTs all miss it (the plan used to refuse), their
    served predictions (a closed loop at each batch) meet it at batch 1, 16 and 64."""
    from tests.analysis.test_plan import run_plan

    code, out, err = run_plan(capsys, str(sim_rows(tmp_path)), "--model", "qwen2.5-7b-instruct", "--hardware",
                              "H100-SXM", "--traffic", "500M/day", "--slo-ttft-ms", "2000", "--slo-tpot-ms", "50",
                              "--as-of", "2026-12-01", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    hw = d["hardware"][0]
    assert hw["gpus"] >= 1 and hw["batch_at_slo"] >= 64
    assert any("its latencies are served predictions: the simulated server" in n for n in d["notes"])


def test_the_level_measurer_of_a_search_gives_a_levels_figures_and_flags_an_unsustainable_rate():
    """The callable a load search uses: the same figures as the row of that level; above capacity, no figures."""
    from bench.config.serve import Level, parse
    from bench.serve import resolve
    from bench.serve.simulated import level_measurer

    cfg, model, _ = resolve.resolve(parse({"engine": "sim", "hardware": "H100-SXM", "model": "qwen2.5-7b-instruct",
                                           "input_len": 512, "output_len": 32, "num_prompts": 32}))
    measure = level_measurer(cfg, model)
    one = measure(Level("concurrency", 1))
    assert one["sustainable"] and one["completed"] == 32 and one["ttft_p99_ms"] == pytest.approx(one["ttft_p50_ms"])
    over = measure(Level("rate", 10 * one["predicted_capacity_req_s"]))
    assert over == {"sustainable": False, "predicted_capacity_req_s": one["predicted_capacity_req_s"]}


SEARCH = [*SIM, "--num-prompts", "300", "--find-max-load"]  # a p99 bound needs 299 requests


def search_rows(path):
    rows = results.read_rows(path)
    assert [int(r["search_step"]) for r in sorted(rows, key=lambda r: int(r["search_step"]))] == \
        list(range(1, len(rows) + 1))
    return rows


def test_a_search_on_the_simulated_server_writes_predicted_rows_and_plan_takes_its_boundary(tmp_path, capsys,
                                                                                            no_server):
    """TTFT p99 bound <= 2 s from 40 req/s: doubling to 80 passes the card's capacity (about 71.4 req/s), so that
    level is a failed row of the search (never an error), and the bisection closes in below it."""
    from bench.roofline import predict
    from tests.analysis.test_plan import run_plan

    path = tmp_path / "serve.csv"
    code = main([*SEARCH, "--slo-ttft-ms", "2000", "--request-rate", "40", "--out", str(path)])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = search_rows(path)
    by_step = {int(r["search_step"]): r for r in rows}
    capacity = float(rows[0]["predicted_capacity_req_s"])
    assert 40 < capacity < 80 and float(by_step[2]["request_rate"]) == 80.0
    over = by_step[2]
    assert over["status"] == "failed" and over["search_passed"] == "False" and over["ttft_p99_ms"] == ""
    assert "is more than H100-SXM x1 can sustain" in over["error"]
    # labelled as every sim serve row is: engine and device sim, the card, the model version and calibration
    prof = predict.load_profile(None)
    for r in rows:
        assert (r["engine"], r["device"], r["device_name"]) == ("sim", "sim", "H100-SXM")
        assert r["engine_version"] == f"roofline-3+{prof.name}" and r["prediction_calibration"] == prof.name
    # the boundary: the highest passing level below every failing one, marked on its row only
    failing = [float(r["request_rate"]) for r in rows if r["search_passed"] == "False"]
    passing = [float(r["request_rate"]) for r in rows if r["search_passed"] == "True"]
    lo, hi = max(p for p in passing if p < min(failing)), min(failing)
    (best,) = [r for r in rows if r["slo_boundary"] == "True"]
    assert float(best["request_rate"]) == lo and hi <= lo * 1.05 and lo <= capacity
    assert float(best["ttft_p99_bound_ms"]) <= 2000
    sweep = json.loads((tmp_path / "serve" / f"{best['sweep_id']}.sweep.json").read_text())["search"]
    assert sweep["boundary"] == pytest.approx(lo) and sweep["boundary_run_id"] == best["run_id"]
    assert len(sweep["steps"]) == len(rows)
    assert "(predicted: roofline-3+" in out and f"row {best['run_id']}, slo_boundary true" in out
    # priced (--hardware): the cheapest level meeting the SLO is named, as after a plain sweep of levels, never
    # "no level met the SLO" beside a boundary that did
    met = [r for r in rows if r["status"] == "ok" and r["meets_slo"] == "True" and r["cny_per_m_blended"]]
    cheapest = min(met, key=lambda r: float(r["cny_per_m_blended"]))
    assert json.loads((tmp_path / "serve" / f"{best['sweep_id']}.sweep.json").read_text())[
        "cheapest_meeting_slo"] == cheapest["run_id"]
    assert "cheapest level meeting the SLO" in out and "no level met the SLO" not in out
    # bench plan for the same target takes the boundary's throughput as a replica's capacity
    code, plan_out, err = run_plan(capsys, str(path), "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM",
                                   "--traffic", "500M/day", "--slo-ttft-ms", "2000", "--as-of", "2026-12-01",
                                   "--format", "json")
    assert code == 0, err
    h = json.loads(plan_out)["hardware"][0]
    assert h["binding"] == "SLO boundary (bench serve --find-max-load)"
    assert h["operating_point_from"] == [best["run_id"]]
    assert h["replica_tok_s"] == pytest.approx(float(best["total_tok_s"])) and h["source"].startswith("predicted")


def test_the_search_lands_within_its_resolution_of_a_dense_grids_boundary(tmp_path, capsys, no_server):
    """The noiseless check of the search method: the simulated server is deterministic (seeded arrivals, no timing
    noise), so the search from 8 req/s must find, in fewer levels, the boundary a grid of every whole rate from 30 to
    71 req/s finds (71 < the card's capacity, about 71.4), judged by the same rule (boundary.misses on the p99
    bounds). Tolerance: the search stops once its bracket is within 5%, the grid's step is 1 req/s, so the two
    boundaries may differ by 5% of the grid's plus 1 req/s (and must be within 10%, as the validation asks)."""
    from bench.analysis.boundary import Verdict, misses
    from bench.config.serve import Level, parse
    from bench.serve import resolve
    from bench.serve.simulated import level_measurer

    path = tmp_path / "serve.csv"
    slo = ["--slo-ttft-ms", "200", "--slo-tpot-ms", "30"]
    assert main([*SEARCH, *slo, "--request-rate", "8", "--out", str(path)]) == 0, capsys.readouterr().err
    rows = search_rows(path)
    (best,) = [r for r in rows if r["slo_boundary"] == "True"]
    found, k = float(best["request_rate"]), len(rows)

    cfg, model, _ = resolve.resolve(parse({"engine": "sim", "hardware": "H100-SXM", "model": "qwen2.5-7b-instruct",
                                           "input_len": 512, "output_len": 32, "num_prompts": 300,
                                           "slo_ttft_ms": 200.0, "slo_tpot_ms": 30.0}))
    measure = level_measurer(cfg, model)
    grid = [float(q) for q in range(30, 72)]
    passed = {}
    for q in grid:
        m = measure(Level("rate", q))
        passed[q] = not misses(Verdict(m["sustainable"], m.get("ttft_p99_bound_ms"), m.get("tpot_p99_bound_ms")),
                               cfg.slo)
    assert passed[grid[0]] and not passed[grid[-1]]  # the grid brackets the boundary
    grid_hi = min(q for q in grid if not passed[q])
    grid_lo = max(q for q in grid if passed[q] and q < grid_hi)
    assert abs(found - grid_lo) <= 0.05 * grid_lo + 1.0
    assert abs(found - grid_lo) / grid_lo <= 0.10
    assert k < len(grid)
