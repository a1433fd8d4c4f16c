"""Cost formulas with hand-computed figures, the seed articles' arithmetic, and `bench cost` end to end.

Pure unit tests: nothing here imports vllm or torch.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import pytest

from bench.cost import formulas as cost

from bench.results import cells
from bench.results import store as results
from bench.cli import main
from bench.cost.pricing import (OUT_COLUMNS, RUN_COST_COLUMNS, CostOptions, compare, run_cost_columns, run_cost_why,
                                self_cost, split_seconds)
from bench.core.errors import BenchError
from bench.config.prices import load_prices

# ---------------------------------------------------------------- pure formulas


def test_to_cny_converts_usd_at_the_rate():
    assert cost.to_cny(10, "USD", 7.2) == pytest.approx(72)
    assert cost.to_cny(10, "CNY", 7.2) == 10
    with pytest.raises(ValueError):
        cost.to_cny(1, "EUR")


def test_default_fx_is_7_2():
    assert cost.DEFAULT_FX_CNY_PER_USD == 7.2


def test_rental_is_card_hour_price_times_cards():
    assert cost.rental_cny_per_hour(10.0, 8) == 80.0


def test_owned_is_capital_plus_energy_plus_hosting():
    # 87,600 CNY over 1 year of 8,760 h = 10 CNY/h; 1 kW x 0.5 CNY/kWh x PUE 1.2 = 0.6 CNY/h;
    # 730 CNY a month over 730 h = 1 CNY/h.
    assert cost.owned_capital_cny_per_hour(87600, 1, 1) == pytest.approx(10.0)
    assert cost.energy_cny_per_hour(1000, 0.5, 1.2) == pytest.approx(0.6)
    assert cost.hosting_cny_per_hour(730, 1) == pytest.approx(1.0)
    assert cost.owned_cny_per_hour(87600, 1, 1000, electricity_cny_per_kwh=0.5, pue=1.2, amortization_years=1,
                                   hosting_cny_per_month_per_card=730) == pytest.approx(11.6)
    # two cards: capital and hosting double; power is given for both cards together
    assert cost.owned_cny_per_hour(87600, 2, 2000, electricity_cny_per_kwh=0.5, pue=1.2, amortization_years=1,
                                   hosting_cny_per_month_per_card=730) == pytest.approx(23.2)


def test_cny_per_m_total():
    # 1,000 tok/s = 3.6 M tokens an hour; 36 CNY an hour / 3.6 M = 10 CNY per M
    assert cost.million_tokens_per_hour(1000) == pytest.approx(3.6)
    assert cost.cny_per_m_total(36.0, 1000.0) == pytest.approx(10.0)
    with pytest.raises(ValueError):
        cost.cny_per_m_total(36.0, 0.0)


def test_prefill_decode_split():
    # 100 requests, 401 output tokens each: the first token of each comes from prefill, the other
    # 40,000 from 400 decode steps of 100 sequences at 20 ms = 8 s; the rest of 10 s is prefill.
    assert cost.prefill_decode_seconds(10.0, 40100, 100, 100, 0.020) == pytest.approx((2.0, 8.0))
    # half the concurrency: twice the steps
    assert cost.prefill_decode_seconds(20.0, 40100, 100, 50, 0.020) == pytest.approx((4.0, 16.0))
    # decode can never take more than the whole run
    assert cost.prefill_decode_seconds(5.0, 40100, 100, 100, 0.020) == pytest.approx((0.0, 5.0))
    # one output token per request: no decode step
    assert cost.prefill_decode_seconds(3.0, 100, 100, 100, 0.020) == pytest.approx((3.0, 0.0))


def test_step_share_splits_a_step_by_cost():
    # a 20 ms step carrying a 1,024-token prefill chunk and 64 decodes, split by tokens:
    # prefill 20 x 1024 / 1088 = 18.824 ms, decode 20 x 64 / 1088 = 1.176 ms
    p, d = cost.step_share_seconds(0.020, 1024, 64)
    assert p == pytest.approx(0.018824, abs=1e-6) and d == pytest.approx(0.001176, abs=1e-6)
    assert cost.step_share_seconds(0.010, 0, 64) == (0.0, 0.010)  # a pure decode step
    assert cost.step_share_seconds(0.010, 0, 0) == (0.005, 0.005)  # nothing known: halves


def test_split_by_steps_charges_prompts_their_chunks():
    # 3 steps: pure prefill 30 ms (8,192 tokens), mixed 20 ms (1,024 prefill + 64 decode), pure decode 10 ms.
    # prefill = 30 + 18.824 = 48.824 ms; decode = 1.176 + 10 = 11.176 ms; together 60 ms.
    steps = [(0.030, 8192, 0), (0.020, 1024, 64), (0.010, 0, 64)]
    p, d = cost.prefill_decode_seconds_by_steps(steps)
    assert p == pytest.approx(0.048824, abs=1e-6) and d == pytest.approx(0.011176, abs=1e-6)
    # scaled to a measured 66 ms wall time (10% outside the steps): 48.824 x 1.1 = 53.706, 11.176 x 1.1 = 12.294
    p, d = cost.prefill_decode_seconds_by_steps(steps, elapsed_s=0.066)
    assert p == pytest.approx(0.053706, abs=1e-6) and d == pytest.approx(0.012294, abs=1e-6)
    # no step known: the whole wall time stays prefill (nothing was decoded)
    assert cost.prefill_decode_seconds_by_steps([], elapsed_s=1.0) == (1.0, 0.0)


def test_decode_concurrency():
    assert cost.decode_concurrency(256, 32) == 32
    assert cost.decode_concurrency(8, 32) == 8
    # the KV cache holds 1,000 tokens: 5 requests of 192 tokens at a time
    assert cost.decode_concurrency(256, 32, kv_capacity_tokens=1000, tokens_per_request=192) == 5
    # the tiny-qwen2 CPU row: 524,288 KV tokens / 192 = 2,730 > 32 requests
    assert cost.decode_concurrency(256, 32, kv_capacity_tokens=524288, tokens_per_request=192) == 32


def test_input_and_output_cost_per_m():
    # 36 CNY/h for 2 s = 0.02 CNY over 0.1 M input tokens = 0.2 CNY/M;
    # 36 CNY/h for 8 s = 0.08 CNY over 0.04 M output tokens = 2 CNY/M
    assert cost.cny_per_m_input(36.0, 2.0, 100_000) == pytest.approx(0.2)
    assert cost.cny_per_m_output(36.0, 8.0, 40_000) == pytest.approx(2.0)
    assert cost.cny_per_m_output(36.0, 8.0, 0) is None


def test_input_plus_output_is_the_whole_run():
    per_hour, elapsed, tin, tout = 34.272, 6.0, 4096, 2048
    prefill, decode = cost.prefill_decode_seconds(elapsed, tout, 32, 32, 0.05)
    spent = (cost.cny_per_m_input(per_hour, prefill, tin) * tin / 1e6
             + cost.cny_per_m_output(per_hour, decode, tout) * tout / 1e6)
    assert spent == pytest.approx(per_hour * elapsed / 3600)


def test_blended_at_mix():
    # (3 x 0.2 + 1 x 2) / 4 = 0.65
    assert cost.cny_per_m_blended(0.2, 2.0, (3, 1)) == pytest.approx(0.65)
    assert cost.cny_per_m_blended(0.2, 2.0, (1, 0)) == pytest.approx(0.2)


def test_utilization_divides_cost():
    assert cost.at_utilization(1.0, 0.5) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        cost.at_utilization(1.0, 0.0)
    with pytest.raises(ValueError):
        cost.at_utilization(1.0, 1.5)


def test_breakeven():
    # self 0.65 CNY/M at full use against a vendor at 1.3: cheaper above 50% utilisation
    assert cost.breakeven_utilization(0.65, 1.3) == pytest.approx(0.5)
    # 36 CNY/h x 24 h = 864 CNY a day buys 432 M tokens at 2 CNY/M
    assert cost.breakeven_tokens_per_day(36.0, 2.0) == pytest.approx(432e6)
    assert cost.self_over_vendor(3.0, 1.5) == pytest.approx(2.0)
    assert math.isinf(cost.self_over_vendor(1.0, 0.0))
    assert math.isinf(cost.breakeven_tokens_per_day(36.0, 0.0))


def test_parse_and_format_mix():
    assert cost.parse_mix("3:1") == (3.0, 1.0)
    assert cost.parse_mix("5:1") == (5.0, 1.0)
    assert cost.format_mix((3.0, 1.0)) == "3:1"
    for bad in ("3", "3:1:1", "a:b", "-1:1", "0:0"):
        with pytest.raises(ValueError):
            cost.parse_mix(bad)


# ---------------------------------------------------------------- the seed articles' arithmetic


def test_doubao_input_price_buys_1_25_m_tokens_per_cny():
    assert cost.tokens_per_cny(0.8) == pytest.approx(1.25e6)


def test_doubao_blend_of_1_cny_per_m_is_a_5_to_1_mix():
    # "0.8 CNY/M input, 2 CNY/M output, blended 1 CNY/M": solve (r x 0.8 + 2) / (r + 1) = 1 -> r = 5
    assert cost.input_share_for_blend(0.8, 2.0, 1.0) == pytest.approx(5.0)
    assert cost.cny_per_m_blended(0.8, 2.0, (5, 1)) == pytest.approx(1.0)
    # at the default 3:1 the same prices blend to 1.1
    assert cost.cny_per_m_blended(0.8, 2.0, cost.DEFAULT_MIX) == pytest.approx(1.1)


def test_doubao_blend_from_the_price_book():
    doubao = next(p for p in load_prices().prices if p.model == "doubao-pro-32k")
    assert doubao.blended_cny_per_m((5, 1)) == pytest.approx(1.0)


def test_thirty_percent_utilisation_costs_3_33_times_as_much():
    assert cost.at_utilization(1.0, 0.3) == pytest.approx(10 / 3)
    assert round(cost.at_utilization(1.0, 0.3), 2) == 3.33


# ---------------------------------------------------------------- a results row


def measured_row(**over) -> dict:
    """A results row as `bench run` writes it: 100 requests, 1,000 in / 401 out, 10 s, TPOT 20 ms."""
    row = {
        "schema_version": 1, "run_id": "r-fixture", "timestamp": "2026-01-01T00:00:00+00:00",
        "model": "qwen2.5-7b-instruct", "engine": "vllm", "device": "cuda", "status": "ok",
        "input_len": 1000, "output_len": 401, "num_prompts": 100, "completed": 100, "max_num_seqs": 100,
        "input_tokens": 100_000, "output_tokens": 40_100, "elapsed_s": 10.0, "total_tok_s": 14_010.0,
        "input_tok_s": 10_000.0, "output_tok_s": 4_010.0, "tpot_p50_ms": 20.0, "tpot_mean_ms": 20.0,
        "tensor_parallel_size": 1, "pipeline_parallel_size": 1,
    }
    row.update(over)
    return row


def write_results(path: Path, rows: list[dict]) -> Path:
    for r in rows:
        results.append_row(path, r)
    return path


def test_split_of_a_row():
    assert split_seconds(measured_row()) == pytest.approx((2.0, 8.0))
    # rows read back from CSV are text, read as values (bench.results.cells)
    text_row = cells.row({k: str(v) for k, v in measured_row().items()})
    assert split_seconds(text_row) == pytest.approx((2.0, 8.0))
    # no TPOT but decoded tokens: the split is unknown
    assert split_seconds(cells.row(measured_row(tpot_mean_ms="", tpot_p50_ms=""))) == (None, None)
    # a row whose engine split every step carries prefill_s / decode_s: they win over the TPOT split
    assert split_seconds(measured_row(prefill_s=3.5, decode_s=6.5, split_method="steps-tokens")) == (3.5, 6.5)
    assert split_seconds(cells.row(measured_row(prefill_s="", decode_s=""))) == pytest.approx((2.0, 8.0))


def test_self_cost_at_a_given_gpu_price():
    mine = self_cost(measured_row(), CostOptions(gpu_cny_per_hour=36.0))
    assert mine.basis == "given" and mine.gpu_count == 1 and mine.cny_per_hour == 36.0
    assert mine.cny_per_m_input == pytest.approx(0.2)  # 0.02 CNY / 0.1 M
    assert mine.cny_per_m_output == pytest.approx(0.08 / 0.0401)  # 0.08 CNY / 0.0401 M
    assert mine.cny_per_m_blended == pytest.approx((3 * 0.2 + 0.08 / 0.0401) / 4)
    assert mine.cny_per_m_total == pytest.approx(36.0 / (14_010 * 3600 / 1e6))
    assert mine.tokens_per_cny == pytest.approx(14_010 * 3600 / 36.0)


def test_self_cost_at_utilization_and_tensor_parallel():
    full = self_cost(measured_row(), CostOptions(gpu_cny_per_hour=36.0))
    third = self_cost(measured_row(), CostOptions(gpu_cny_per_hour=36.0, utilization=0.3))
    assert third.cny_per_m_blended == pytest.approx(full.cny_per_m_blended / 0.3)
    assert third.cny_per_m_blended_full_use == pytest.approx(full.cny_per_m_blended)
    tp2 = self_cost(measured_row(tensor_parallel_size=2), CostOptions(gpu_cny_per_hour=36.0))
    assert tp2.gpu_count == 2 and tp2.cny_per_m_total == pytest.approx(2 * full.cny_per_m_total)


H100_CN = 70_000 / 8 / 730  # an 8-card H100 node at 70,000 CNY a month in China (news, 2024): 11.986301 per GPU-hour


def test_self_cost_rental_from_hardware_yaml():
    # the China market by default: 11.986301 CNY per GPU-hour
    mine = self_cost(measured_row(), CostOptions(hardware="h100-sxm"))
    assert mine.hardware == "H100-SXM" and mine.basis == "rental" and mine.market == "cn"
    assert mine.gpu_cny_per_hour == pytest.approx(H100_CN)
    assert mine.cny_per_m_input == pytest.approx(H100_CN * 2 / 3600 / 0.1)
    # --market global: RunPod's list price, USD 2.69 x 7.2 = 19.368
    mine = self_cost(measured_row(), CostOptions(hardware="H100-SXM", market="global"))
    assert mine.gpu_cny_per_hour == pytest.approx(19.368) and mine.price_what == "global list price"


def test_self_cost_owned_uses_tdp_or_measured_power():
    # H100-SXM: USD 27,500 x 7.2 = 198,000 CNY over 3 years = 7.5342 CNY/h;
    # 700 W x 0.63 CNY/kWh x 1.3 = 0.5733 CNY/h
    mine = self_cost(measured_row(), CostOptions(hardware="H100-SXM", basis="owned"))
    assert mine.power_source == "tdp" and mine.power_w == 700
    assert mine.cny_per_hour == pytest.approx(198_000 / (3 * 8760) + 0.7 * 0.63 * 1.3)
    measured = self_cost(measured_row(avg_power_w=500), CostOptions(hardware="H100-SXM", basis="owned"))
    assert measured.power_source == "measured"
    assert measured.cny_per_hour == pytest.approx(198_000 / (3 * 8760) + 0.5 * 0.63 * 1.3)


def test_self_cost_owned_charges_the_measured_energy_of_the_run():
    # 6 kJ over the row's 10 s: 600 W is charged (energy outranks avg_power_w, which is over the sampling window),
    # so the run's energy costs exactly 6,000 / 3.6e6 kWh x 0.63 CNY x 1.3 PUE
    row = measured_row(avg_power_w=500, energy_j=6_000)
    elapsed = float(row["elapsed_s"])
    mine = self_cost(row, CostOptions(hardware="H100-SXM", basis="owned"))
    assert mine.power_source == "measured" and mine.power_w == pytest.approx(600.0)
    energy_cny = 6_000 / 3.6e6 * 0.63 * 1.3
    assert mine.cny_per_hour * elapsed / 3600 == pytest.approx(198_000 / (3 * 8760) * elapsed / 3600 + energy_cny)


def test_a_cpu_row_says_what_is_priced():
    """The cpu-server entry is a 96-core server at 0.04 CNY per core-hour = 3.84 CNY an hour: a row is priced as the
    whole server, and says so, whatever cores the run used."""
    mine = self_cost(measured_row(), CostOptions(hardware="cpu-server"))
    assert mine.kind == "cpu" and mine.gpu_cny_per_hour == pytest.approx(0.04 * 96)
    assert mine.where == "cpu-server (priced as a whole 96-core server)"


def test_self_cost_refuses_what_it_cannot_price():
    with pytest.raises(BenchError, match="no hardware to price"):
        self_cost(measured_row(), CostOptions())
    with pytest.raises(BenchError, match="A100-40G-SXM has no rental price"):
        self_cost(measured_row(), CostOptions(hardware="A100-40G-SXM"))
    with pytest.raises(BenchError, match="A100-40G-SXM has no price on any basis.*--gpu-cny-per-hour A100-40G-SXM=X"):
        self_cost(measured_row(), CostOptions(hardware="A100-40G-SXM", basis="owned"))
    with pytest.raises(BenchError, match="H100-PCIe has no purchase price"):
        self_cost(measured_row(), CostOptions(hardware="H100-PCIe", basis="owned", basis_fallback=False))
    with pytest.raises(BenchError, match="did you mean H100-SXM"):
        self_cost(measured_row(), CostOptions(hardware="H100-SMX"))


def test_compare_with_doubao():
    doubao = next(p for p in load_prices().prices if p.model == "doubao-pro-32k")
    opts = CostOptions(gpu_cny_per_hour=36.0)
    mine = self_cost(measured_row(), opts)
    c = compare(mine, doubao, opts)
    assert c.vendor_cny_per_m_blended == pytest.approx(1.1)  # (3 x 0.8 + 2) / 4
    assert c.self_over_vendor == pytest.approx(mine.cny_per_m_blended / 1.1)
    assert c.breakeven_utilization == pytest.approx(mine.cny_per_m_blended / 1.1)
    assert c.breakeven_tokens_per_day == pytest.approx(36 * 24 / 1.1 * 1e6)


def test_run_cost_columns():
    at = results.COLUMNS.index(RUN_COST_COLUMNS[0])  # after the core's columns (the price columns at the end)
    assert [c for c in results.COLUMNS if c in RUN_COST_COLUMNS] == list(RUN_COST_COLUMNS)
    assert at > results.COLUMNS.index("error")
    cols = run_cost_columns(measured_row(), "H100-SXM")
    assert cols["hardware"] == "H100-SXM" and cols["cost_basis"] == "rental" and cols["cost_mix"] == "3:1"
    assert cols["gpu_cny_per_hour"] == pytest.approx(H100_CN)
    assert cols["cny_per_m_input"] == pytest.approx(H100_CN * 2 / 3600 / 0.1)
    assert "cn news figure" in cols["gpu_price_source"] and "China market" in cols["gpu_price_source"]
    assert run_cost_columns(measured_row(), None) == dict.fromkeys(RUN_COST_COLUMNS)
    failed = run_cost_columns(measured_row(status="failed"), "H100-SXM")
    assert failed["hardware"] == "H100-SXM" and failed["cny_per_m_total"] is None
    # L20 (an export part) is priced at AutoDL's 3.87 CNY
    assert run_cost_columns(measured_row(), "L20")["gpu_cny_per_hour"] == pytest.approx(3.87)
    no_price = run_cost_columns(measured_row(), "A100-40G-SXM")  # the row is kept; the price is left empty
    assert no_price["hardware"] == "A100-40G-SXM" and no_price["cny_per_m_total"] is None
    # ... and the run says why, with the fix
    assert run_cost_why({**measured_row(), **no_price}, "A100-40G-SXM") == (
        "not priced: A100-40G-SXM has no rental price in hardware.yaml; pass --gpu-cny-per-hour A100-40G-SXM=X "
        "(CNY per GPU-hour), use --basis owned, or add a price")


def test_build_row_carries_cost_columns():
    from bench.config import run as runconfig
    from bench.execution.record import offline_row

    cfg, model = runconfig.resolve(runconfig.parse({"model": "qwen2.5-0.5b-instruct", "hardware": "rtx-4090",
                                                    "input_len": 1000, "output_len": 401, "num_prompts": 100}))
    assert cfg.hardware == "RTX-4090"
    m = measured_row()
    out = {"status": "ok", "metrics": {k: m[k] for k in ("input_tokens", "output_tokens", "elapsed_s", "total_tok_s",
                                                         "tpot_p50_ms", "tpot_mean_ms", "completed")},
           "engine_info": {"device": "cuda", "max_num_seqs": 100}}
    row = offline_row(run_id="r1", when=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), cfg=cfg, model=model,
                      weights="dummy", out=out, env={})
    assert set(row) <= set(results.COLUMNS)
    # RTX-4090 in China: AutoDL's 1.98 CNY per card-hour
    assert row["gpu_cny_per_hour"] == pytest.approx(1.98)
    assert row["cny_per_m_input"] == pytest.approx(1.98 * 2 / 3600 / 0.1)


def test_runconfig_rejects_unknown_hardware():
    from bench.config import run as runconfig
    with pytest.raises(BenchError, match="did you mean H20"):
        runconfig.resolve(runconfig.parse({"model": "qwen2.5-0.5b-instruct", "hardware": "H2O"}))


# ---------------------------------------------------------------- bench cost


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_bench_cost_writes_the_comparison(tmp_path, capsys):
    runs = write_results(tmp_path / "runs.csv", [measured_row(), measured_row(run_id="r-failed", status="failed")])
    out = tmp_path / "cost.csv"
    rc = main(["cost", str(runs), "--gpu-cny-per-hour", "36", "--as-of", "2024-05-31",
               "--vendors", "doubao-pro-32k,deepseek", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "doubao-pro-32k" in printed and "deepseek-chat (V2)" in printed and "skipped 1 row" in printed
    lines = read_csv(out)
    assert list(lines[0]) == list(OUT_COLUMNS)
    assert [r["vendor_model"] for r in lines] == ["doubao-pro-32k", "deepseek-chat (V2)"]  # cheapest first
    first = lines[0]
    assert first["run_id"] == "r-fixture" and first["basis"] == "given" and first["mix"] == "3:1"
    assert float(first["cny_per_m_input"]) == pytest.approx(0.2)
    assert float(first["vendor_cny_per_m_blended"]) == pytest.approx(1.1)
    assert float(lines[1]["vendor_cny_per_m_blended"]) == pytest.approx(1.25)  # DeepSeek V2 (3 x 1 + 2) / 4


def test_bench_cost_every_vendor_in_force(tmp_path):
    runs = write_results(tmp_path / "runs.csv", [measured_row()])
    out = tmp_path / "cost.csv"
    assert main(["cost", str(runs), "--hardware", "H100-SXM", "--as-of", "2024-05-31", "--vendors", "all",
                 "--out", str(out)]) == 0
    as_of = dt.date(2024, 5, 31)
    in_force = [p for p in load_prices().prices if p.in_force(as_of)]
    lines = read_csv(out)
    assert len(lines) == len(in_force) == 28
    free = [r for r in lines if r["vendor_model"] == "ernie-speed-8k"][0]
    assert free["self_over_vendor"] == "inf" and free["breakeven_tokens_per_day"] == ""


def test_bench_cost_compares_like_for_like_vendors_by_default(tmp_path, capsys):
    runs = write_results(tmp_path / "runs.csv", [measured_row()])
    out = tmp_path / "cost.csv"
    assert main(["cost", str(runs), "--hardware", "H100-SXM", "--as-of", "2025-06-01", "--out", str(out)]) == 0
    # models.yaml: qwen2.5-7b-instruct stands against the same model on Bailian, qwen-turbo, doubao-lite-32k and
    # deepseek-chat; all four have a price in force on 2025-06-01
    models = sorted(r["vendor_model"].split(" ")[0] for r in read_csv(out))
    assert models == ["deepseek-chat", "doubao-lite-32k", "qwen-turbo", "qwen2.5-7b-instruct"]
    printed = capsys.readouterr().out
    assert "qwen2.5-7b-instruct: same model, served by Alibaba (Bailian)" in printed


def test_bench_cost_marks_free_and_rate_limited_tiers(tmp_path, capsys):
    runs = write_results(tmp_path / "runs.csv", [measured_row()])
    assert main(["cost", str(runs), "--hardware", "H100-SXM", "--as-of", "2025-06-01", "--vendors",
                 "glm-4-flash,doubao-pro-32k"]) == 0
    printed = capsys.readouterr().out
    assert "marked: " in printed and "glm-4-flash (free, rate-limited)" in printed
    assert "doubao-pro-32k (rate-limited)" in printed


def test_bench_cost_uses_the_rows_own_hardware(tmp_path):
    runs = write_results(tmp_path / "runs.csv", [{**measured_row(), **run_cost_columns(measured_row(), "H20")}])
    out = tmp_path / "cost.csv"
    # the owned basis prices the H20 from its 8-card server quote: 1,400,000 / 8 = 175,000 CNY per card
    assert main(["cost", str(runs), "--basis", "owned", "--vendors", "ByteDance", "--as-of", "2025-06-01",
                 "--out", str(out)]) == 0
    line = read_csv(out)[0]
    assert line["hardware"] == "H20" and line["basis"] == "owned" and line["power_source"] == "tdp"
    assert float(line["cny_per_hour"]) == pytest.approx(175_000 / (3 * 8760) + 0.4 * 0.63 * 1.3)  # 6.98671


@pytest.mark.parametrize("args, message", [
    (["--hardware", "H100-SMX"], "did you mean H100-SXM"),
    ([], "no hardware to price"),
    (["--hardware", "A100-40G-SXM"], "A100-40G-SXM has no rental price"),
    (["--hardware", "H100-SXM", "--market", "chna"], "unknown market 'chna'; did you mean china"),
    (["--hardware", "H100-SXM", "--as-of", "2020-01-01"], "before every known price"),
    (["--hardware", "H100-SXM", "--vendors", "bytedanse"], "did you mean ByteDance"),
    (["--hardware", "H100-SXM", "--vendors", "deepseek,openai", "--as-of", "2024-01-01"], "no price of 'deepseek'"),
    (["--hardware", "H100-SXM", "--utilization", "1.5"], "fraction"),
    (["--hardware", "H100-SXM", "--mix", "3-1"], "INPUT:OUTPUT"),
])
def test_bench_cost_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    runs = write_results(tmp_path / "runs.csv", [measured_row()])
    out = tmp_path / "cost.csv"
    assert main(["cost", str(runs), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_bench_cost_refuses_a_csv_without_the_needed_columns(tmp_path, capsys):
    bad = tmp_path / "other.csv"
    bad.write_text("run_id,model,status\nx,y,ok\n")
    out = tmp_path / "cost.csv"
    assert main(["cost", str(bad), "--hardware", "H100-SXM", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "lacks the column(s) elapsed_s" in err and not out.exists()
    assert main(["cost", str(tmp_path / "missing.csv"), "--hardware", "H100-SXM"]) == 2


def test_bench_cost_needs_an_ok_row(tmp_path, capsys):
    runs = write_results(tmp_path / "runs.csv", [measured_row(status="failed")])
    assert main(["cost", str(runs), "--hardware", "H100-SXM"]) == 2
    assert "no row with status ok" in capsys.readouterr().err


def test_cost_modules_never_import_vllm_or_torch():
    import subprocess
    import sys

    code = ("import sys, bench.cli, bench.cli.cost, bench.cost.pricing, bench.display.cost, bench.execution.case; "
            "bench.cli.build_parser(); assert not {'vllm', 'torch'} & set(sys.modules), 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_sim_rows_cost_names_its_calibration_and_the_bound_beside_it():
    from bench.cost.predicted import prediction_of

    assert prediction_of({"engine": "vllm", "output_tok_s": 100}) is None  # measured
    # timed by the expected value: 400 tok/s where the bound is 1,000 -> at the bound the run takes 0.4 of the
    # time, so 2.50 CNY/M becomes 2.50 x 0.4 = 1.00
    p = prediction_of(cells.row({"engine": "sim", "engine_version": "roofline-3+published-fit-3",
                                 "output_tok_s": "400", "roofline_output_tok_s": "1000",
                                 "prediction_calibration": "published-fit-3"}))
    assert p.label == "predicted (calibration published-fit-3)" and p.at_bound(2.5) == pytest.approx(1.0)
    # timed at the bound (--sim-timing bound): its own speed is the bound's; nothing to show beside it
    b = prediction_of(cells.row({"engine": "sim", "engine_version": "roofline-3", "output_tok_s": "1000",
                                 "roofline_output_tok_s": "1000", "prediction_calibration": "published-fit-3"}))
    assert b.label == "predicted (roofline bound)" and b.at_bound(2.5) is None
    # a user profile named only in the version (older rows without the column)
    u = prediction_of(cells.row({"engine": "sim", "engine_version": "roofline-3+my-h20", "output_tok_s": "500",
                                 "roofline_output_tok_s": "800"}))
    assert u.label == "predicted (calibration my-h20)" and u.bound_share == pytest.approx(0.625)
