"""Numbers as text for people: one format per kind, used by the terminal, Markdown and HTML alike. Pure."""

from __future__ import annotations

import math


def num(x, digits: int = 3) -> str:
    """A number for people: thousands separators for large values, `digits` significant digits
    for small ones; '-' for None or empty, 'inf' for infinity."""
    if x is None or x == "":
        return "-"
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if math.isnan(x):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    a = abs(x)
    if a >= 10 ** digits:
        return f"{x:,.0f}"
    if a == 0:
        return "0"
    return f"{x:.{digits}g}" if a >= 1e-4 else f"{x:.2e}"


def pct(x, digits: int = 1, signed: bool = True) -> str:
    """A fraction as a percentage: 0.123 -> '+12.3%'."""
    if x is None:
        return "-"
    if math.isinf(x):
        return "+inf%" if x > 0 else "-inf%"
    return f"{100 * x:+.{digits}f}%" if signed else f"{100 * x:.{digits}f}%"


def cell(v) -> str:
    return num(v) if not isinstance(v, str) else v
