"""bench prices, cost, plan and report on the vendor book of 2026: refusals in one line (a bad tier table, a row
without a source, a day before every price), the stale-book warning, family names, --format json|csv, and a
tiered vendor priced at each run's lengths."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

from bench.cli import main
from bench.display.price_export import FIELDS

ROW = {"vendor": "V", "model": "m", "applies_from": "2025-01-01", "currency": "CNY", "source": "test",
       "checked_on": "2025-01-01"}
STALE_ZHIPU = ("warning: the price book was last checked on 2026-01-19: prices may have changed (316 days before "
               "--as-of 2026-12-01; update prices.yaml from the vendors' pages)")


def test_a_bad_tier_table_is_one_line_exit_2_naming_the_file_and_row(tmp_path, monkeypatch, capsys):
    path = tmp_path / "prices.yaml"
    bad = {**ROW, "tiers": [{"input_up_to": 32000, "input_per_m": 1, "output_per_m": 2},
                            {"input_above": 16000, "input_per_m": 2, "output_per_m": 4}]}
    path.write_text(yaml.safe_dump({"schema_version": 1, "prices": [bad]}))
    before = path.read_bytes()
    monkeypatch.setenv("BENCH_PRICES", str(path))
    assert main(["prices"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err and "'prices.0'" in err and "V m: tiers overlap" in err
    assert path.read_bytes() == before


@pytest.mark.parametrize("missing", ["source", "checked_on"])
def test_a_row_without_a_source_or_check_date_is_refused_by_name(tmp_path, monkeypatch, capsys, missing):
    path = tmp_path / "prices.yaml"
    rows = [ROW, {k: v for k, v in {**ROW, "model": "unsourced"}.items() if k != missing}]
    path.write_text(yaml.safe_dump({"schema_version": 1, "prices": rows}))
    monkeypatch.setenv("BENCH_PRICES", str(path))
    assert main(["prices", "--all"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err and "'prices.1'" in err and f"V unsourced has no {missing}" in err
    assert "source: (where it was read" in err  # the fix


def test_bench_prices_warns_in_one_line_when_the_book_is_old_for_the_day(capsys):
    # Zhipu's newest check is 2026-01-19 (the 2026 model-bank file): 316 days before 2026-12-01
    assert main(["prices", "--vendor", "zhipu", "--as-of", "2026-12-01"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["warning: the price book was last checked on 2026-01-19: prices may have changed (316 days "
                   "before --as-of 2026-12-01; update prices.yaml from the vendors' pages)"]
    # DeepSeek's newest check is 2026-09-13: 79 days before 2026-12-01, no warning
    assert main(["prices", "--vendor", "deepseek", "--as-of", "2026-12-01"]) == 0
    assert capsys.readouterr().err == ""

def test_as_of_before_any_price_is_one_line_exit_2(capsys):
    assert main(["prices", "--as-of", "2023-03-13", "--vendor", "kimi"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "before every known price" in err

def test_a_misspelt_family_name_gets_did_you_mean(capsys):
    assert main(["prices", "--vendor", "hunyan"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "did you mean hunyuan" in err
    assert main(["prices", "--vendor", "bytedanse"]) == 2
    assert "did you mean ByteDance" in capsys.readouterr().err

def test_bench_prices_vendor_hunyuan(capsys):
    assert main(["prices", "--vendor", "hunyuan", "--as-of", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    assert "hy3-preview" in out and "hunyuan-standard-256k" in out and "Alibaba" not in out

def test_format_json_has_every_field_raw(capsys):
    assert main(["prices", "--vendor", "qwen-flash", "--as-of", "2026-12-01", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["as_of"] == "2026-12-01" and len(data["prices"]) == 1
    p = data["prices"][0]
    assert set(p) == set(FIELDS)
    assert (p["model"], p["currency"], p["input_per_m"], p["output_per_m"]) == ("qwen-flash", "CNY", 0.15, 1.5)
    assert p["checked_on"] == "2026-04-22" and "qwen.ts @0e45b9ce" in p["source"]
    assert p["batch_discount"] == 0.5
    # three input tiers: <= 128K 0.15 / 1.5 (cache 0.03), 128K-256K 0.6 / 6, 256K-1M 1.2 / 12
    assert [(t["input_above"], t["input_up_to"], t["input_per_m"], t["output_per_m"]) for t in p["tiers"]] == [
        (0, 128000, 0.15, 1.5), (128000, 256000, 0.6, 6), (256000, 1000000, 1.2, 12)]

def test_format_csv_has_every_field_and_tiers_as_json(capsys):
    assert main(["prices", "--vendor", "deepseek", "--as-of", "2026-12-01", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == FIELDS
    flash = next(r for r in rows if r["model"] == "deepseek-flash")
    assert (flash["input_per_m"], flash["input_cache_hit_per_m"], flash["output_per_m"]) == ("2.0", "0.04", "8.0")
    assert flash["checked_on"] == "2026-09-13" and flash["free"] == "false" and flash["tiers"] == ""
    assert json.loads(flash["off_peak"])["discount"] == 0.5
    assert main(["prices", "--vendor", "glm-4.5", "--as-of", "2026-12-01", "--format", "csv"]) == 0
    glm = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [t["output_per_m"] for t in json.loads(glm["tiers"])] == [8, 14, 16]


def test_bench_prices_shows_the_current_tiers_with_check_date_and_source(capsys):
    # a fresh clone's book on 2026-12-01 (tests/config/test_price_book.py checks the prices themselves)
    checked = {"deepseek-flash": "2026-09-13", "qwen-flash": "2026-04-22", "doubao-seed-1.6-flash": "2026-02-15",
               "glm-4.5-air": "2025-12-22", "kimi-k2.6": "2026-06-12", "hy3-preview": "2026-04-23"}
    assert main(["prices", "--as-of", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    for model, day in checked.items():
        line = next(ln for ln in out.splitlines() if f"│ {model} " in ln)
        assert day in line, model
    assert "qwen.ts" in out and "deepseek.ts" in out  # the source column (model-bank files, wrapped in cells)
    assert "│ deepseek-chat " not in out  # retired after 2026-07-24


def test_bench_cost_prices_a_tiered_vendor_at_the_runs_lengths(tmp_path):
    from result_rows import row, write_rows

    runs = write_rows(tmp_path / "runs.csv", [row(input_len=512, output_len=256),
                                              row(input_len=40_000, output_len=100, run=1)])
    out = tmp_path / "cost.csv"
    assert main(["cost", str(runs), "--hardware", "H100-SXM", "--as-of", "2026-03-01", "--vendors",
                 "doubao-seed-1.6", "--out", str(out)]) == 0
    with out.open(newline="") as f:
        lines = list(csv.DictReader(f))
    blended = [float(r["vendor_cny_per_m_blended"]) for r in lines]
    # 512 in / 256 out: input <= 32K, output > 200 -> 0.8 / 8, blended 3:1 (2.4 + 8) / 4 = 2.60;
    # 40,000 in: the 32K-128K tier 1.2 / 16 -> (3.6 + 16) / 4 = 4.90 (the default, 0.8 / 2, would say 1.10)
    assert blended == pytest.approx([2.60, 4.90])

def test_bench_cost_warns_when_the_book_is_old_for_the_day(tmp_path, capsys):
    from result_rows import row, write_rows

    runs = write_rows(tmp_path / "runs.csv", [row()])
    # GLM-4.5's row was last checked 2026-01-19 (the 2026 model-bank file): 316 days before 2026-12-01
    assert main(["cost", str(runs), "--hardware", "H100-SXM", "--as-of", "2026-12-01", "--vendors", "glm-4.5"]) == 0
    assert capsys.readouterr().err.strip().splitlines() == [STALE_ZHIPU]
    assert main(["cost", str(runs), "--hardware", "H100-SXM", "--as-of", "2026-04-19", "--vendors", "glm-4.5"]) == 0
    assert capsys.readouterr().err == ""  # 90 days after 2026-01-19: fresh

def test_bench_plan_and_report_warn_and_plan_json_carries_it(tmp_path, capsys):
    from result_rows import row, write_rows

    csv_path = write_rows(tmp_path / "h100.csv", [row(batch=b, hardware="H100-SXM") for b in (8, 32)])
    assert main(["plan", str(csv_path), "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--traffic",
                 "100M/day", "--gpu-cny-per-hour", "10", "--vendors", "glm-4.5", "--as-of", "2026-12-01",
                 "--format", "json"]) == 0
    out = capsys.readouterr()
    assert out.err.strip().splitlines() == [STALE_ZHIPU]
    assert json.loads(out.out)["price_book_note"] == STALE_ZHIPU.removeprefix("warning: ")
    assert main(["report", str(csv_path), "--gpu-cny-per-hour", "10", "--vendors", "glm-4.5", "--as-of",
                 "2026-12-01", "--out", str(tmp_path / "report")]) == 0
    assert capsys.readouterr().err.strip().splitlines() == [STALE_ZHIPU]
