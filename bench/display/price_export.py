"""`bench prices --format json|csv`: the price rows as stored, every field (source, checked_on, tiers
included), raw numbers in the row's currency: for a program to read, never rounded or converted."""

from __future__ import annotations

import json

from bench.config.prices import VendorPrice
from bench.core.tables import csv_records

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


def _cell(field: str, value):
    """A nested field as JSON text, a flag as true/false (as in the JSON); the rest as it is (csv_cell writes
    numbers raw, absent values as empty cells)."""
    if value is None:
        return None
    if field in NESTED:
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value) if isinstance(value, bool) else value


def prices_csv(prices: list[VendorPrice]) -> str:
    """A header of FIELDS and one line per row; an absent value is an empty cell."""
    records = [{k: _cell(k, rec[k]) for k in FIELDS} for rec in price_records(prices)]
    return csv_records(FIELDS, records).decode()
