"""Results files read back as typed values: every cell as its column declares it (bench.results.cells), so that
the tools that read results (compare, cost, plan, report, calibrate) hold numbers, never a cell's text.

Below this, bench.results.store reads a file as it holds it (the checks, the upgrade of an older schema version,
a torn last row left out); here its cells become values. A cell that is not a value of its column reads as
empty, and the reader says so on stderr once per file, naming the first (docs/schema.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.results import cells, store


def read_rows(path: Path) -> tuple[list[str], list[dict]]:
    """(header, rows) of a results CSV, each row's cells as values; BenchError as store.read_results."""
    header, raw = store.read_results(path)
    misread = cells.Misread()
    rows = [cells.row(r, misread, i) for i, r in enumerate(raw, start=1)]
    _say(misread, path)
    return header, rows


def read_frame(path: Path, columns=None):
    """(header, pandas DataFrame) of a results CSV of any size, one column at a time (cells.frame): figures as
    float64 (int64 for whole counts), NaN where empty; text columns as their text, "" where empty. The
    checks, messages and `columns` of store.read_frame."""
    header, raw = store.read_frame(path, columns)
    misread = cells.Misread()
    frame = cells.frame(raw, misread)
    _say(misread, path)
    return header, frame


def _say(misread: cells.Misread, path: Path) -> None:
    line = misread.note(path)
    if line:
        print(line, file=sys.stderr)
