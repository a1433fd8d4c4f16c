"""Options that choose which card and which GPU price a row is priced with, shared by `bench cost` and
`bench report` so the two price the same rows alike (issue 12, defects 3 and 5)."""

from __future__ import annotations

import argparse

from bench.cli.argtypes import market
from bench.config.hardware import RENTAL_TIERS
from bench.cost.market import DEFAULT_MARKET


def add_hardware_price_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gpu-cny-per-hour", default=None, metavar="X|NAME=X,...",
                   help="all-in CNY for one GPU-hour, replacing the basis: X for every card, or per card "
                        "(H20=9.5,H100-SXM=14); a mixed CSV prices the cards named and says which rows it could not")
    p.add_argument("--what-if-hardware", default=None, metavar="NAME",
                   help="price every row as this hardware.yaml card instead of the one it ran on (labelled what-if)")
    p.add_argument("--rental-tier", choices=RENTAL_TIERS, default=None,
                   help="rental quote to use (hardware.yaml rental_tiers; china-cloud: the cn market's on-demand "
                        "quote); default on-demand")
    p.add_argument("--market", type=market, default=DEFAULT_MARKET, metavar="cn|global",
                   help="whose GPU quotes price a card: cn (mainland China: AutoDL and other Chinese clouds, China "
                        "server prices) or global (RunPod's list prices, US card prices); a card with no quote there "
                        f"uses the other market's, labelled (default {DEFAULT_MARKET})")


def hardware_price_kwargs(args, book) -> dict:
    """CostOptions fields from the options above (names checked against hardware.yaml; BenchError if unknown)."""
    from bench.config.hardware import canonical_name
    from bench.cost.hwchoice import parse_gpu_prices

    kw = {"rental_tier": args.rental_tier, "market": args.market, "as_of": getattr(args, "as_of", None)}
    if args.what_if_hardware:
        kw["what_if_hardware"] = canonical_name(args.what_if_hardware, book)
    if args.gpu_cny_per_hour is not None:
        kw["gpu_cny_per_hour"], kw["gpu_cny_per_hour_by_hardware"] = parse_gpu_prices(args.gpu_cny_per_hour, book)
    return kw
