"""A row is priced on the hardware it ran on (other cards only as a labelled
what-if), per-card given prices, mixed CSVs, rental tiers, and the source and date of every price.
Hand-computed figures; pure unit tests (no vllm or torch)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import yaml

from bench.analysis.report.cost import price_runs
from bench.analysis.report.model import Run
from bench.cli import main
from bench.config.files import validated
from bench.config.hardware import HardwareBook, load_hardware
from bench.config.pricing import GpuHourOptions, GpuPrices, parse_gpu_prices
from bench.cost import formulas as cost
from bench.cost.pricing import CostOptions, self_cost
from bench.core.errors import BenchError
from bench.results import store as results

# The fixture row: 14,010 tok/s = 14,010 x 3600 / 1e6 = 50.436 M tokens an hour.
M_TOKENS_PER_HOUR = 50.436
H100_RENTAL = 70_000 / 8 / 730  # China: an 8-card node at 70,000 CNY a month (news, 2024) = 11.986301 per GPU-hour
RTX4090_RENTAL = 1.98  # China: AutoDL's list price, CNY per card-hour (2026-09-24)


def row(**over) -> dict:
    r = {
        "schema_version": 1, "run_id": "r-h100", "timestamp": "2026-01-01T00:00:00+00:00",
        "model": "qwen2.5-7b-instruct", "engine": "vllm", "device": "cuda", "status": "ok", "hardware": "H100-SXM",
        "input_len": 1000, "output_len": 401, "num_prompts": 100, "completed": 100, "max_num_seqs": 100,
        "input_tokens": 100_000, "output_tokens": 40_100, "elapsed_s": 10.0, "total_tok_s": 14_010.0,
        "tpot_p50_ms": 20.0, "tpot_mean_ms": 20.0, "tensor_parallel_size": 1, "pipeline_parallel_size": 1,
    }
    r.update(over)
    return r


def test_a_row_is_priced_on_the_hardware_it_ran_on_not_on_hardware_flag():
    mine = self_cost(row(), CostOptions(hardware="RTX-4090"))
    assert mine.hardware == "H100-SXM" and not mine.what_if
    assert mine.gpu_cny_per_hour == pytest.approx(H100_RENTAL)
    assert mine.cny_per_m_total == pytest.approx(H100_RENTAL / M_TOKENS_PER_HOUR)  # 0.237654
    # --hardware still prices a row that names no hardware
    assert self_cost(row(hardware=""), CostOptions(hardware="RTX-4090")).gpu_cny_per_hour == pytest.approx(1.98)


def test_what_if_hardware_is_explicit_and_labelled():
    mine = self_cost(row(), CostOptions(what_if_hardware="RTX-4090"))
    assert mine.what_if and mine.measured_on == "H100-SXM" and mine.hardware == "RTX-4090"
    assert mine.gpu_cny_per_hour == pytest.approx(RTX4090_RENTAL)
    assert mine.cny_per_m_total == pytest.approx(1.98 / 50.436)  # 0.039258
    assert mine.where == "what-if RTX-4090 (measured on H100-SXM)"
    assert not self_cost(row(), CostOptions(what_if_hardware="H100-SXM")).what_if  # its own card: no what-if


def test_per_hardware_given_prices():
    assert parse_gpu_prices("12") == GpuPrices(12.0, ())
    assert parse_gpu_prices("h20=9.5,H100-SXM=14") == GpuPrices(None, (("H20", 9.5), ("H100-SXM", 14.0)))
    assert parse_gpu_prices("H20=9.5,12") == GpuPrices(12.0, (("H20", 9.5),))
    opts = CostOptions(gpu_cny_per_hour_by_hardware=(("H20", 9.5), ("H100-SXM", 14.0)))
    h100, h20 = self_cost(row(), opts), self_cost(row(hardware="H20"), opts)
    assert h100.basis == h20.basis == "given"
    assert h100.cny_per_m_total == pytest.approx(14 / 50.436)  # 0.27758
    assert h20.cny_per_m_total == pytest.approx(9.5 / 50.436)  # 0.18836
    # a card without a given price falls back to hardware.yaml: the RTX-4090 rental
    assert self_cost(row(hardware="RTX-4090"), opts).gpu_cny_per_hour == pytest.approx(1.98)


@pytest.mark.parametrize("text, message", [("H2O=9.5", "did you mean H20"), ("H20=x", "not a number"),
                                           ("H20=-1", "positive"), (",", "empty"),
                                           ("=5", "names no card before")])
def test_bad_given_prices_name_the_fix(text, message):
    with pytest.raises(BenchError, match=message):  # the field type of --gpu-cny-per-hour, wherever it is given
        validated(GpuHourOptions, {"gpu_cny_per_hour": text}, "bench cost")


def test_rental_tiers():
    # RunPod's 2.69 is its Community Cloud list price: the global on-demand quote, not a spot one
    listed = self_cost(row(), CostOptions(market="global"))
    assert listed.gpu_cny_per_hour == pytest.approx(2.69 * 7.2)  # 19.368
    assert listed.price_tier == "on-demand" and listed.price_date == "2026-09-25"
    with pytest.raises(BenchError, match="no spot rental quote.*it has: cn on-demand, global on-demand, global "
                                         "reserved, global tco"):
        self_cost(row(), CostOptions(rental_tier="spot"))
    reserved = self_cost(row(), CostOptions(rental_tier="reserved"))  # no cn reserved quote: the global one
    assert reserved.gpu_cny_per_hour == pytest.approx(1.30 * 7.2)  # 9.36, SemiAnalysis 3-year rental tier
    assert reserved.price_note == "no cn quote: the global one"
    a100 = self_cost(row(hardware="A100-80G-SXM"), CostOptions(rental_tier="china-cloud", market="global"))
    assert a100.gpu_cny_per_hour == pytest.approx(7.03)  # china-cloud: the cn quote whatever --market; CNY, no FX
    # a card with no cn quote is priced at its global one, labelled
    h200 = self_cost(row(hardware="H200-SXM"), CostOptions())
    assert h200.gpu_cny_per_hour == pytest.approx(3.59 * 7.2) and "no cn quote: the global one" in h200.provenance


def test_gpu_prices_follow_as_of():
    """A May-2024 plan uses the quotes in force then: the A100 in China at the 2023-08-19 survey average (15.1 CNY),
    not AutoDL's 2026 list price (7.03); a card first quoted later says so."""
    a100 = self_cost(row(hardware="A100-80G-SXM"), CostOptions(as_of=dt.date(2024, 5, 31)))
    assert a100.gpu_cny_per_hour == pytest.approx(15.1) and a100.price_date == "2023-08-19"
    assert self_cost(row(hardware="A100-80G-SXM"), CostOptions()).gpu_cny_per_hour == pytest.approx(7.03)
    h20 = self_cost(row(hardware="H20"), CostOptions(as_of=dt.date(2024, 5, 31)))
    assert h20.gpu_cny_per_hour == pytest.approx(10.50)
    assert h20.price_note == "quoted 2026-09-24, after --as-of 2024-05-31: no earlier quote"
    # the H100 in China: an 8-card node at 150,000 CNY a month at the start of 2024 (120-180 thousand), 70,000 by
    # 2024-10: 150,000 / 8 / 730 = 25.684932 CNY per GPU-hour in May 2024
    h100_cn = self_cost(row(), CostOptions(as_of=dt.date(2024, 5, 31)))
    assert h100_cn.gpu_cny_per_hour == pytest.approx(150_000 / 8 / 730) and h100_cn.price_date == "2024-01"
    # H100 owned: the 2023-05 DGX quote (270,000 USD / 8) in force then, not the 2026 card
    h100 = self_cost(row(), CostOptions(basis="owned", market="global", as_of=dt.date(2024, 5, 31)))
    assert h100.price_date == "2023-05" and h100.price_basis == "8-card server"
    assert h100.gpu_cny_per_hour == pytest.approx(270_000 * 7.2 / 8 / 26_280 + 0.7 * 0.63 * 1.3)  # 9.820217
    # the default FX rate was observed 2024-11 to 2025-02: another --as-of says no rate of that day is held
    assert "no rate of --as-of 2024-05-31 is held" in h100.fx_date


