"""Tables of numbers as text: one number format, Markdown and HTML renderings. Pure functions.

A table is a list of header strings and a list of rows of cells (strings, numbers or None);
`cell` turns each into the text shown, so every output (terminal, Markdown, HTML) agrees.
"""

from __future__ import annotations

import html
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


def markdown_table(headers: list[str], rows: list[list]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(esc(cell(v)) for v in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def html_table(headers: list[str], rows: list[list], numeric_from: int = 1) -> str:
    """An HTML table; cells from column `numeric_from` on that hold numbers are right-aligned."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for r in rows:
        tds = []
        for i, v in enumerate(r):
            cls = ' class="n"' if i >= numeric_from and not isinstance(v, str) else ""
            tds.append(f"<td{cls}>{html.escape(cell(v))}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>\n"
