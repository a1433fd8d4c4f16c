"""What a report is made of: runs (ok rows with their labels), sections (a chart, a note, the
table of its numbers), and the small pure helpers the section builders share."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from bench.config.engines import is_predicted
from bench.core.formats import num
from bench.cost.pricing import SelfCost
from bench.results import schema

# Columns of serving rows (bench serve) that say what load a row ran at; offline rows leave them
# empty and their load is the batch size cap.
LOAD_COLUMNS = tuple((c, schema.label(c)) for c in schema.LOAD_KEYS)
BATCH_LABEL = schema.label("max_num_seqs")


@dataclass(frozen=True)
class Run:
    """One ok results row and what the report calls it."""

    row: dict
    source: str  # the file it came from
    hardware: str | None  # the hardware.yaml entry that prices it, if any
    rows: int = 1  # results rows it stands for: a case run n times is one Run of their medians (build.one_per_case)

    @property
    def model(self) -> str:
        return str(self.row.get("model") or "?")

    @property
    def engine(self) -> str:
        return str(self.row.get("engine") or "vllm")

    @property
    def predicted(self) -> bool:
        """Whether its figures are a prediction (engine=sim), not a measurement."""
        return is_predicted(self.engine)

    @property
    def machine(self) -> str:
        """What ran it: the device's name (a sim row's is the hardware it predicts)."""
        return str(self.row.get("device_name") or self.row.get("device") or self.hardware or "?")

    @property
    def series(self) -> str:
        """A line's label: model, machine, and the engine when it is not vLLM."""
        engine = "" if self.engine == "vllm" else f" ({self.engine})"
        return f"{self.model} · {self.machine}{engine}"

    @property
    def workload(self) -> str:
        r = self.row
        dist = r.get("length_dist") or "fixed"
        text = f"{r.get('input_len') or '?'} in / {r.get('output_len') or '?'} out tokens × {r.get('num_prompts') or '?'} prompts"
        return text if dist == "fixed" else f"{text} ({dist} lengths)"

    def num(self, column: str) -> float | None:
        """A figure of the row (read typed: bench.results.typed); None where empty or a text column."""
        v = self.row.get(column)
        return None if v is None or isinstance(v, str) else v

    @property
    def load(self) -> tuple[str, float] | None:
        """(load column, value) of a serving row; None for an offline row (and for all requests at once, an
        infinite request_rate: no point on a load axis)."""
        for col, _ in LOAD_COLUMNS:
            x = self.num(col)
            if x is not None and math.isfinite(x):
                return col, x
        return None

    @property
    def batch(self) -> float | None:
        return self.num("max_num_seqs")


@dataclass(frozen=True)
class Priced:
    """A run's self-hosted cost (bench.cost.pricing) at 100% utilisation."""

    run: Run
    cost: SelfCost

    @property
    def cny_per_m(self) -> float:
        """Blended at the report's mix when the run's time splits into prefill and decode, else per token."""
        c = self.cost
        return c.cny_per_m_blended_full_use if c.cny_per_m_blended_full_use is not None else c.cny_per_m_total

    @property
    def cny_per_m_input(self) -> float | None:
        return self.cost.cny_per_m_input

    @property
    def cny_per_m_output(self) -> float | None:
        return self.cost.cny_per_m_output

    @property
    def tokens_per_cny(self) -> float | None:
        return self.cost.tokens_per_cny_blended

    @property
    def prediction(self):
        """A sim row's bench.cost.predicted.Prediction (calibration, speed over the bound's); None if measured."""
        from bench.cost.predicted import prediction_of

        return prediction_of(self.run.row)

    @property
    def cny_per_m_bound(self) -> float | None:
        """A predicted row's CNY/M at the roofline bound (bench.cost.predicted); None otherwise."""
        pred = self.prediction
        return pred.at_bound(self.cny_per_m) if pred else None

    @property
    def spread(self):
        """How sure its throughput is (bench.analysis.intervals.row_spread): its repeats, a prediction's band."""
        from bench.analysis.intervals import row_spread

        return row_spread(self.run.row)

    @property
    def label(self) -> str:
        b = self.run.batch
        batch = f", batch {num(b)}" if b is not None else ""
        engine = "" if self.run.engine == "vllm" else f" {self.run.engine}"
        pred = self.prediction
        what = f"; {pred.label}" if pred else ""
        return f"{self.run.model} · {self.cost.where}{engine} ({self.cost.basis}{batch}{what})"


@dataclass
class Section:
    """One part of the page: a chart (PNG) or none, a note under it, and the table of its numbers."""

    slug: str  # file stem of the chart and the page anchor
    title: str
    png: bytes | None = None
    chart_title: str = ""  # the title drawn on the chart (workload, hardware): also its alt text
    note: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)
    all_rows: list[list] | None = None  # the whole table when `rows` shows only its first part (build.bound_tables)


@dataclass
class Report:
    title: str
    summary: list[str]
    sections: list[Section]
    lead: Section | None = None  # the verdict: shown first, before the summary (its note: one paragraph a line)


def skipped(slug: str, title: str, why: str) -> Section:
    """A section whose data is absent: no chart, the reason instead."""
    return Section(slug=slug, title=title, note=f"Skipped: {why}")


def slugify(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in text.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


def median_points(runs: list[Run], x_of, y_of) -> list[tuple[float, float, int]]:
    """(x, median y, rows) per distinct x, sorted; rows without an x or y are left out."""
    by_x: dict[float, list[float]] = {}
    for r in runs:
        x, y = x_of(r), y_of(r)
        if x is None or y is None or not math.isfinite(x):
            continue
        by_x.setdefault(x, []).append(y)
    return [(x, statistics.median(ys), len(ys)) for x, ys in sorted(by_x.items())]


def rows_of(runs: list[Run]) -> int:
    """Results rows behind these runs (a run of a repeated case stands for each of its rows)."""
    return sum(r.rows for r in runs)


def by_key(items, key) -> dict:
    """Items grouped by key(item), groups in first-seen order."""
    out: dict = {}
    for it in items:
        out.setdefault(key(it), []).append(it)
    return out


def interval_note(runs: list[Run], what: str) -> str:
    """The caption's sentence on a chart's error bars: what they are (the 95% t-interval of `what` over a case's
    repeats), or '1 run: no interval' where no case of the chart was repeated."""
    from bench.analysis.intervals import NO_INTERVAL

    if not any(r.rows > 1 for r in runs):
        return f" {NO_INTERVAL}: every case ran once, so no error bars."
    return (f" Error bars: the 95% t-interval of {what} over a case's repeats (mean ± t(0.975, n−1) s/√n, "
            "bench.measure.uncertainty), its half-width relative to the mean, around the median drawn; a case run "
            f"once has none ({NO_INTERVAL}).")


def machines_text(runs: list[Run]) -> str:
    names = sorted({r.machine + (f" ({r.engine})" if r.predicted else "") for r in runs})
    return ", ".join(names)
