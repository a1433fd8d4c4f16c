"""A Report as one self-contained HTML page (charts as data URIs, inline CSS, no script, no
network) and as Markdown (charts as PNG files beside it). Pure functions."""

from __future__ import annotations

import base64
import html

from bench.analysis.report.model import Report, Section
from bench.core.tables import html_table, markdown_table

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0;
       background: #f6f6f8; }
main { max-width: 1080px; margin: 0 auto; padding: 16px 24px 48px; background: #fff; }
h1 { font-size: 1.45em; margin: 0.4em 0; }
h2 { font-size: 1.15em; margin: 1.6em 0 0.4em; padding-top: 0.6em; border-top: 1px solid #ddd; }
ul.summary { padding-left: 1.2em; color: #333; }
nav ol { columns: 2; font-size: 0.92em; }
figure { margin: 0.6em 0; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid #eee; }
p.note { color: #444; font-size: 0.93em; }
p.skipped { color: #8a5a00; background: #fff7e6; padding: 6px 10px; border-radius: 4px; }
.table { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.86em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; vertical-align: top; text-align: left; }
th { background: #f0f0f3; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
section.verdict { background: #f3f8ff; border: 1px solid #b9d3f5; border-radius: 6px; padding: 4px 14px; }
section.verdict h2 { border-top: none; margin-top: 0.3em; }
section.verdict p.lead { font-size: 1.05em; margin: 0.4em 0; }
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _section_html(s: Section) -> str:
    parts = [f'<section id="{html.escape(s.slug)}"><h2>{html.escape(s.title)}</h2>']
    if s.png is not None:
        parts.append(f'<figure><img src="{data_uri(s.png)}" alt="{html.escape(s.chart_title or s.title)}"></figure>')
    if s.note:
        cls = "skipped" if s.png is None and s.note.startswith("Skipped") else "note"
        parts.append(f'<p class="{cls}">{html.escape(s.note)}</p>')
    if s.headers:
        parts.append(f'<div class="table">{html_table(s.headers, s.rows)}</div>')
    parts.append("</section>")
    return "\n".join(parts)


def _lead_html(s: Section | None) -> str:
    """The verdict block: its sentences first, one paragraph each, the last (how it was computed) smaller."""
    if s is None:
        return ""
    paras = s.note.split("\n")
    parts = [f'<section id="{html.escape(s.slug)}" class="verdict"><h2>{html.escape(s.title)}</h2>']
    parts += [f'<p class="lead"><b>{html.escape(p)}</b></p>' for p in paras[:-1]]
    if s.headers:
        parts.append(f'<div class="table">{html_table(s.headers, s.rows)}</div>')
    parts.append(f'<p class="note">{html.escape(paras[-1])}</p></section>')
    return "\n".join(parts) + "\n"


def to_html(report: Report) -> str:
    toc = "".join(f'<li><a href="#{html.escape(s.slug)}">{html.escape(s.title)}</a></li>' for s in report.sections)
    summary = "".join(f"<li>{html.escape(line)}</li>" for line in report.summary)
    body = "\n".join(_section_html(s) for s in report.sections)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(report.title)}</title><style>{CSS}</style></head>\n"
            f"<body><main>\n<h1>{html.escape(report.title)}</h1>\n{_lead_html(report.lead)}"
            f"<ul class=\"summary\">{summary}</ul>\n"
            f"<nav><ol>{toc}</ol></nav>\n{body}\n</main></body></html>\n")


def to_markdown(report: Report) -> str:
    parts = [f"# {report.title}\n\n"]
    if report.lead is not None:
        paras = report.lead.note.split("\n")
        parts.append(f"## {report.lead.title}\n\n" + "".join(f"**{p}**\n\n" for p in paras[:-1]))
        if report.lead.headers:
            parts.append(markdown_table(report.lead.headers, report.lead.rows) + "\n")
        parts.append(f"{paras[-1]}\n\n")
    parts.append("".join(f"- {line}\n" for line in report.summary))
    for s in report.sections:
        parts.append(f"\n## {s.title}\n\n")
        if s.png is not None:
            parts.append(f"![{s.chart_title or s.title}]({s.slug}.png)\n\n")
        if s.note:
            parts.append(f"{s.note}\n\n")
        if s.headers:
            parts.append(markdown_table(s.headers, s.rows))
    return "".join(parts)
