"""`bench report`: results CSVs -> DIR/index.html (one self-contained page, charts embedded as data
URIs), DIR/report.md and one PNG per chart beside them.

Works on any CSV of this schema written by `bench run`, `bench sweep` or `bench serve`, measured
or `--engine sim`: every part whose columns a file lacks (serving latency, roofline efficiency,
energy, prices for unknown hardware) is replaced by a note saying why, never an error.

Bounded at any size (bench.analysis.report.load): a case run many times is one point (the medians of its
rows); throughput and latency are charted for at most load.MAX_WORKLOAD_CHARTS workloads and the others are
one table; every table on the page shows at most MAX_TABLE_ROWS lines, the whole of it written beside the
page as <slug>.csv, and the note says what was left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench.config import catalog

from bench.cost import formulas as cost
from bench.analysis.report.inputs import ReportInputs
from bench.cost.hwchoice import fx_date_for
from bench.cost.pricing import CostOptions
from bench.core.errors import BenchError
from bench.core.formats import given, num
from bench.config.hardware import canonical_name, load_hardware
from bench.config.prices import in_force, load_prices
from bench.analysis.report.cost import (cheapest_per_config, cost_lines, price_runs, reference_vendors,
                               utilization_section, vendor_section, vendors_of)
from bench.analysis.report.load import charted_workloads, load_runs
from bench.interop.source import Given
from bench.analysis.report.model import Report, Run, Section, by_key, rows_of
from bench.analysis.report.verdict import VerdictInputs, verdict_section
from bench.analysis.report.sections import (efficiency_section, energy_section, kv_section, latency_sections,
                                   throughput_sections)


@dataclass(frozen=True)
class ReportOptions:
    hardware: str | None = None  # prices rows that name no hardware of their own
    basis: str = "rental"
    as_of: dt.date | None = None  # prices in force on this day; default today
    mix: tuple[float, float] = cost.DEFAULT_MIX
    fx_cny_per_usd: float = cost.DEFAULT_FX_CNY_PER_USD
    vendors: list[str] | None = None
    # the rest of the GPU-hour options (bench.config.pricing: given prices, what-if card, tier, owned and tco
    # inputs), as CostOptions fields
    hardware_price: tuple[tuple[str, object], ...] = ()
    verdict: VerdictInputs = VerdictInputs()  # utilisation, latency target and traffic of the verdict block
    # Sections built by the layers above analysis (the seed claims of bench.studies), after the computed ones
    extra_sections: tuple[Callable[[ReportInputs], Section], ...] = ()
    # another tool's results file: the model and GPU count it does not say (--model, --gpus; docs/interop.md)
    given_model: str | None = None
    given_gpus: int | None = None


def catalog_configs() -> dict[str, dict]:
    """config.json of every full-size catalog model (tiny test variants left out), by name."""
    try:
        cat = catalog.load()
    except BenchError:
        return {}
    base = catalog.catalog_path().resolve().parent
    out = {}
    for name, entry in cat.models.items():
        try:
            cfg, _ = catalog.read_config(base / entry.config)
        except BenchError:
            continue
        out[name] = {**cfg, "_tiny": entry.tiny}
    return out


def _values(runs: list[Run], column: str) -> str:
    vals = sorted({str(r.row.get(column) or "").strip() for r in runs} - {""})
    return ", ".join(vals) if vals else "-"


def _what_if_text(opts: ReportOptions) -> str:
    what_if = dict(opts.hardware_price).get("what_if_hardware")
    return f", except as the labelled what-if of --what-if-hardware {what_if}" if what_if else ""


def summary_lines(runs: list[Run], file_lines: list[str], opts: ReportOptions, as_of: dt.date) -> list[str]:
    lines = [f"Results: {'; '.join(file_lines)}.",
             f"Models: {_values(runs, 'model')}. Machines: {_values(runs, 'device_name')}. "
             f"Engines: {_values(runs, 'engine')} (vLLM {_values(runs, 'vllm_version')}). Weights: "
             f"{_values(runs, 'weights')}.",
             f"Prices in force on {as_of} (prices.yaml); self-hosted costs on the {opts.basis} basis of hardware.yaml "
             f"(as `bench cost` prices them), {cost.format_mix(opts.mix)} input:output, "
             f"USD at {given(opts.fx_cny_per_usd)} CNY ({fx_date_for(opts.fx_cny_per_usd)}). Each row is priced on the "
             f"hardware it ran on{_what_if_text(opts)}; the self-hosted table names every GPU price's basis, source "
             "and date."]
    sims = [r for r in runs if r.predicted]
    expected = [r for r in sims if "+" in str(r.row.get("engine_version") or "")]  # roofline-N+CALIBRATION
    calibrations = ", ".join(sorted({str(r.row.get("prediction_calibration") or "?") for r in expected}))
    if sims and not expected:
        lines.append("Rows of engine=sim are roofline predictions (the fastest the hardware allows), not "
                     "measurements.")
    elif sims:
        some = "" if len(expected) == len(sims) else " (the others are the roofline: the fastest the hardware allows)"
        lines.append(f"Rows of engine=sim are predictions, not measurements: what vLLM is expected to reach, "
                     f"calibration {calibrations}, the roofline bound beside it in roofline_output_tok_s{some}.")
    if any(r.row.get("weights") == "dummy" for r in runs):
        lines.append("Dummy weights: throughput and KV-cache size depend on the architecture, not the weight values "
                     "(output lengths are fixed with ignore_eos), so they stand for the real model's.")
    return lines


def build_report(paths: list[Path], opts: ReportOptions) -> Report:
    """Everything computed and every chart drawn, nothing written. BenchError on bad input."""
    hardware_book = load_hardware()
    if opts.hardware:
        canonical_name(opts.hardware, hardware_book)
    as_of = opts.as_of or dt.date.today()
    price_book = load_prices()
    in_force_prices = in_force(price_book, as_of, opts.vendors).prices
    runs, file_lines = load_runs(paths, opts.hardware, hardware_book,
                                 Given(model=opts.given_model, hardware=opts.hardware, gpus=opts.given_gpus))

    cost_opts = CostOptions(basis=opts.basis, mix=opts.mix, fx_cny_per_usd=opts.fx_cny_per_usd,
                            **dict(opts.hardware_price))
    priced, price_notes = price_runs(runs, cost_opts, hardware_book)
    best = cheapest_per_config(priced)
    vendors = vendors_of(in_force_prices, opts.mix, opts.fx_cny_per_usd)
    configs = catalog_configs()
    full_size = {k: v for k, v in configs.items() if not v.get("_tiny")}

    sections: list[Section] = []
    charted = set(charted_workloads(runs))
    workload_parts = draw_beside(workload_sections, [r for r in runs if r.workload in charted])
    if len(charted) < len({r.workload for r in runs}):
        sections.append(workloads_section(runs, charted))
    sections.append(kv_section(runs, {**full_size, **{r.model: configs[r.model] for r in runs if r.model in configs}}))
    shown, chosen, slo_notes = cost_lines(priced, opts.verdict.slo)
    sections.append(vendor_section(shown, vendors, cost_opts, as_of, price_notes + slo_notes, chosen))
    sections.append(utilization_section(shown, reference_vendors(vendors, bool(opts.vendors)), cost_opts, as_of,
                                        chosen))
    sections.append(efficiency_section(runs))
    sections.append(energy_section(runs))
    inputs = ReportInputs(runs=runs, best=best, vendors=vendors, book=price_book, hardware=hardware_book,
                          opts=cost_opts, as_of=as_of, configs=configs)
    sections += [extra(inputs) for extra in opts.extra_sections]
    sections = workload_parts() + sections

    unique_slugs(sections)
    bound_tables(sections)
    machines = sorted({r.machine for r in runs})
    title = (f"bench report: {', '.join(sorted(by_key(runs, lambda r: r.model)))} on {', '.join(machines)} "
             f"(prices of {as_of})")
    lead = verdict_section(priced, opts.verdict, opts.mix, opts.fx_cny_per_usd, as_of, price_book, opts.vendors,
                          unpriced=price_notes)
    return Report(title=title, summary=summary_lines(runs, file_lines, opts, as_of), sections=sections, lead=lead)


def workload_sections(runs: list[Run]) -> list[Section]:
    """Throughput and latency charts of each workload in `runs`."""
    return throughput_sections(runs) + latency_sections(runs)


def draw_beside(build, runs: list[Run]):
    """build(runs) in a forked process when this machine has a second core and forks (Linux), else here, while
    the caller goes on; returns the function that waits for its sections. Drawing charts is most of a report's
    time, and the workload charts need only the charted workloads' runs (a few hundred at most) sent over."""
    import os
    import sys

    if sys.platform != "linux" or (os.cpu_count() or 1) < 2 or not runs:
        done = build(runs)
        return lambda: done
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    future = pool.submit(build, runs)

    def result() -> list[Section]:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return future.result()
        except BrokenProcessPool:  # the process died (killed, out of memory): draw them here instead
            return build(runs)
        finally:
            pool.shutdown()
    return result


