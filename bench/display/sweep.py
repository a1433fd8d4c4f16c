"""What a sweep shows: the plan (--dry-run), a progress bar with the running case and ETA, one line per
finished case, and a summary. Formatting only."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn, \
    TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bench.core.console import make_console
from bench.core.formats import ms, num
from bench.display import run as display

console = make_console(stderr=True)

STATUS_STYLE = {"ok": "green", "failed": "red", "oom": "red", "timeout": "yellow", "interrupted": "yellow"}


def print_plan(cases, skip_keys: set[str], out_csv) -> None:
    t = Table(title=f"sweep plan: {len(cases)} cases -> {out_csv}", title_justify="left")
    for col in ("#", "case", "model", "engine", "key", "action"):
        t.add_column(col)
    for c in cases:
        action = "skip (ok in results)" if c.key in skip_keys else "run"
        t.add_row(str(c.spec.index), c.label.split(" ", 1)[-1], c.cfg.model, c.cfg.engine, c.key, action)
    display.console.print(t)


def eta_s(elapsed_s: float, done: int, total: int) -> float | None:
    """Seconds left: the mean wall time of the finished cases times the cases left (None before the first)."""
    if done <= 0 or elapsed_s <= 0:
        return None
    return elapsed_s / done * max(total - done, 0)


class MeanEtaColumn(ProgressColumn):
    def render(self, task) -> Text:
        left = eta_s(task.elapsed or 0.0, int(task.completed), int(task.total or 0))
        if left is None:
            return Text("ETA -:--:--", style="progress.remaining")
        h, rem = divmod(int(round(left)), 3600)
        return Text(f"ETA {h}:{rem // 60:02d}:{rem % 60:02d}", style="progress.remaining")


class SweepProgress:
    """A rich progress bar (cases done / total, running cases, elapsed, ETA) that also collects the rows."""

    def __init__(self, total: int, skipped: int = 0):
        self.total = total
        self.skipped = skipped
        self.rows: list[dict] = []
        self.running: dict[int, str] = {}
        self._t0 = time.perf_counter()
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), MeanEtaColumn(), console=console,
        )
        self.task = None

    def __enter__(self):
        self.progress.start()
        self.task = self.progress.add_task("starting", total=self.total)
        if self.skipped:
            console.print(f"resume: {self.skipped} case(s) already ok in the results file are skipped")
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def _describe(self) -> None:
        text = ", ".join(self.running.values()) if self.running else "waiting"
        self.progress.update(self.task, description=text[:120])

    def started(self, case) -> None:
        self.running[case.spec.index] = case.label
        self._describe()

    def finished(self, case, row: dict, wall_s: float | None = None) -> None:
        self.running.pop(case.spec.index, None)
        self.rows.append(row)
        status = row.get("status")
        style = STATUS_STYLE.get(status, "red")
        took = f" ({num(wall_s)} s)" if wall_s is not None else ""
        if status == "ok":
            what = f"{num(row.get('output_tok_s'))} output tok/s"
        else:
            what = str(row.get("error") or "")[:200]
        self.progress.console.print(f"[{style}]{status:>11}[/{style}] {case.label}: {what}{took}")
        self.progress.advance(self.task)
        self._describe()


    def left_out(self, case) -> None:
        """A planned repeat that does not run: its case met its --until-ci target in the rounds before."""
        self.progress.console.print(f"[dim]{'not needed':>11}[/dim] {case.label}: its case met its --until-ci target")
        self.progress.advance(self.task)


def print_sweep_summary(rows: list[dict], labels: dict[str, str], skipped: int, out_csv) -> None:
    """labels: config_hash -> case label."""
    if rows:
        t = Table(title="sweep summary", title_justify="left")
        for col in ("case", "status", "output_tok_s", "total_tok_s", "ttft_p50_ms", "tpot_p50_ms", "peak_memory_gb"):
            t.add_column(col, justify="left" if col in ("case", "status") else "right")
        for r in rows:
            t.add_row(labels.get(r.get("config_hash"), r.get("model", "?")), str(r.get("status")),
                      num(r.get("output_tok_s")), num(r.get("total_tok_s")), ms(r.get("ttft_p50_ms")),
                      ms(r.get("tpot_p50_ms")), num(r.get("peak_memory_gb")))
        display.console.print(t)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("status")] = counts.get(r.get("status"), 0) + 1
    parts = [f"{n} {s}" for s, n in counts.items()] + ([f"{skipped} skipped (already ok)"] if skipped else [])
    print(f"sweep: {', '.join(parts) or 'nothing to run'}; results: {out_csv} (+ {out_csv.with_suffix('')}/<run_id>.json)")
