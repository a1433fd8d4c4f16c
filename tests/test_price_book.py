"""The vendor book of 2026: tiered prices (by input length, output length, thinking), check dates and the
staleness warning, sources required, vendor family names, --format json|csv, and what is in force on
2026-12-01. Expected values are computed by hand in the comments."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import yaml

from bench.cli import main
from bench.config.price_tiers import Tier, check_tiers, pick_tier, smallest_tier
from bench.config.prices import PriceBook, in_force, load_prices, select, staleness_note
from bench.core.errors import BenchError
from bench.display.price_export import FIELDS
from bench.studies import seed_claims as sc
from bench.studies.claim_inputs import _rows_of

DEC_1_2026 = dt.date(2026, 12, 1)
ROW = {"vendor": "V", "model": "m", "applies_from": "2025-01-01", "currency": "CNY", "source": "test",
       "checked_on": "2025-01-01"}
# doubao-seed-1.6's table: input <= 32K with output <= 200 tokens, or above; 32K-128K; 128K-256K
SEED_TIERS = [
    {"input_up_to": 32000, "output_up_to": 200, "input_per_m": 0.8, "output_per_m": 2},
    {"input_up_to": 32000, "output_above": 200, "input_per_m": 0.8, "output_per_m": 8},
    {"input_above": 32000, "input_up_to": 128000, "input_per_m": 1.2, "output_per_m": 16},
    {"input_above": 128000, "input_up_to": 256000, "input_per_m": 2.4, "output_per_m": 24},
]


def book(*rows: dict) -> PriceBook:
    return PriceBook.model_validate({"schema_version": 1, "prices": list(rows)})


def tiers(rows: list[dict]) -> list[Tier]:
    return [Tier.model_validate(t) for t in rows]


# ---------------------------------------------------------------- tiers


@pytest.mark.parametrize("tokens_in, tokens_out, expected", [
    (1_000, 150, (0.8, 2)),      # a short answer: the 200-token output tier
    (1_000, 200, (0.8, 2)),      # 200 is in it (<= 200)
    (1_000, 201, (0.8, 8)),      # one token more: the other output tier
    (32_000, 500, (0.8, 8)),     # 32,000 is in the first input range (<= 32K)
    (32_001, 10, (1.2, 16)),     # above it: the 32K-128K tier, whatever the output
    (200_000, 10, (2.4, 24)),
    (300_000, 10, (2.4, 24)),    # beyond every tier (the vendor refuses it): the last, the nearest held
    (0, 0, (0.8, 2)),
])
def test_pick_tier_by_input_and_output_length(tokens_in, tokens_out, expected):
    t = pick_tier(tiers(SEED_TIERS), tokens_in, tokens_out)
    assert (t.input_per_m, t.output_per_m) == expected


def test_the_default_price_of_a_tiered_row_is_its_smallest_tier():
    p = book({**ROW, "tiers": SEED_TIERS}).prices[0]
    # no top-level prices given: they come from the tier of the lowest input and lowest output range
    assert (p.input_per_m, p.output_per_m) == (0.8, 2)
    assert smallest_tier(p.tiers).output_up_to == 200
    # blended 3:1 from the default: (3 x 0.8 + 2) / 4 = 1.10
    assert p.blended_cny_per_m((3, 1)) == pytest.approx(1.10)
    # a run of 512 in / 256 out pays the second tier: (3 x 0.8 + 8) / 4 = 2.60
    assert p.for_request(512, 256).blended_cny_per_m((3, 1)) == pytest.approx(2.60)
    assert p.for_request(None, 256) is p  # a length unknown: the default
    with pytest.raises(ValueError, match="differ from the smallest tier"):
        book({**ROW, "input_per_m": 1.2, "output_per_m": 16, "tiers": SEED_TIERS})


def test_thinking_output_and_cache_price_per_tier():
    qwen_plus = [  # Bailian's qwen-plus: by input length, thinking output apart, cache hit 20%
        {"input_up_to": 128000, "input_per_m": 0.8, "input_cache_hit_per_m": 0.16, "output_per_m": 2,
         "thinking_output_per_m": 8},
        {"input_above": 128000, "input_up_to": 256000, "input_per_m": 2.4, "input_cache_hit_per_m": 0.48,
         "output_per_m": 20, "thinking_output_per_m": 24},
    ]
    p = book({**ROW, "tiers": qwen_plus}).prices[0]
    assert p.thinking_output_per_m == 8 and p.input_cache_hit_per_m == 0.16
    r = p.request_price(150_000, 1_000, thinking=True)
    assert (r.input_per_m, r.input_cache_hit_per_m, r.output_per_m) == (2.4, 0.48, 24)
    assert p.request_price(150_000, 1_000).output_per_m == 20
    # one request of 150,000 prompt tokens (60% from the cache) and 1,000 thinking output tokens costs
    # (0.6 x 150,000 x 0.48 + 0.4 x 150,000 x 2.4 + 1,000 x 24) / 1e6 = (43,200 + 144,000 + 24,000) / 1e6 CNY
    cost = (0.6 * 150_000 * r.input_cache_hit_per_m + 0.4 * 150_000 * r.input_per_m + 1_000 * r.output_per_m) / 1e6
    assert cost == pytest.approx(0.2112)


@pytest.mark.parametrize("table, message", [
    ([{"input_up_to": 32000, "input_per_m": 1, "output_per_m": 2},
      {"input_above": 16000, "input_per_m": 2, "output_per_m": 4}], "tiers overlap: input tokens 0-32000 and 16000-open"),
    ([{"input_up_to": 32000, "input_per_m": 1, "output_per_m": 2},
      {"input_above": 64000, "input_per_m": 2, "output_per_m": 4}], "tiers leave a gap: input tokens 32000-64000"),
    ([{"input_above": 1000, "input_per_m": 1, "output_per_m": 2}], "tiers leave a gap: input tokens 0-1000"),
    ([{"input_up_to": 32000, "output_up_to": 200, "input_per_m": 1, "output_per_m": 2},
      {"input_up_to": 32000, "output_above": 300, "input_per_m": 1, "output_per_m": 8},
      {"input_above": 32000, "input_per_m": 2, "output_per_m": 9}], r"gap: output \(of input 0-32000\) tokens 200-300"),
    ([{"input_up_to": 32000, "input_per_m": 1, "output_per_m": 2},
      {"input_up_to": 32000, "input_per_m": 1, "output_per_m": 3}], "two tiers for input tokens 0-32000"),
    ([{"input_above": 5000, "input_up_to": 4000, "input_per_m": 1, "output_per_m": 2}], "must be above"),
])
def test_a_tier_table_with_overlaps_or_gaps_is_refused(table, message):
    with pytest.raises(ValueError, match=message):
        check_tiers(tiers(table))


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


# ---------------------------------------------------------------- sources and check dates


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
    with pytest.raises(ValueError, match="has no source"):
        book({**ROW, "source": "  "})


def test_every_row_of_the_book_has_a_source_and_a_check_date_not_in_the_future():
    for p in load_prices().prices:
        assert p.source.strip() and p.checked_on <= dt.date(2026, 12, 6), p.label


def test_staleness_note_after_90_days_of_the_newest_check():
    priced = {**ROW, "input_per_m": 1, "output_per_m": 2}
    a = book({**priced, "checked_on": "2026-01-19"}, {**priced, "model": "n", "checked_on": "2025-06-01"}).prices
    # newest check 2026-01-19; + 90 days = 2026-04-19: still fresh; 2026-04-20 is 91 days after it
    assert staleness_note(a, dt.date(2026, 4, 19)) is None
    note = staleness_note(a, dt.date(2026, 4, 20))
    assert note.startswith("the price book was last checked on 2026-01-19: prices may have changed")
    assert "91 days" in note
    assert staleness_note([], DEC_1_2026) is None


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


# ---------------------------------------------------------------- names and formats


@pytest.mark.parametrize("name, vendor", [
    ("hunyuan", "Tencent"), ("tencent", "Tencent"), ("qwen", "Alibaba"), ("bailian", "Alibaba"),
    ("DashScope", "Alibaba"), ("doubao", "ByteDance"), ("volcengine", "ByteDance"), ("ark", "ByteDance"),
    ("glm", "Zhipu"), ("bigmodel", "Zhipu"), ("kimi", "Moonshot"), ("moonshot", "Moonshot"), ("deepseek", "DeepSeek"),
])
def test_vendor_family_names_resolve(name, vendor):
    assert {p.vendor for p in select(load_prices(), [name])} == {vendor}


def test_a_misspelt_family_name_gets_did_you_mean(capsys):
    assert main(["prices", "--vendor", "hunyan"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "did you mean hunyuan" in err
    with pytest.raises(BenchError, match="did you mean ByteDance"):
        select(load_prices(), ["bytedanse"])


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


# ---------------------------------------------------------------- the book on 2026-12-01


def test_the_vendors_current_small_tiers_and_flagships_on_2026_12_01(capsys):
    prices = {p.model: p for p in in_force(load_prices(), DEC_1_2026).prices}
    expected = {  # model: (input, output per M, the day it was last checked)
        "deepseek-flash": (2, 8, dt.date(2026, 9, 13)),         # peak rate; off-peak half
        "deepseek-v4-pro": (9, 27, dt.date(2026, 9, 13)),
        "qwen-flash": (0.15, 1.5, dt.date(2026, 4, 22)),         # input up to 128K
        "qwen3-max": (2.5, 10, dt.date(2026, 4, 22)),            # input up to 32K
        "doubao-seed-1.6-flash": (0.15, 1.5, dt.date(2026, 2, 15)),
        "doubao-seed-2.0-pro": (3.2, 16, dt.date(2026, 2, 15)),
        "glm-4.5-air": (0.8, 2, dt.date(2025, 12, 22)),          # input up to 32K, output up to 200 tokens
        "glm-4.7": (2, 8, dt.date(2026, 1, 19)),
        "kimi-k2-0905-preview": (4, 16, dt.date(2025, 11, 6)),
        "kimi-k2.6": (6.5, 27, dt.date(2026, 6, 12)),
        "hunyuan-turbo-latest": (2.4, 9.6, dt.date(2025, 12, 17)),
        "hy3-preview": (1.2, 4, dt.date(2026, 4, 23)),            # input up to 16K
    }
    for model, (i, o, checked) in expected.items():
        p = prices[model]
        assert (p.input_per_m, p.output_per_m, p.checked_on) == (i, o, checked), model
    # retired names are not in force: deepseek-chat and -reasoner stopped after 2026-07-24, GPT-4 on 2026-10-23
    for gone in ("deepseek-chat", "deepseek-reasoner", "gpt-4", "gpt-4-turbo", "claude-3.5-sonnet", "glm-4-0520"):
        assert gone not in prices
    assert prices["hunyuan-standard-256k"].input_per_m == 0.5  # 15 / 60 until 2025-03-22
    assert prices["glm-4-air"].input_per_m == 0.5
    # the command shows them with the day each was checked and its source
    assert main(["prices", "--as-of", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    for model in ("deepseek-flash", "qwen-flash", "doubao-seed-1.6-flash", "glm-4.5-air", "kimi-k2.6", "hy3-preview"):
        line = next(ln for ln in out.splitlines() if f"│ {model} " in ln)
        assert str(expected[model][2]) in line, model
    assert "qwen.ts" in out and "deepseek.ts" in out  # the source column (model-bank files, wrapped in cells)


def test_deepseek_history_dates():
    def price(model: str, day: str) -> tuple:
        p = next(p for p in in_force(load_prices(), dt.date.fromisoformat(day), [model]).prices if p.model == model)
        return p.version, p.input_per_m, p.input_cache_hit_per_m, p.output_per_m

    assert price("deepseek-chat", "2025-01-05") == ("V2/V2.5/V3", 1, 0.1, 2)  # V3's launch price
    assert price("deepseek-reasoner", "2025-01-20") == ("R1 (V3.1 from 2025-08-21)", 4, 1, 16)
    assert price("deepseek-reasoner", "2025-09-05") == ("V3.1", 4, 0.5, 12)
    assert price("deepseek-reasoner", "2025-09-29") == ("V3.2", 2, 0.2, 3)
    assert price("deepseek-chat", "2026-04-26") == ("V4-Flash", 1, 0.02, 2)
    assert price("deepseek-chat", "2026-07-24")[1] == 1
    with pytest.raises(BenchError, match="ended before then"):
        price("deepseek-chat", "2026-07-25")


def test_doubao_seed_cheap_output_is_for_outputs_of_at_most_200_tokens():
    p = next(p for p in load_prices().prices if p.model == "doubao-seed-1.6")
    assert p.request_price(8_000, 200).output_per_m == 2 and p.request_price(8_000, 201).output_per_m == 8
    assert "at most 200 tokens" in p.notes


def test_off_peak_windows_and_weekends():
    dsk = next(p for p in load_prices().prices if p.model == "deepseek-flash")
    assert dsk.off_peak.window == "18:00-09:00,12:00-14:00" and dsk.off_peak.weekends
    with pytest.raises(ValueError):
        book({**ROW, "input_per_m": 1, "output_per_m": 2, "off_peak": {"window": "18-09", "discount": 0.5}})


# ---------------------------------------------------------------- the articles' claims on the new book


def test_a_price_step_is_shown_only_when_the_price_changed():
    text = sc._history_text(_rows_of(load_prices(), "deepseek-chat"))
    # V2 1/2, V2/V2.5/V3 1/2 (same price: no step), V3 2/8, V3.1 4/12, V3.2 2/3, V4-Flash 1/2 (twice: one step)
    assert text == ("1/2 -> 2/8 from 2025-02-09 (+100% input) -> 4/12 from 2025-09-05 (+100% input) -> "
                    "2/3 from 2025-09-29 (-50% input) -> 1/2 from 2026-04-24 (-50% input)")
    assert "1/2 -> 1/2" not in text


def test_no_yearly_rate_from_a_cut_within_months_and_no_comparison_across_models():
    changes = [t for _, t in sc._price_changes(load_prices(), (3, 1), 7.2)]
    # qwen-turbo 2 / 6 -> 0.3 / 0.6 121 days later: blended 3:1 (3 x 2 + 6) / 4 = 3 -> (3 x 0.3 + 0.6) / 4 = 0.375,
    # 8x; 8 ** (365.25 / 121) would read as 532x a year: no rate is given under a year
    assert "qwen-turbo 8x cheaper from 2024-05-21 to 2024-09-19 (121 days: under a year, no yearly rate)" in changes
    assert not any("532" in t for t in changes)
    # qwen-max: Qwen-Max 40 / 120 and the Qwen2.5-Max of 2025 are different models, never compared
    assert not any(t.startswith("qwen-max") for t in changes)
    # ERNIE 4.0 8K 120 / 120 -> 4 / 16 over 379 days: blended 120 -> (12 + 16) / 4 = 7, 17.1x; 17.14 ** (365.25 / 379)
    assert "ernie-4.0-8k 17.1x cheaper from by 2024-03-02 to by 2025-03-16 (379 days; annualised 15.5x cheaper a " \
        "year)" in changes


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


STALE_ZHIPU = ("warning: the price book was last checked on 2026-01-19: prices may have changed (316 days before "
               "--as-of 2026-12-01; update prices.yaml from the vendors' pages)")


def test_bench_cost_warns_when_the_book_is_old_for_the_day(tmp_path, capsys):
    from result_rows import row, write_rows

    runs = write_rows(tmp_path / "runs.csv", [row()])
    # GLM-4.5's row was last checked 2026-01-19 (the 2026 model-bank file): 316 days before 2026-12-01
    assert main(["cost", str(runs), "--hardware", "H100-SXM", "--as-of", "2026-12-01", "--vendors", "glm-4.5"]) == 0
    assert capsys.readouterr().err.strip().splitlines() == [STALE_ZHIPU]
    assert main(["cost", str(runs), "--hardware", "H100-SXM", "--as-of", "2026-04-19", "--vendors", "glm-4.5"]) == 0
    assert capsys.readouterr().err == ""  # 90 days after 2026-01-19: fresh


def test_bench_plan_and_report_warn_and_plan_json_carries_it(tmp_path, capsys):
    from test_plan import measured_csv

    csv_path = measured_csv(tmp_path)
    assert main(["plan", str(csv_path), "--model", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "--traffic",
                 "100M/day", "--slo-tpot-ms", "40", "--gpu-cny-per-hour", "10", "--vendors", "glm-4.5",
                 "--as-of", "2026-12-01", "--format", "json"]) == 0
    out = capsys.readouterr()
    assert out.err.strip().splitlines() == [STALE_ZHIPU]
    assert json.loads(out.out)["price_book_note"] == STALE_ZHIPU.removeprefix("warning: ")
    assert main(["report", str(csv_path), "--gpu-cny-per-hour", "10", "--vendors", "glm-4.5", "--as-of",
                 "2026-12-01", "--out", str(tmp_path / "report")]) == 0
    assert capsys.readouterr().err.strip().splitlines() == [STALE_ZHIPU]
