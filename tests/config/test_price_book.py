"""prices.yaml, the vendor book of 2026: every row sourced and dated, the staleness note, vendor family names,
DeepSeek's history, doubao's 200-token output tier, off-peak windows, and what is in force on 2026-12-01.
Expected values are computed by hand in the comments."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.config.prices import PriceBook, in_force, load_prices, select, staleness_note
from bench.core.errors import BenchError

DEC_1_2026 = dt.date(2026, 12, 1)
ROW = {"vendor": "V", "model": "m", "applies_from": "2025-01-01", "currency": "CNY", "source": "test",
       "checked_on": "2025-01-01"}


def book(*rows: dict) -> PriceBook:
    return PriceBook.model_validate({"schema_version": 1, "prices": list(rows)})


def test_a_row_without_a_source_is_refused_by_name():
    with pytest.raises(ValueError, match="V m has no source"):
        book({**ROW, "input_per_m": 1, "output_per_m": 2, "source": "  "})
    with pytest.raises(ValueError, match="V m has no checked_on"):
        book({k: v for k, v in {**ROW, "input_per_m": 1, "output_per_m": 2}.items() if k != "checked_on"})


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

@pytest.mark.parametrize("name, vendor", [
    ("hunyuan", "Tencent"), ("tencent", "Tencent"), ("qwen", "Alibaba"), ("bailian", "Alibaba"),
    ("DashScope", "Alibaba"), ("doubao", "ByteDance"), ("volcengine", "ByteDance"), ("ark", "ByteDance"),
    ("glm", "Zhipu"), ("bigmodel", "Zhipu"), ("kimi", "Moonshot"), ("moonshot", "Moonshot"), ("deepseek", "DeepSeek"),
])
def test_vendor_family_names_resolve(name, vendor):
    assert {p.vendor for p in select(load_prices(), [name])} == {vendor}


def test_the_vendors_current_small_tiers_and_flagships_on_2026_12_01():
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


def test_vendor_book_summary_counts_rows_in_force_per_vendor(tmp_path, monkeypatch):
    import yaml

    from bench.config.prices import vendor_book_summary

    priced = {**ROW, "input_per_m": 1, "output_per_m": 2}
    tiered = {**ROW, "model": "t", "checked_on": "2026-03-01",
              "tiers": [{"input_up_to": 1000, "input_per_m": 1, "output_per_m": 2},
                        {"input_above": 1000, "input_per_m": 2, "output_per_m": 4}]}
    rows = [priced, tiered, {**priced, "model": "old", "applies_to": "2025-06-30"},  # ended: not counted
            {**priced, "vendor": "W", "checked_on": "2024-05-01"}]
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump({"schema_version": 1, "prices": rows}))
    monkeypatch.setenv("BENCH_PRICES", str(path))
    headers, lines = vendor_book_summary(DEC_1_2026)
    assert headers == ["vendor", "rows in force on 2026-12-01", "tiered", "newest checked_on", "oldest checked_on"]
    # V: m and t in force (old ended 2025-06-30), t tiered, checks 2025-01-01 and 2026-03-01; W: one row of 2024
    assert lines == [["V", "2", "1", "2026-03-01", "2025-01-01"], ["W", "1", "0", "2024-05-01", "2024-05-01"],
                     ["all", "3", "1", "2026-03-01", "2024-05-01"]]
