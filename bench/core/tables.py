"""Tables as text: Markdown and HTML renderings. Pure functions.

A table is a list of header strings and a list of rows of cells (strings, numbers or None);
bench.core.formats.cell turns each into the text shown, so every output (terminal, Markdown, HTML) agrees.
"""

from __future__ import annotations

import html

from bench.core.formats import cell


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
