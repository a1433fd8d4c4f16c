"""hardware.yaml: every reference GPU with its figures, sources and prices; lookups by name."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import yaml

from bench.cli import main
from bench.core.errors import BenchError
from bench.config.hardware import Hardware, Price, get_hardware, load_hardware

DATA = Path(__file__).resolve().parents[1] / "data"


def reference_specs() -> list[dict]:
    """../shared/reference/gpu_specs.csv, copied to tests/data."""
    with (DATA / "gpu_specs.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_every_reference_gpu_with_its_figures():
    book = load_hardware()
    for ref in reference_specs():
        hw = book.hardware[ref["gpu"]]
        assert hw.kind == "gpu"
        assert hw.memory_gb == float(ref["memory_gb"])
        assert hw.memory_bw_tb_s == float(ref["memory_bw_tb_s"])
        assert hw.bf16_tflops == float(ref["bf16_dense_tflops"])
        assert hw.fp8_tflops == (float(ref["fp8_dense_tflops"]) if ref["fp8_dense_tflops"] else None)
        assert hw.tdp_w == float(ref["tdp_w"])


def test_a_generic_cpu_server():
    cpu = get_hardware("cpu-server")
    assert cpu.kind == "cpu" and cpu.cores == 96
    assert cpu.memory_bw_tb_s == pytest.approx(12 * 4800e6 * 8 / 1e12)  # 12 DDR5-4800 channels
    assert cpu.rental.per_card_cny() == pytest.approx(0.04 * 96)


def test_every_figure_has_a_source_and_a_date():
    for name, hw in load_hardware().hardware.items():
        assert hw.spec_source and hw.spec_date, name
        for price in hw.purchase_quotes_all + hw.rental_quotes:
            assert price.source and price.date and price.currency in ("CNY", "USD"), name
            assert price.market in ("cn", "global") and price.kind in ("list", "reseller", "news", "analyst", "survey")


def test_prices_per_card_in_cny():
    # RunPod's Community Cloud list price, USD 2.69 x 7.2 = 19.368 (not the 4.76 = 2.69 x 1.768 held before)
    assert get_hardware("H100-SXM").rental.per_card_cny() == pytest.approx(2.69 * 7.2)
    assert get_hardware("H100-SXM").purchase.per_card_cny(7.0) == pytest.approx(27_500 * 7.0)
    # an 8-card server quote: 2.3M CNY / 8 (the A800 before its one-week spike)
    assert get_hardware("A800-80G-SXM").purchase.per_card_cny() == pytest.approx(287_500)
    assert get_hardware("H800-SXM").purchase.per_card_cny() == pytest.approx(2_300_000 / 8)
    # a monthly rent of an 8-card node: 70,000 CNY / 8 cards / 730 h = 11.9863 CNY per card-hour
    node = next(q for q in get_hardware("H100-SXM").rental_quotes if q.market == "cn")
    assert node.period == "month" and node.kind == "news"
    assert node.per_card_cny() == pytest.approx(70_000 / 8 / 730)


def test_the_export_parts_have_a_china_rental_quote():
    """H20, H800 and L20 are sold only in China: AutoDL's list prices (2026-09-24), in CNY, no FX."""
    for name, cny in (("H20", 10.50), ("H800-SXM", 10.50), ("L20", 3.87)):
        q = get_hardware(name).rental
        assert (q.market, q.kind, q.currency, q.date) == ("cn", "list", "CNY", "2026-09-24")
        assert q.per_card_cny() == pytest.approx(cny)


def test_a_quote_date_and_its_first_day():
    from bench.config.hardware import quote_day

    assert quote_day("2024") == dt.date(2024, 1, 1) and quote_day("2024-05") == dt.date(2024, 5, 1)
    assert quote_day("2026-09-24") == dt.date(2026, 9, 24)
    for bad in ("2024-13", "May 2024", "2024/05"):
        with pytest.raises(ValueError, match="YYYY, YYYY-MM, YYYY-MM-DD or 'undated'"):
            quote_day(bad)


def test_names_are_case_insensitive():
    assert get_hardware("h100-sxm") is get_hardware("H100-SXM")
    assert get_hardware(" rtx-4090 ").tdp_w == 450


def test_unknown_hardware_lists_close_names():
    with pytest.raises(BenchError, match=r"unknown hardware 'H100'; did you mean .*H100-SXM"):
        get_hardware("H100")
    with pytest.raises(BenchError, match="did you mean L40S"):
        get_hardware("L40")


def test_schema_is_strict():
    spec = {"kind": "gpu", "memory_gb": 80, "memory_bw_tb_s": 2, "tdp_w": 300, "spec_source": "s", "spec_date": "2024"}
    Hardware.model_validate(spec)
    with pytest.raises(ValueError, match="extra"):
        Hardware.model_validate({**spec, "memory": 80})
    with pytest.raises(ValueError):
        Hardware.model_validate({**spec, "memory_gb": 0})
    price = {"price": 1.0, "currency": "USD", "source": "s", "date": "2026", "market": "global", "kind": "list"}
    Price.model_validate(price)
    for field in ("market", "kind"):  # a quote says where it was quoted and what kind of figure it is
        with pytest.raises(ValueError, match=field):
            Price.model_validate({k: v for k, v in price.items() if k != field})
    with pytest.raises(ValueError, match="market"):
        Price.model_validate({**price, "market": "eu"})
    with pytest.raises(ValueError, match="write market: cn, tier: on-demand"):
        Price.model_validate({**price, "tier": "china-cloud"})
    with pytest.raises(ValueError):
        Price.model_validate({**price, "price": 0})  # a price <= 0
    with pytest.raises(ValueError):
        Price.model_validate({**price, "currency": "EUR"})
    with pytest.raises(ValueError, match="above high"):
        Price.model_validate({**price, "low": 3, "high": 2})


def test_a_bad_hardware_file_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "hardware.yaml"
    bad.write_text(yaml.safe_dump({"schema_version": 1, "hardware": {"X": {"kind": "gpu", "memory_gb": 80}}}))
    monkeypatch.setenv("BENCH_HARDWARE", str(bad))
    runs = tmp_path / "runs.csv"
    runs.write_text("run_id\n")
    assert main(["cost", str(runs), "--hardware", "X"]) == 2
    err = capsys.readouterr().err.strip()
    assert "missing field 'hardware.X.memory_bw_tb_s'" in err and len(err.splitlines()) == 1
