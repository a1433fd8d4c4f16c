"""Tables as text: Markdown, HTML and CSV renderings. Pure functions.

A table is a list of header strings and a list of rows of cells (strings, numbers or None);
bench.core.formats.cell turns each into the text shown, so every output (terminal, Markdown, HTML) agrees.
A CSV table is data, not display: its cells keep the raw numbers (csv_cell).
"""

from __future__ import annotations

import csv
import html
import io

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


def csv_cell(v):
    """A CSV data cell: the raw number, never a display format. None and NaN are an empty cell; a float is
    rounded to 6 decimals and written as Python writes it (inf as 'inf'); anything else as it is."""
    if v is None:
        return ""
    if isinstance(v, float):  # numpy's floats too, written as plain floats
        return "" if v != v else repr(round(float(v), 6))
    return v


def csv_table(headers, rows) -> bytes:
    """A table as CSV bytes: the header line, then one line per row of cells (csv_cell), '\\n' line ends.
    The callers write it atomically (bench.results.store.write_atomic)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    w.writerows([csv_cell(v) for v in r] for r in rows)
    return buf.getvalue().encode()


def csv_records(columns, records: list[dict]) -> bytes:
    """Records (dicts) as a CSV table of `columns` (a key a record lacks is an empty cell)."""
    return csv_table(columns, ([r.get(c) for c in columns] for r in records))
