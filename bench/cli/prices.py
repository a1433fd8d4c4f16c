"""`bench prices`: vendor API prices in force on a day (prices.yaml); and the price options (--as-of,
--mix, --fx-cny-per-usd) that bench cost and bench report share."""

from __future__ import annotations

import argparse
import datetime as dt

from bench.cli.argtypes import day, names, non_negative, positive, share
from bench.cost import formulas as cost


def _mix(text: str) -> tuple[float, float]:
    try:
        return cost.parse_mix(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_price_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=day, default=None, metavar="DATE",
                   help="the day whose prices apply, YYYY-MM-DD (default today)")
    p.add_argument("--mix", type=_mix, default=cost.DEFAULT_MIX, metavar="IN:OUT",
                   help="input:output tokens for blended prices (default 3:1, public comparisons' convention)")
    p.add_argument("--fx-cny-per-usd", type=positive, default=cost.DEFAULT_FX_CNY_PER_USD, metavar="RATE",
                   help=f"CNY per USD for USD prices (default {cost.DEFAULT_FX_CNY_PER_USD}, docs/cost.md)")


def add_vendor_use_options(p: argparse.ArgumentParser) -> None:
    """How the API would be used: each vendor's terms in prices.yaml applied (docs/cost.md, step 4)."""
    g = p.add_argument_group("vendor terms (default: list prices, cache miss)")
    g.add_argument("--cache-hit-rate", type=share, default=None, metavar="H",
                   help="share of input tokens served from the vendor's context cache, [0, 1] (bench cost: default "
                        "each row's measured prefix_cache_hit_rate, else 0)")
    g.add_argument("--batch-api", action="store_true", help="use the batch API where the vendor has a discount")
    g.add_argument("--off-peak-share", type=share, default=0.0, metavar="S",
                   help="share of tokens sent in the vendor's off-peak window, [0, 1]")
    g.add_argument("--monthly-tokens", type=non_negative, default=None, metavar="N",
                   help="tokens a month: a monthly free quota lowers the average price")
    g.add_argument("--traffic-tpm", type=non_negative, default=None, metavar="N",
                   help="traffic in tokens per minute: API keys needed under each vendor's TPM limit")
    g.add_argument("--traffic-rpm", type=non_negative, default=None, metavar="N",
                   help="traffic in requests per minute: API keys needed under each vendor's RPM limit")


def vendor_use_of(args):
    from bench.cost.vendor_use import VendorUse

    return VendorUse(cache_hit_rate=args.cache_hit_rate or 0.0, batch_api=args.batch_api,
                     off_peak_share=args.off_peak_share, monthly_tokens=args.monthly_tokens,
                     traffic_tokens_per_min=args.traffic_tpm, traffic_requests_per_min=args.traffic_rpm)


def add_prices_command(sub) -> None:
    q = sub.add_parser("prices", help="vendor API prices in force on a day (prices.yaml)")
    q.add_argument("--vendor", type=names, default=None, metavar="V",
                   help="a vendor or model (comma-separated for several)")
    q.add_argument("--all", action="store_true", help="every row of the history, whatever the date")
    q.add_argument("--sources", action="store_true", help="show where each price comes from, and its notes")
    add_price_options(q)
    add_vendor_use_options(q)
    q.set_defaults(func=cmd_prices)


def cmd_prices(args) -> int:
    from bench.display.cost import print_prices
    from bench.config.prices import in_force, load_prices, select

    book = load_prices()
    as_of = args.as_of or dt.date.today()
    if args.all:
        rows = select(book, args.vendor)
        title = f"price history ({len(rows)} rows)"
    else:
        rows = in_force(book, as_of, args.vendor).prices
        title = f"prices in force on {as_of} ({len(rows)} vendor models)"
    print_prices(rows, f"{title}; per million tokens; USD at {args.fx_cny_per_usd:g} CNY", args.fx_cny_per_usd,
                 args.mix, sources=args.sources, use=vendor_use_of(args), as_of=as_of)
    return 0
