"""`bench prices`: vendor API prices in force on a day (prices.yaml); and the price options (--as-of,
--mix, --fx-cny-per-usd) that bench cost and bench report share."""

from __future__ import annotations

import argparse
import datetime as dt

from bench.cli.argtypes import names, positive
from bench.cost import formulas as cost


def _mix(text: str) -> tuple[float, float]:
    try:
        return cost.parse_mix(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def add_price_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=_day, default=None, metavar="DATE",
                   help="the day whose prices apply, YYYY-MM-DD (default today)")
    p.add_argument("--mix", type=_mix, default=cost.DEFAULT_MIX, metavar="IN:OUT",
                   help="input:output tokens for blended prices (default 3:1, public comparisons' convention)")
    p.add_argument("--fx-cny-per-usd", type=positive, default=cost.DEFAULT_FX_CNY_PER_USD, metavar="RATE",
                   help=f"CNY per USD for USD prices (default {cost.DEFAULT_FX_CNY_PER_USD}, docs/cost.md)")


def add_prices_command(sub) -> None:
    q = sub.add_parser("prices", help="vendor API prices in force on a day (prices.yaml)")
    q.add_argument("--vendor", type=names, default=None, metavar="V",
                   help="a vendor or model (comma-separated for several)")
    q.add_argument("--all", action="store_true", help="every row of the history, whatever the date")
    q.add_argument("--sources", action="store_true", help="show where each price comes from")
    add_price_options(q)
    q.set_defaults(func=cmd_prices)


def cmd_prices(args) -> int:
    from bench.display.cost import print_prices
    from bench.config.prices import in_force, load_prices, select

    book = load_prices()
    if args.all:
        rows = select(book, args.vendor)
        title = f"price history ({len(rows)} rows)"
    else:
        as_of = args.as_of or dt.date.today()
        rows = in_force(book, as_of, args.vendor).prices
        title = f"prices in force on {as_of} ({len(rows)} vendor models)"
    print_prices(rows, f"{title}; per million tokens; USD at {args.fx_cny_per_usd:g} CNY", args.fx_cny_per_usd,
                 args.mix, sources=args.sources)
    return 0
