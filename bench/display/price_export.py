"""`bench prices --format json|csv`: the price rows as stored, every field (source, checked_on, tiers
included), raw numbers in the row's currency: for a program to read, never rounded or converted."""

from __future__ import annotations

import csv
import io
import json

from bench.config.prices import VendorPrice

# One column per field of a price row, in the schema's order; nested fields (tiers, off_peak, free_quota)
# are JSON text in a CSV cell.
FIELDS = tuple(VendorPrice.model_fields)
NESTED = ("tiers", "off_peak", "free_quota")


def price_records(prices: list[VendorPrice]) -> list[dict]:
    """Each row as plain data: dates as YYYY-MM-DD, absent values as null."""
    return [p.model_dump(mode="json") for p in prices]


def prices_json(prices: list[VendorPrice], as_of: str | None) -> str:
    """{"as_of": day or null (the whole history), "prices": [row, ...]} as indented JSON."""
    return json.dumps({"as_of": as_of, "prices": price_records(prices)}, ensure_ascii=False, indent=2) + "\n"


def _cell(field: str, value) -> str:
    if value is None:
        return ""
    if field in NESTED:
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value) if isinstance(value, bool) else str(value)  # true/false, as in the JSON


def prices_csv(prices: list[VendorPrice]) -> str:
    """A header of FIELDS and one line per row; an absent value is an empty cell."""
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    for rec in price_records(prices):
        w.writerow({k: _cell(k, rec[k]) for k in FIELDS})
    return out.getvalue()
