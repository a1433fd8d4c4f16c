"""`bench report`: results CSVs -> DIR/index.html (one self-contained page, charts embedded as data
URIs), DIR/report.md and one PNG per chart beside them.

Works on any CSV of this schema written by `bench run`, `bench sweep` or `bench serve`, measured
or `--engine sim`: every part whose columns a file lacks (serving latency, roofline efficiency,
energy, prices for unknown hardware) is replaced by a note saying why, never an error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bench.config import catalog

from bench.cost import formulas as cost
from bench.studies.seed_claims import ClaimInputs, claim_rows
from bench.cost.hwchoice import fx_date_for
from bench.cost.pricing import CostOptions
from bench.errors import BenchError
from bench.config.hardware import HardwareBook, canonical_name, load_hardware
from bench.config.prices import in_force, load_prices
from bench.analysis.report.cost import (cheapest_per_config, price_runs, reference_vendors, row_hardware,
                               utilization_section, vendor_section, vendors_of)
from bench.analysis.report.model import Report, Run, Section, by_key
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
    # bench.cli.hwprice: --gpu-cny-per-hour, --what-if-hardware and --rental-tier, as CostOptions fields
    hardware_price: tuple[tuple[str, object], ...] = ()


def load_runs(paths: list[Path], default_hardware: str | None, book: HardwareBook) -> tuple[list[Run], list[str]]:
    """Ok rows of every file as Runs, and a line per file (rows read, rows left out)."""
    from bench.results import store as results
    runs, lines = [], []
    for path in paths:
        _, rows = results.read_results(path)
        ok = [r for r in rows if (r.get("status") or "ok") == "ok"]
        runs += [Run(r, path.name, row_hardware(r, default_hardware, book)) for r in ok]
        left = len(rows) - len(ok)
        lines.append(f"{path.name}: {len(rows)} row(s)" + (f", {left} not ok (left out)" if left else ""))
    if not runs:
        raise BenchError(f"no row with status ok in {', '.join(str(p) for p in paths)}; nothing to report")
    return runs, lines


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
             f"USD at {opts.fx_cny_per_usd:g} CNY ({fx_date_for(opts.fx_cny_per_usd)}). Each row is priced on the "
             f"hardware it ran on{_what_if_text(opts)}; the self-hosted table names every GPU price's basis, source "
             "and date."]
    sims = [r for r in runs if r.engine == "sim"]
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
    runs, file_lines = load_runs(paths, opts.hardware, hardware_book)

    cost_opts = CostOptions(basis=opts.basis, mix=opts.mix, fx_cny_per_usd=opts.fx_cny_per_usd,
                            **dict(opts.hardware_price))
    priced, price_notes = price_runs(runs, cost_opts, hardware_book)
    best = cheapest_per_config(priced)
    vendors = vendors_of(in_force_prices, opts.mix, opts.fx_cny_per_usd)
    configs = catalog_configs()
    full_size = {k: v for k, v in configs.items() if not v.get("_tiny")}

    sections: list[Section] = []
    sections += throughput_sections(runs)
    sections += latency_sections(runs)
    sections.append(kv_section(runs, {**full_size, **{r.model: configs[r.model] for r in runs if r.model in configs}}))
    sections.append(vendor_section(best, vendors, cost_opts, as_of, price_notes))
    sections.append(utilization_section(best, reference_vendors(vendors, bool(opts.vendors)), cost_opts, as_of))
    sections.append(efficiency_section(runs))
    sections.append(energy_section(runs))
    inputs = ClaimInputs(runs=runs, best=best, vendors=vendors, book=price_book, hardware=hardware_book,
                         opts=cost_opts, as_of=as_of, configs=configs)
    sections.append(Section(
        slug="seed-claims", title="The articles' claims beside the harness",
        note="What each source article claimed (../shared/reference/seed-claims.md) and what the harness computed "
             "from prices.yaml, hardware.yaml and model configs, or measured in these results.",
        headers=["#", "the article claimed", "the harness computed or measured", "basis"], rows=claim_rows(inputs)))

    unique_slugs(sections)
    machines = sorted({r.machine for r in runs})
    title = (f"bench report: {', '.join(sorted(by_key(runs, lambda r: r.model)))} on {', '.join(machines)} "
             f"(prices of {as_of})")
    return Report(title=title, summary=summary_lines(runs, file_lines, opts, as_of), sections=sections)


def unique_slugs(sections: list[Section]) -> None:
    """Suffix -2, -3... to repeated slugs, so no chart file overwrites another."""
    seen: dict[str, int] = {}
    for s in sections:
        n = seen.get(s.slug, 0) + 1
        seen[s.slug] = n
        if n > 1:
            s.slug = f"{s.slug}-{n}"


def write_report(report: Report, out_dir: Path) -> Path:
    """DIR/<slug>.png per chart, DIR/report.md, DIR/index.html (written last); returns index.html's path."""
    from bench.analysis.report.render import to_html, to_markdown
    from bench.results.store import write_atomic

    if out_dir.exists() and not out_dir.is_dir():
        raise BenchError(f"--out {out_dir} is a file; give a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    for s in report.sections:
        if s.png is not None:
            write_atomic(out_dir / f"{s.slug}.png", s.png)
    write_atomic(out_dir / "report.md", to_markdown(report).encode())
    index = out_dir / "index.html"
    write_atomic(index, to_html(report).encode())
    return index
