"""The prices bench's answer rests on, checked: a script, not a test (docs/cost.md holds its output).

Three parts, each a function printing one block:
  cards   for each card: rental (per tier), owned and TCO in CNY/GPU-h with source and date; the A100/A800 and
          H100/H800 ratios; the H100 TCO check against SemiAnalysis   (the GPU-market part: not in this file yet)
  plan    the plan of docs/plan.md on each tier and basis           (the GPU-market part: not in this file yet)
  book    the vendor book: its newest checked_on, and the rows in force per vendor on a day (vendor_book_summary)

    python scripts/validate_prices.py [--part book] [--as-of 2026-12-01]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.config.prices import (STALE_AFTER_DAYS, in_force, load_prices, newest_check,  # noqa: E402
                                 staleness_note)

BOOK_DAY = dt.date(2026, 12, 1)  # the day the book is checked for: the first of the month it was brought up to


def vendor_book_summary(day: dt.date = BOOK_DAY) -> None:
    """The book's newest checked_on overall; per vendor, the rows in force on `day`, how many of them are tiered,
    and their newest and oldest check dates; the staleness line bench would print for all of them."""
    book = load_prices()
    rows = in_force(book, day).prices
    print(f"vendor book: {len(book.prices)} rows; newest checked_on {newest_check(book.prices)}; "
          f"{len(rows)} vendor models in force on {day}")
    print(f"{'vendor':<10} {'in force':>8} {'tiered':>6} {'newest check':>13} {'oldest check':>13}")
    per_vendor = Counter(p.vendor for p in rows)
    for vendor in sorted(per_vendor, key=lambda v: (-per_vendor[v], v)):
        mine = [p for p in rows if p.vendor == vendor]
        checks = sorted(p.checked_on for p in mine)
        print(f"{vendor:<10} {len(mine):>8} {sum(1 for p in mine if p.tiers):>6} {str(checks[-1]):>13} "
              f"{str(checks[0]):>13}")
    note = staleness_note(rows, day)
    print(f"staleness (> {STALE_AFTER_DAYS} days after the newest check): {note or 'none'}")


PARTS = ("book",)  # the GPU-market parts (cards, plan) join here


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=sorted(PARTS), action="append",
                    help="which part to print (repeat for several; default all)")
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=BOOK_DAY, help="the day of the book part")
    args = ap.parse_args(argv)
    for part in args.part or PARTS:
        if part == "book":
            vendor_book_summary(args.as_of)
    return 0


if __name__ == "__main__":
    sys.exit(main())
