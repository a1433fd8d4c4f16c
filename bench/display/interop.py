"""`bench import`'s terminal output: one line per row written, with what the row says and where it came from.
Formatting only; every number comes from the rows."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from bench.core.formats import given, ms, num
from bench.display.run import console


def load_point(row: dict) -> str:
    """'rate 4/s', 'rate inf', 'conc. 8', or 'offline' (all requests at once, as vllm bench throughput sends them)."""
    rate, conc = row.get("request_rate"), row.get("concurrency")
    if row.get("load_mode") == "rate" and rate not in (None, ""):
        return "rate inf" if str(rate) == "inf" else f"rate {given(float(rate))}/s"
    if conc not in (None, ""):
        return f"conc. {conc}"
    return "offline" if row.get("engine") == "vllm" else "-"


def print_imported(rows: list[dict], out: Path, already: int) -> None:
    t = Table(title=f"{len(rows)} row(s) appended to {out}; latencies in ms", title_justify="left")
    for c in ("source", "tool", "model", "load", "ok/fail", "out tok/s", "TTFT p50", "TPOT p50", "ITL p50",
              "figures", "given"):
        t.add_column(c, justify="right" if c in ("ok/fail", "out tok/s", "TTFT p50", "TPOT p50", "ITL p50") else "left")
    for r in rows:
        tool = " ".join(str(x) for x in (r.get("source_tool") or r.get("source_format"), r.get("source_tool_version"))
                        if x)
        figures = f"recomputed ({r['recomputed_from']} requests)" if r.get("recomputed_from") else "the tool's"
        t.add_row(f"{r['source_file']} #{r['source_benchmark']}", tool, str(r.get("model") or "-"), load_point(r),
                  f"{r.get('completed', '-')}/{r.get('failed', '-')}",
                  num(r.get("output_tok_s") or r.get("total_tok_s")),
                  ms(r.get("ttft_p50_ms")), ms(r.get("tpot_p50_ms")), ms(r.get("itl_p50_ms")), figures,
                  str(r.get("given_columns") or "").replace(",", ", "))
    console.print(t)
    if already:
        console.print(f"{already} benchmark(s) already in {out} (same file sha256 and benchmark), not appended again")


def source_line(row: dict) -> str | None:
    """Where another tool's row comes from, and what in it was given rather than measured (None: a bench row)."""
    if not row.get("source_format"):
        return None
    tool = " ".join(str(x) for x in (row.get("source_tool") or row.get("source_format"), row.get("source_tool_version"))
                    if x)
    when = f", {row['timestamp']}" if row.get("timestamp") else ""
    text = (f"measured by {tool}: {row.get('source_file')} #{row.get('source_benchmark')} "
            f"(sha256 {str(row.get('source_sha256'))[:12]}{when})")
    if row.get("recomputed_from"):
        text += f"; latencies recomputed by bench from its {row['recomputed_from']} per-request records"
    if row.get("given_columns"):
        text += f"; given on the command line, not measured: {str(row['given_columns']).replace(',', ', ')}"
    return text


def disagreement_line(row: dict) -> str | None:
    if not row.get("tool_disagreement"):
        return None
    return (f"bench's recomputation differs from {row.get('source_tool') or row.get('source_format')}'s own summary "
            f"by more than 1%: {row['tool_disagreement']}")