def workloads_section(runs: list[Run], charted: set[str]) -> Section:
    """The workloads without charts of their own, one line each (most rows first): what they hold and their best
    measured throughput, so nothing is left out silently."""
    rows = []
    for workload, group in by_key([r for r in runs if r.workload not in charted], lambda r: r.workload).items():
        best = max((r for r in group if r.num("output_tok_s") is not None), key=lambda r: r.num("output_tok_s"),
                   default=None)
        rows.append([workload, rows_of(group), len(group), len({r.series for r in group}),
                     best.num("output_tok_s") if best else None,
                     f"{best.series}, batch {num(best.batch)}" if best and best.batch is not None else
                     (best.series if best else "-")])
    rows.sort(key=lambda r: -r[1])
    return Section(
        slug="other-workloads", title=f"Workloads without their own charts ({len(rows)})",
        note=f"The throughput and latency charts above are drawn for the {len(charted)} workload(s) compared "
             "across the most series (model x machine x engine), then with the most rows; these are the others. "
             "The cost, efficiency and energy parts cover every workload. Report one workload's file alone "
             "to chart it.",
        headers=["workload", "rows", "cases", "series", "best output tok/s", "best: series, batch"], rows=rows)


# Table lines shown on the page per section; the whole table goes beside it as <slug>.csv.
MAX_TABLE_ROWS = 40


