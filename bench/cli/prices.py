"""`bench prices`: vendor API prices in force on a day (prices.yaml). Its options beyond the listing (the day, the
FX rate and mix, the vendor terms) are bench.config.pricing's, as bench cost and bench report read them."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Literal

from pydantic import BaseModel

from bench.cli.options import add_command, parsed
from bench.config.flags import option
from bench.config.pricing import MoneyOptions, PriceDayOptions, VendorTermsOptions, VendorVolumeOptions


class PricesOptions(BaseModel):
    """bench prices' own options: which rows of prices.yaml to list."""

    vendor: list[str] | None = option(None, "a vendor, a family name (hunyuan, qwen, doubao, glm, kimi, ...) or a "
                                            "model (comma-separated for several)", metavar="V")
    all: bool = option(False, "every row of the history, whatever the date")
    sources: bool = option(False, "show where each price comes from, and its notes")
    format: Literal["table", "json", "csv"] = option(
        "table", "table (default); json or csv: every field of each row (source, checked_on, tiers), raw numbers in "
                 "the row's currency")


def add_prices_command(sub) -> None:
    add_command(sub, "prices", "vendor API prices in force on a day (prices.yaml)", cmd_prices,
                (PricesOptions, PriceDayOptions, MoneyOptions, VendorTermsOptions, VendorVolumeOptions))


def vendor_use_of(terms: VendorTermsOptions, volume: VendorVolumeOptions | None = None):
    """bench.cost.vendor_use.VendorUse from the vendor options (no --cache-hit-rate: no cache hits)."""
    from bench.cost.vendor_use import VendorUse

    volume = volume or VendorVolumeOptions()
    return VendorUse(cache_hit_rate=terms.cache_hit_rate or 0.0, batch_api=terms.batch_api,
                     batch_share=terms.batch_share, off_peak_share=terms.off_peak_share,
                     monthly_tokens=volume.monthly_tokens, traffic_tokens_per_min=volume.traffic_tpm,
                     traffic_requests_per_min=volume.traffic_rpm)


def warn_if_stale(prices, as_of: dt.date) -> str | None:
    """Print bench.config.prices.staleness_note's line, if any, on stderr (one line; the command goes on), and
    return it (bench plan --format json carries it too)."""
    from bench.config.prices import staleness_note

    note = staleness_note(list(prices), as_of)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    return note


def cmd_prices(args) -> int:
    from bench.config.prices import in_force, load_prices, select
    from bench.display.cost import print_prices
    from bench.display.price_export import prices_csv, prices_json

    opts = parsed(args, PricesOptions, "bench prices")
    money = parsed(args, MoneyOptions, "bench prices")
    use = vendor_use_of(parsed(args, VendorTermsOptions, "bench prices"),
                        parsed(args, VendorVolumeOptions, "bench prices"))
    book = load_prices()
    as_of = parsed(args, PriceDayOptions, "bench prices").as_of or dt.date.today()
    if opts.all:
        rows = select(book, opts.vendor)
        title = f"price history ({len(rows)} rows)"
    else:
        rows = in_force(book, as_of, opts.vendor).prices
        title = f"prices in force on {as_of} ({len(rows)} vendor models)"
        warn_if_stale(rows, as_of)
    if opts.format == "json":
        sys.stdout.write(prices_json(rows, None if opts.all else str(as_of)))
    elif opts.format == "csv":
        sys.stdout.write(prices_csv(rows))
    else:
        print_prices(rows, f"{title}; per million tokens; USD at {money.fx_cny_per_usd:g} CNY",
                     money.fx_cny_per_usd, money.mix, sources=opts.sources, use=use, as_of=as_of)
    return 0
