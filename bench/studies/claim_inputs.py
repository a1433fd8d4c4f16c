"""What every seed claim is checked against (ClaimInputs) and the helpers the claims share: the price of a
vendor model on a day, whether the runs behind a figure were measured or simulated."""

from __future__ import annotations

import datetime as dt

from bench.analysis.report.inputs import ReportInputs as ClaimInputs  # noqa: F401  (what every claim reads)
from bench.analysis.report.model import Run
from bench.config.prices import PriceBook, VendorPrice

NOT_MEASURED = "not measured in these results"
SIMULATED = "simulated (roofline)"


def basis(*parts: str) -> str:
    """A claim's basis: its parts joined, e.g. 'computed from prices.yaml + measured'."""
    return " + ".join(p for p in parts if p)


def _rows_of(book: PriceBook, model: str) -> list[VendorPrice]:
    rows = [p for p in book.prices if p.model.lower() == model.lower()]
    return sorted(rows, key=lambda p: p.counts_from or dt.date.min)


def _price_on(book: PriceBook, model: str, day: dt.date) -> VendorPrice | None:
    rows = _rows_of(book, model)
    return next((p for p in rows if p.in_force(day, book.earliest_known)), rows[-1] if rows else None)


def _source(runs: list[Run]) -> str:
    """'measured' when a run behind a figure was measured, 'simulated (roofline)' when all are sim rows."""
    return "measured" if any(not r.predicted for r in runs) else SIMULATED
