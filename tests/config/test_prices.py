"""prices.yaml: the history holds the reference table, the rules hold, `bench prices` lists by date."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import yaml

from bench.cli import main
from bench.core.errors import BenchError
from bench.config.prices import PriceBook, in_force, load_prices, select

DATA = Path(__file__).resolve().parents[1] / "data"
MAY_31_2024 = dt.date(2024, 5, 31)


def reference_rows() -> list[dict]:
    """../shared/reference/api_prices_cny.csv, copied to tests/data (CNY; USD rows at 7.2)."""
    with (DATA / "api_prices_cny.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def day(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


# Reference rows whose dates the book corrects: (vendor, model, reference applies_from)
# -> (applies_from, applies_to, seen_on) in the book. A date the reference gives as a start was the day a
# source showed the price, or the book ends an open row where a later price was seen.
CORRECTED = {
    ("Alibaba", "qwen-max", "2024-05-21"): (dt.date(2024, 5, 21), dt.date(2025, 2, 5), None),
    ("Alibaba", "qwen-72b-chat", "2024-05-01"): (None, None, dt.date(2024, 5, 1)),
    ("Alibaba", "qwen2.5-7b-instruct", "2025-01-01"): (None, None, dt.date(2025, 1, 1)),
    ("Alibaba", "qwen2.5-72b-instruct", "2025-01-01"): (None, None, dt.date(2025, 1, 1)),
    ("Baidu", "ernie-4.0-8k", "2024-05-23"): (None, dt.date(2025, 2, 5), dt.date(2024, 3, 2)),
    ("01.AI", "yi-large", "2024-05-23"): (dt.date(2024, 5, 13), None, None),
    ("Tencent", "hunyuan-standard", "2024-05-22"): (dt.date(2024, 5, 22), dt.date(2025, 3, 22), None),
    # prices the reference gives as open that ended since (the vendor book of 2026)
    ("Alibaba", "qwen-turbo", "2024-09-19"): (dt.date(2024, 9, 19), dt.date(2025, 7, 14), None),
    ("Alibaba", "qwen-plus", "2024-09-19"): (dt.date(2024, 9, 19), dt.date(2025, 9, 10), None),
    ("Zhipu", "glm-4-air", "2024-06-05"): (dt.date(2024, 6, 5), dt.date(2025, 4, 13), None),
    ("DeepSeek", "deepseek-chat (V3.2)", "2025-09-29"): (dt.date(2025, 9, 29), dt.date(2026, 4, 23), None),
    ("Tencent", "hunyuan-standard-256k", "2024-05-22"): (dt.date(2024, 5, 22), dt.date(2025, 3, 22), None),
    ("OpenAI", "gpt-4-turbo", "2023-11-06"): (dt.date(2023, 11, 6), dt.date(2026, 10, 22), None),
    ("Anthropic", "claude-3.5-sonnet", "2024-06-20"): (dt.date(2024, 6, 20), dt.date(2025, 10, 27), None),
}
# Reference labels the book corrects: the V2/V2.5 price also covered V3's launch (2024-12-26 to 2025-02-08).
RELABELLED = {"deepseek-chat (V2/V2.5)": "deepseek-chat (V2/V2.5/V3)"}


def test_every_reference_row_is_in_the_price_book():
    book = load_prices()
    for ref in reference_rows():
        dates = CORRECTED.get((ref["vendor"], ref["model"], ref["applies_from"]),
                              (day(ref["applies_from"]), day(ref["applies_to"]), None))
        label = RELABELLED.get(ref["model"], ref["model"])
        hits = [p for p in book.prices if p.vendor == ref["vendor"] and p.label == label
                and (p.applies_from, p.applies_to, p.seen_on) == dates]
        assert len(hits) == 1, f"{ref['vendor']} {ref['model']} {ref['applies_from']}..{ref['applies_to']}"
        p = hits[0]
        assert p.input_cny_per_m(7.2) == pytest.approx(float(ref["input_cny_per_m"]))
        assert p.output_cny_per_m(7.2) == pytest.approx(float(ref["output_cny_per_m"]))
        hit = ref["input_cache_hit_cny_per_m"]
        assert p.cache_hit_cny_per_m(7.2) == (pytest.approx(float(hit)) if hit else None)
        assert p.source


def test_may_2024_price_war():
    prices = {p.label: p for p in in_force(load_prices(), MAY_31_2024).prices}
    assert prices["doubao-pro-32k"].input_per_m == 0.8 and prices["doubao-pro-32k"].output_per_m == 2
    assert prices["qwen-long"].input_per_m == 0.5  # cut from 20 on 2024-05-21
    assert prices["glm-3-turbo"].input_per_m == 1  # cut from 5 on 2024-05-11
    assert prices["deepseek-chat (V2)"].input_per_m == 1
    assert prices["glm-4"].input_per_m == 100
    assert prices["qwen-72b-chat"].input_per_m == 20
    assert prices["gpt-4-turbo"].input_cny_per_m() == pytest.approx(72)
    assert prices["gpt-4o"].input_per_m == 5  # the 2024-08-06 cut has not happened yet
    for free in ("ernie-speed-8k", "ernie-lite-8k", "hunyuan-lite", "spark-lite"):
        assert prices[free].free
    assert "doubao-1.5-pro-32k" not in prices and "qwen2.5-7b-instruct" not in prices


def test_one_price_per_vendor_model_on_any_day():
    book = load_prices()
    for d in (dt.date(2024, 5, 20), MAY_31_2024, dt.date(2024, 8, 2), dt.date(2025, 2, 26), dt.date(2026, 1, 1)):
        keys = [(p.vendor, p.model) for p in in_force(book, d).prices]
        assert len(keys) == len(set(keys))


def test_price_changes_by_date():
    book = load_prices()

    def price(model: str, d: dt.date) -> float:
        return next(p for p in in_force(book, d, [model]).prices if p.model == model).input_per_m

    assert price("qwen-long", dt.date(2024, 5, 20)) == 20 and price("qwen-long", dt.date(2024, 5, 21)) == 0.5
    # a price known only as "before the cut" counts from the book's earliest dated price
    assert load_prices().earliest_known == dt.date(2023, 3, 14)  # GPT-4's launch price
    assert price("qwen-long", dt.date(2023, 3, 14)) == 20
    assert price("deepseek-chat", dt.date(2025, 9, 5)) == 4 and price("deepseek-chat", dt.date(2025, 9, 29)) == 2


def test_select_by_vendor_or_model_case_insensitive():
    book = load_prices()
    assert {p.vendor for p in select(book, ["bytedance"])} == {"ByteDance"}
    assert {p.model for p in select(book, ["DOUBAO-PRO-32K"])} == {"doubao-pro-32k"}
    with pytest.raises(BenchError, match="did you mean ByteDance"):
        select(book, ["bytedanse"])


def test_as_of_before_every_price():
    with pytest.raises(BenchError, match="before every known price"):
        in_force(load_prices(), dt.date(2020, 1, 1))


# ---------------------------------------------------------------- the schema's rules

ROW = {"vendor": "V", "model": "m", "applies_from": "2024-01-01", "currency": "CNY", "input_per_m": 1,
       "output_per_m": 2, "source": "test",
       "checked_on": "2024-01-01"}


def book(*rows: dict) -> PriceBook:
    return PriceBook.model_validate({"schema_version": 1, "prices": list(rows)})


def test_overlapping_ranges_of_one_vendor_model_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        book({**ROW, "applies_to": "2024-06-01"}, {**ROW, "applies_from": "2024-06-01"})
    with pytest.raises(ValueError, match="overlap"):
        book(ROW, {**ROW, "applies_from": "2025-01-01"})  # the first is still open
    book({**ROW, "applies_to": "2024-05-31"}, {**ROW, "applies_from": "2024-06-01"})  # back to back is fine
    book(ROW, {**ROW, "model": "other"})


def test_a_paid_price_must_be_above_zero():
    with pytest.raises(ValueError, match="<= 0 on a paid model"):
        book({**ROW, "input_per_m": 0})
    with pytest.raises(ValueError):
        book({**ROW, "output_per_m": -1})
    book({**ROW, "input_per_m": 0, "output_per_m": 0, "free": True})
    with pytest.raises(ValueError, match="free: true, but a price is not 0"):
        book({**ROW, "free": True})


def test_dates_and_fields_are_checked():
    with pytest.raises(ValueError, match="before applies_from"):
        book({**ROW, "applies_to": "2023-01-01"})
    with pytest.raises(ValueError, match="give applies_to"):
        book({**ROW, "applies_from": None})
    with pytest.raises(ValueError, match="extra"):
        book({**ROW, "input_price": 1})
    with pytest.raises(ValueError):
        book({**ROW, "currency": "EUR"})


def test_a_bad_prices_file_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "prices.yaml"
    bad.write_text(yaml.safe_dump({"schema_version": 1, "prices": [
        {**ROW, "applies_from": dt.date(2024, 1, 1), "applies_to": dt.date(2024, 6, 1)},
        {**ROW, "applies_from": dt.date(2024, 5, 1)}]}))
    monkeypatch.setenv("BENCH_PRICES", str(bad))
    assert main(["prices"]) == 2
    err = capsys.readouterr().err.strip()
    assert "overlap" in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------- bench prices


def test_bench_prices_as_of_may_2024(capsys):
    assert main(["prices", "--as-of", "2024-05-31"]) == 0
    out = capsys.readouterr().out
    assert "28 vendor models" in out and "doubao-pro-32k" in out and "qwen-long" in out
    assert "doubao-1.5-pro-32k" not in out


def test_bench_prices_vendor_and_history(capsys):
    assert main(["prices", "--vendor", "deepseek", "--all", "--sources"]) == 0
    out = capsys.readouterr().out
    # deepseek-chat 7 rows (V2, V2/V2.5/V3, V3, V3.1, V3.2, V4-Flash x2), deepseek-reasoner 5, deepseek-v4-flash 3,
    # deepseek-flash 1, deepseek-v4-pro 3: 19
    assert "19 rows" in out and "V3.2" in out and "api-docs.deepseek.com" in out


def test_bench_prices_defaults_to_today(capsys):
    assert main(["prices"]) == 0
    assert f"in force on {dt.date.today()}" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--vendor", "bytedanse"], "did you mean ByteDance"),
    (["--as-of", "2020-01-01"], "before every known price"),
    (["--as-of", "31/05/2024"], "YYYY-MM-DD"),
])
def test_bench_prices_bad_input(capsys, args, message):
    assert main(["prices", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------- history against the articles


def test_prices_before_the_may_2024_cuts():
    book = load_prices()

    def prices(model: str, d: dt.date) -> tuple[float, float]:
        p = next(p for p in in_force(book, d, [model]).prices if p.model == model)
        return p.input_per_m, p.output_per_m

    before, after = dt.date(2024, 5, 20), dt.date(2024, 5, 22)
    assert prices("hunyuan-standard", before) == (12, 12) and prices("hunyuan-standard", after) == (4.5, 5)
    assert prices("hunyuan-pro", before) == (120, 120) and prices("hunyuan-pro", after) == (30, 100)
    # 87.5% off 120 is 120 x 0.125 = 15
    assert prices("hunyuan-standard-256k", before)[0] * (1 - 0.875) == prices("hunyuan-standard-256k", after)[0] == 15
    assert prices("ernie-speed-8k", before) == (4, 8) and prices("ernie-speed-8k", after) == (0, 0)
    assert prices("ernie-lite-8k", before) == (3, 6) and prices("ernie-lite-8k", after) == (0, 0)
    assert prices("ernie-speed-128k", before) == (16, 32) and prices("ernie-lite-128k", before) == (12, 24)
    assert prices("qwen-max", before) == (120, 120) and prices("qwen-max", after) == (40, 120)  # input -67%
    assert prices("qwen-turbo", before) == (8, 8) and prices("qwen-turbo", after) == (2, 6)  # input -75%
    assert prices("qwen-plus", before) == (20, 20) and prices("qwen-plus", after) == (4, 12)  # input -80%


def test_gpt4_32k_input_is_the_articles_2400_tokens_per_cny():
    p = next(p for p in load_prices().prices if p.model == "gpt-4-32k")
    # 1 CNY / (60 USD/M x 7.2 CNY/USD) = 1e6 / 432 = 2,315 tokens; at 7.0 CNY/USD 1e6 / 420 = 2,381
    assert 1e6 / p.input_cny_per_m(7.2) == pytest.approx(2314.8, abs=0.1)
    assert 1e6 / p.input_cny_per_m(7.0) == pytest.approx(2381.0, abs=0.1)
    gpt4 = next(p for p in load_prices().prices if p.model == "gpt-4")
    assert gpt4.input_cny_per_m(7.2) == 216 and gpt4.output_cny_per_m(7.2) == 432


def test_a_price_seen_but_not_started_counts_from_the_day_seen():
    book = load_prices()
    yi = next(p for p in book.prices if p.model == "yi-large")
    assert yi.applies_from == dt.date(2024, 5, 13)  # its release, not the day a list showed it
    ernie = next(p for p in book.prices if p.model == "ernie-4.0-8k")
    assert ernie.applies_from is None and ernie.seen_on == dt.date(2024, 3, 2) and ernie.since == "by 2024-03-02"
    assert ernie.in_force(dt.date(2024, 3, 2)) and not ernie.in_force(dt.date(2024, 3, 1))
    # a change since 2024: qwen-max 2.4 / 9.6 seen 2025-02-06, nothing claimed between the sightings
    assert [p.input_per_m for p in in_force(book, dt.date(2026, 1, 1), ["qwen-max"]).prices] == [2.4]
    assert [p.input_per_m for p in in_force(book, dt.date(2025, 2, 5), ["qwen-max"]).prices] == [40]
    # ERNIE 4.0 8K: 120 -> 30 / 90 (seen 2025-02-06) -> 4 / 16 (seen 2025-03-16)
    ernie_by_day = [(p.input_per_m, p.output_per_m) for d in ("2025-02-05", "2025-02-06", "2025-03-16")
                    for p in in_force(book, dt.date.fromisoformat(d), ["ernie-4.0-8k"]).prices]
    assert ernie_by_day == [(120, 120), (30, 90), (4, 16)]


def test_seen_on_is_only_for_an_unknown_start():
    base = dict(vendor="V", model="m", currency="CNY", input_per_m=1, output_per_m=1, source="s",
                checked_on="2025-01-01")
    with pytest.raises(ValueError, match="seen_on is only"):
        PriceBook(prices=[{**base, "applies_from": "2025-01-01", "seen_on": "2025-01-02"}])
    with pytest.raises(ValueError, match="seen_on"):
        PriceBook(prices=[{**base, "applies_from": None}])
    ok = PriceBook(prices=[{**base, "applies_from": None, "seen_on": "2025-01-02"}])
    assert ok.earliest_known == dt.date(2025, 1, 2)