def bound_tables(sections: list[Section], limit: int | None = None) -> None:
    """Cut each table longer than `limit` (default MAX_TABLE_ROWS) to its first lines, keep the whole one in
    `all_rows` (written as <slug>.csv) and say so in the note: the page stays one readable size."""
    limit = MAX_TABLE_ROWS if limit is None else limit
    for s in sections:
        if len(s.rows) > limit:
            s.all_rows, s.rows = s.rows, s.rows[:limit]
            s.note += (f" The table shows its first {limit} of {len(s.all_rows)} lines; all of them are in "
                       f"{s.slug}.csv beside this page.")


def table_csv(section: Section) -> bytes:
    """A section's whole table as CSV (raw numbers, bench.core.tables.csv_table's cells)."""
    from bench.core.tables import csv_table

    return csv_table(section.headers, section.all_rows or section.rows)


def unique_slugs(sections: list[Section]) -> None:
    """Suffix -2, -3... to repeated slugs, so no chart file overwrites another."""
    seen: dict[str, int] = {}
    for s in sections:
        n = seen.get(s.slug, 0) + 1
        seen[s.slug] = n
        if n > 1:
            s.slug = f"{s.slug}-{n}"


def write_report(report: Report, out_dir: Path) -> Path:
    """DIR/<slug>.png per chart, DIR/<slug>.csv per table cut short on the page, DIR/report.md, DIR/index.html (written last); returns index.html's path."""
    from bench.analysis.report.render import to_html, to_markdown
    from bench.results.store import write_atomic

    if out_dir.exists() and not out_dir.is_dir():
        raise BenchError(f"--out {out_dir} is a file; give a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    for s in report.sections:
        if s.png is not None:
            write_atomic(out_dir / f"{s.slug}.png", s.png)
        if s.all_rows is not None:
            write_atomic(out_dir / f"{s.slug}.csv", table_csv(s))
    write_atomic(out_dir / "report.md", to_markdown(report).encode())
    index = out_dir / "index.html"
    write_atomic(index, to_html(report).encode())
    return index