def test_every_cost_carries_its_price_basis_source_and_dates():
    mine = self_cost(row(), CostOptions(as_of=dt.date(2025, 1, 15)))
    assert mine.provenance == ("rental on-demand, cn news figure, quoted per 8-card node a month: "
                               "m.cnbeta.com.tw/view/1449972.htm ('NVIDIA GPU rental prices halved: H100 and RTX 4090 "
                               "both down 50%', citing industry sources), 2024-10; FX 7.2 CNY/USD "
                               f"({cost.DEFAULT_FX_DATE})")
    assert mine.basis_text == "rental on-demand (China market)"
    h800 = self_cost(row(hardware="H800-SXM"), CostOptions(basis="owned"))
    assert h800.price_basis == "8-card server" and h800.price_date == "2023-10"
    given = self_cost(row(), CostOptions(gpu_cny_per_hour=12, fx_cny_per_usd=7.1))
    assert "command line" in given.provenance and "7.1 CNY/USD (given on the command line)" in given.provenance


def test_a_tier_is_needed_on_every_quote_and_one_per_tier(tmp_path):
    raw = yaml.safe_load(Path("hardware.yaml").read_text())
    h100 = raw["hardware"]["H100-SXM"]
    h100["rental_tiers"].append(dict(h100["rental_tiers"][0]))
    with pytest.raises(ValueError, match="two rental quotes of cn on-demand of 2024-10"):
        HardwareBook.model_validate(raw)


