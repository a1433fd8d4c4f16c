"""A vendor's terms applied (bench.cost.vendor_terms, vendor_use): each expected value worked by hand."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bench.cli import main
from bench.config.prices import VendorPrice, load_prices, select
from bench.cost import vendor_terms as terms
from bench.cost.vendor_use import LIST, VendorUse, effective_price


def row(**kw) -> VendorPrice:
    base = dict(vendor="V", model="m", applies_from="2025-01-01", currency="CNY", input_per_m=2,
                output_per_m=8, source="test", checked_on="2025-01-01")
    return VendorPrice(**{**base, **kw})


def test_effective_input_at_a_cache_hit_rate():
    # DeepSeek V3: 2 CNY/M miss, 0.5 hit; 60% hits: 0.6 x 0.5 + 0.4 x 2 = 0.3 + 0.8 = 1.1
    assert terms.effective_input_cny_per_m(2, 0.5, 0.6) == pytest.approx(1.1)
    assert terms.effective_input_cny_per_m(2, None, 0.6) == 2  # no cache price: list for every token
    assert terms.effective_input_cny_per_m(2, 0.5, 1) == 0.5
    with pytest.raises(ValueError):
        terms.effective_input_cny_per_m(2, 0.5, 1.5)


def test_batch_discount():
    # doubao-pro-32k blended 3:1 = (3 x 0.8 + 2) / 4 = 1.1; batch half price: 1.1 x (1 - 0.5) = 0.55
    assert terms.batch_cny_per_m(1.1, 0.5) == pytest.approx(0.55)
    assert terms.batch_cny_per_m(1.1, None) == 1.1


def test_off_peak_share():
    # 3.5 CNY/M with 40% of tokens in a -50% window: 3.5 x (1 - 0.4 x 0.5) = 3.5 x 0.8 = 2.8
    assert terms.off_peak_cny_per_m(3.5, 0.5, 0.4) == pytest.approx(2.8)
    assert terms.off_peak_cny_per_m(3.5, None, 0.4) == 3.5


def test_free_quota_per_month():
    # 1M free a month of 4M used: 3M billable, 3/4 of the tokens; 2 CNY/M -> 2 x 0.75 = 1.5 on average
    assert terms.billable_share(4e6, 1e6) == 0.75
    assert terms.free_quota_cny_per_m(2, 4e6, 1e6) == pytest.approx(1.5)
    assert terms.free_quota_cny_per_m(2, 5e5, 1e6) == 0  # the quota covers the month
    assert terms.free_quota_cny_per_m(2, 4e6, None) == 2


def test_keys_needed_for_a_traffic():
    # doubao-pro-32k per key: 10,000 RPM / 800,000 TPM. Traffic 2,000,000 tokens/min and 3,000 req/min:
    # ceil(2e6 / 8e5) = ceil(2.5) = 3 keys for tokens, ceil(3000 / 10000) = 1 for requests -> 3
    assert terms.keys_needed(2e6, 3000, 800_000, 10_000) == 3
    # At the articles' 60-RPM condition the same 3,000 req/min need ceil(3000 / 60) = 50 keys
    assert terms.keys_needed(None, 3000, None, 60) == 50
    assert terms.keys_needed(100, 1, 800_000, 10_000) == 1  # at least one
    assert terms.keys_needed(2e6, None, None, 10_000) is None  # no TPM limit, no RPM traffic: unknown


def test_effective_price_applies_every_rule_and_names_it():
    p = row(input_cache_hit_per_m=0.5, batch_discount=0.5,
            off_peak={"window": "00:30-08:30", "discount": 0.5, "starts": "2025-02-26"},
            free_quota={"tokens": 1_000_000, "per": "month"}, rpm=60, tpm=100_000)
    use = VendorUse(cache_hit_rate=0.6, batch_api=True, off_peak_share=0.4, monthly_tokens=4e6,
                    traffic_tokens_per_min=250_000, traffic_requests_per_min=90)
    e = effective_price(p, use, dt.date(2025, 3, 1), (3, 1))
    # input 0.6 x 0.5 + 0.4 x 2 = 1.1; factor (1 - 0.5) x (1 - 0.4 x 0.5) x 3/4 = 0.5 x 0.8 x 0.75 = 0.3
    assert e.input_cny_per_m == pytest.approx(1.1 * 0.3)  # 0.33
    assert e.output_cny_per_m == pytest.approx(8 * 0.3)  # 2.4
    assert e.blended_cny_per_m == pytest.approx((3 * 0.33 + 2.4) / 4)  # 0.8475
    # keys: ceil(250,000 / 100,000) = 3, ceil(90 / 60) = 2 -> 3
    assert e.keys_needed == 3
    assert e.basis == "cache hit 60%; batch -50%; 40% off-peak -50%; 1,000,000 free tokens/month of 4,000,000"
    # before the off-peak discount started (2025-02-26) it is not applied: 0.5 x 0.75 = 0.375
    before = effective_price(p, use, dt.date(2025, 2, 20), (3, 1))
    assert before.output_cny_per_m == pytest.approx(8 * 0.375)
    # the list price: (3 x 2 + 8) / 4 = 3.5
    assert effective_price(p, LIST, dt.date(2025, 3, 1), (3, 1)).blended_cny_per_m == 3.5
    assert effective_price(p, LIST, dt.date(2025, 3, 1), (3, 1)).basis == "list"


def test_a_one_off_quota_does_not_lower_the_monthly_price():
    p = row(free_quota={"tokens": 1_000_000, "per": "once"})
    e = effective_price(p, VendorUse(monthly_tokens=4e6), dt.date(2025, 3, 1), (3, 1))
    assert e.blended_cny_per_m == 3.5 and e.basis == "list"


def test_rule_fields_are_strict():
    with pytest.raises(ValueError, match="per"):
        row(free_quota={"tokens": 10, "per": "year"})
    with pytest.raises(ValueError, match="tokns"):
        row(free_quota={"tokns": 10, "per": "month"})


def test_doubao_60_rpm_condition_is_printed_with_sources(capsys):
    assert main(["prices", "--vendor", "doubao-pro-32k", "--as-of", "2024-05-31", "--sources"]) == 0
    assert "60 RPM" in capsys.readouterr().out


def test_bench_prices_effective_and_keys(capsys):
    # doubao-pro-32k: 1.1 blended, batch 50% -> 0.55; 1,000,000 tokens/min / 800,000 TPM -> 2 keys
    assert main(["prices", "--vendor", "doubao-pro-32k", "--as-of", "2024-05-31", "--batch-api",
                 "--traffic-tpm", "1000000"]) == 0
    out = capsys.readouterr().out
    assert "0.55" in out and "batch -50%" in out and "API keys" in out
    assert re.search(r"│\s+2\s+│", out)


def test_bench_prices_bad_share(capsys):
    assert main(["prices", "--cache-hit-rate", "1.2"]) == 2
    assert "[0, 1]" in capsys.readouterr().err


def test_the_book_fills_the_rules():
    book = load_prices()
    doubao = [p for p in select(book, ["doubao-pro-32k"]) if p.applies_to is None][0]
    assert doubao.rpm == 10_000 and doubao.tpm == 800_000 and "60 RPM" in doubao.notes


def test_bench_cost_applies_the_vendor_terms(tmp_path, capsys):
    from tests.cost.test_formulas import measured_row, read_csv, write_results

    runs = write_results(tmp_path / "runs.csv", [measured_row()])
    out = tmp_path / "cost.csv"
    assert main(["cost", str(runs), "--gpu-cny-per-hour", "36", "--as-of", "2024-05-31",
                 "--vendors", "doubao-pro-32k,deepseek", "--batch-api", "--traffic-rpm", "20000",
                 "--out", str(out)]) == 0
    lines = {r["vendor_model"]: r for r in read_csv(out)}
    doubao, deepseek = lines["doubao-pro-32k"], lines["deepseek-chat (V2)"]
    # doubao-pro-32k: (3 x 0.8 + 2) / 4 = 1.1, batch -50% -> 0.55; 20,000 req/min / 10,000 RPM = 2 keys
    assert float(doubao["vendor_cny_per_m_blended"]) == pytest.approx(0.55)
    assert doubao["vendor_basis"] == "batch -50%" and doubao["vendor_keys_needed"] == "2"
    assert doubao["vendor_applies_from"] == "2024-05-15"
    # DeepSeek V2 had no batch discount and no RPM in the book: list (3 x 1 + 2) / 4 = 1.25, keys unknown
    assert float(deepseek["vendor_cny_per_m_blended"]) == pytest.approx(1.25)
    assert deepseek["vendor_basis"] == "list" and deepseek["vendor_keys_needed"] == ""
    printed = capsys.readouterr().out
    assert "each vendor's terms applied" in printed and "batch -50%" in printed


def test_bench_prices_points_to_the_notes(capsys):
    assert main(["prices", "--vendor", "doubao-pro-32k", "--as-of", "2024-05-31"]) == 0
    out = capsys.readouterr().out
    assert "1 of these prices come with conditions" in out and "--sources" in out and "60 RPM" not in out


def test_bench_cost_sizes_the_keys_for_the_runs_own_throughput(tmp_path, capsys):
    from tests.cost.test_formulas import measured_row, read_csv, write_results

    runs = write_results(tmp_path / "runs.csv", [measured_row()])
    out = tmp_path / "cost.csv"
    assert main(["cost", str(runs), "--gpu-cny-per-hour", "36", "--as-of", "2024-05-31",
                 "--vendors", "doubao-pro-32k", "--out", str(out)]) == 0
    # 14,010 tok/s x 60 = 840,600 tokens/min -> ceil(840,600 / 800,000) = 2 keys;
    # 100 requests in 10 s = 600 requests/min -> ceil(600 / 10,000) = 1; the larger: 2
    assert read_csv(out)[0]["vendor_keys_needed"] == "2"
    assert "this run's tokens and requests a minute" in capsys.readouterr().out