def write(path: Path, rows: list[dict]) -> Path:
    for r in rows:
        results.append_row(path, r)
    return path


def test_a_mixed_csv_prices_the_rest_and_says_which_rows_it_could_not(tmp_path, capsys):
    runs = write(tmp_path / "runs.csv", [row(), row(run_id="r-h20", hardware="H20"),
                                         row(run_id="r-a100", hardware="A100-40G-SXM")])
    out = tmp_path / "cost.csv"
    assert main(["cost", str(runs), "--hardware", "RTX-4090", "--vendors", "deepseek-chat", "--as-of", "2025-06-01",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # the H20 is priced (AutoDL, quoted after the day asked for, and said so); the 40 GB A100 has no price at all
    assert "run r-a100 not priced: A100-40G-SXM has no rental price" in printed
    assert "quoted 2026-09-24, after --as-of 2025-06-01" in printed
    # each cost's first line names its basis, tier and market
    assert "on H100-SXM: rental on-demand (China market) 12 CNY per GPU-hour" in printed
    assert "--what-if-hardware RTX-4090" in printed
    with out.open(newline="") as f:
        lines = list(csv.DictReader(f))
    assert [r["run_id"] for r in lines] == ["r-h100", "r-h20"]
    assert float(lines[0]["gpu_cny_per_hour"]) == pytest.approx(H100_RENTAL)  # H100's price, not the 4090's 1.98
    assert lines[0]["price_source"].startswith("m.cnbeta.com.tw") and lines[0]["price_date"] == "2024-10"
    assert lines[0]["fx_date"] == f"{cost.DEFAULT_FX_DATE}; no rate of --as-of 2025-06-01 is held: give --fx-cny-per-usd"
    assert float(lines[1]["gpu_cny_per_hour"]) == pytest.approx(10.50)
    # given per-card prices price them
    assert main(["cost", str(runs), "--gpu-cny-per-hour", "A100-40G-SXM=9.5,H100-SXM=14", "--vendors",
                 "deepseek-chat", "--as-of", "2025-06-01", "--out", str(out)]) == 0
    with out.open(newline="") as f:
        assert [float(r["cny_per_m_total"]) for r in csv.DictReader(f)] == pytest.approx(
            [14 / 50.436, 10.5 / 50.436, 9.5 / 50.436], rel=1e-5)
    # nothing priceable: one line, exit 2
    only = write(tmp_path / "a100.csv", [row(run_id="r-a100", hardware="A100-40G-SXM")])
    assert main(["cost", str(only)]) == 2
    assert "A100-40G-SXM has no rental price" in capsys.readouterr().err


def test_cost_and_report_price_the_same_row_alike():
    book = load_hardware()
    for opts in (CostOptions(), CostOptions(what_if_hardware="RTX-4090"), CostOptions(rental_tier="reserved"),
                 CostOptions(gpu_cny_per_hour_by_hardware=(("H100-SXM", 14.0),))):
        priced, _ = price_runs([Run(row(), "runs.csv", "H100-SXM")], CostOptions(**{**opts.__dict__}), book)
        from_report = priced[0].cost
        from_cost = self_cost(row(), opts, book)
        assert from_report == from_cost


def test_report_labels_a_what_if_and_names_every_price(tmp_path):
    from bench.analysis.report.build import ReportOptions, build_report

    runs = write(tmp_path / "runs.csv", [row(), row(run_id="r-a100", hardware="A100-40G-SXM")])
    # a vendor in force today (no --as-of): deepseek-chat's name stopped answering after 2026-07-24
    opts = ReportOptions(hardware="RTX-4090", vendors=["deepseek-flash"],
                         hardware_price=(("what_if_hardware", "RTX-4090"),))
    report = build_report([runs], opts)
    table = next(s for s in report.sections if s.slug == "cost-vs-vendors")
    mine = [r for r in table.rows if r[1] == "self-hosted"]
    assert len(mine) == 2
    assert "what-if RTX-4090 (measured on H100-SXM)" in mine[0][0] + mine[1][0]
    assert "what-if RTX-4090 (measured on A100-40G-SXM)" in mine[0][0] + mine[1][0]
    assert all("1.98 CNY per GPU-hour" in r[6] and "autodl.com" in r[6] and "2026-09-24" in r[6]
               and cost.DEFAULT_FX_DATE in r[6] for r in mine)
    # without the what-if, --hardware RTX-4090 does not re-price rows that name their own card
    report = build_report([runs], ReportOptions(hardware="RTX-4090", vendors=["deepseek-flash"]))
    table = next(s for s in report.sections if s.slug == "cost-vs-vendors")
    assert [r[6].split(";")[0] for r in table.rows if r[1] == "self-hosted"] == ["12 CNY per GPU-hour × 1"]
    # the 40 GB A100 has no price at all: like bench cost, the report names it as not priced, with the fix
    assert "on A100-40G-SXM not priced: A100-40G-SXM has no rental price" in table.note


def test_run_rows_carry_the_price_source_and_dates():
    from bench.cost.pricing import run_cost_columns

    cols = run_cost_columns(row(), "H100-SXM")
    cols = run_cost_columns(row(hardware="L20"), "L20")
    assert cols["gpu_price_source"] == ("autodl.com list price (originalPrice in the site's page script, file dated "
                                        "2026-09-24), as read on 2026-10-04 by a public research note (libtv "
                                        "video-upscaling survey, section 5.4) (rental on-demand (China market); cn "
                                        "list price, per card)")
    assert cols["gpu_price_date"] == "2026-09-24" and cols["fx_date"] == cost.DEFAULT_FX_DATE


@pytest.mark.parametrize("args, message", [
    (["--rental-tier", "spot"], "no spot rental quote"),
    (["--market", "eu"], "unknown market 'eu'"),
    (["--gpu-cny-per-hour", "H2O=9"], "did you mean H20"),
    (["--what-if-hardware", "RTX-4909"], "did you mean RTX-4090"),
    (["--basis", "tco", "--what-if-hardware", "A100-40G-SXM"], "A100-40G-SXM has no price on any basis"),
])
def test_bad_price_options_exit_2_with_one_line(tmp_path, capsys, args, message):
    runs = write(tmp_path / "runs.csv", [row()])
    assert main(["cost", str(runs), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_bad_rental_tier_in_hardware_yaml_is_one_line_naming_the_field(tmp_path, capsys, monkeypatch):
    raw = yaml.safe_load(Path("hardware.yaml").read_text())
    raw["hardware"]["H100-SXM"]["rental_tiers"][0]["tier"] = "cheap"
    bad = tmp_path / "hardware.yaml"
    bad.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("BENCH_HARDWARE", str(bad))
    runs = write(tmp_path / "runs.csv", [row()])
    assert main(["cost", str(runs)]) == 2
    err = capsys.readouterr().err
    assert "rental_tiers.0.tier" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bench_cost_tco_basis_end_to_end(tmp_path):
    runs = write(tmp_path / "runs.csv", [row()])
    out = tmp_path / "cost.csv"
    assert main(["cost", str(runs), "--basis", "tco", "--vendors", "deepseek-chat", "--as-of", "2025-06-01",
                 "--out", str(out)]) == 0
    with out.open(newline="") as f:
        line = next(csv.DictReader(f))
    # on 2025-06-01 the 2026 card quote is not yet in force: SemiAnalysis' DGX H100 (2023-05) prices it,
    # 270,000 / 8 = 33,750 USD x 7.2 = 243,000 (its host included) x 1.1 / 26,280 = 10.171233; + power 1.054463
    # + colocation 1.904795 (tests/cost/test_tco.py) = 13.130491 CNY per GPU-hour / 50.436 M tokens = 0.260339
    assert line["basis"] == "tco" and float(line["gpu_cny_per_hour"]) == pytest.approx(13.130491, rel=1e-5)
    assert float(line["cny_per_m_total"]) == pytest.approx(13.130491 / 50.436, rel=1e-5)
    assert line["price_basis"] == "8-card server" and line["price_date"] == "2023-05"


def test_a_what_if_card_is_charged_its_own_tdp_not_the_measured_power():
    # measured 500 W on the H100; as a what-if RTX-4090 (owned) its 450 W TDP is charged:
    # 1,600 x 7.2 / (3 x 8760) = 0.438356 + 0.45 kW x 0.63 x 1.3 = 0.36855 -> 0.806906 CNY per GPU-hour
    mine = self_cost(row(avg_power_w=500), CostOptions(basis="owned", what_if_hardware="RTX-4090"))
    assert mine.power_w == 450 and mine.power_source == "tdp"
    assert mine.gpu_cny_per_hour == pytest.approx(1600 * 7.2 / 26_280 + 0.45 * 0.63 * 1.3)
