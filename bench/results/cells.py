"""A results cell as the value its column declares (bench.results.schema: Column.kind), one rule for a row's
cells and a whole column alike (docs/schema.md, "Reading results back"):

    text     the cell as written; empty: None (a frame keeps "": pandas' text columns)
    number   a float; empty, nan or infinite: None (an infinite request_rate, declared `inf`, is inf)
    int      a whole number as int; a number with a fraction (a mean) as float; otherwise as number
    bool     True or False (as Python writes them, any case; 1 or 0)
    a column the schema does not declare: the text as written

A cell that is not a value of its kind (a hand edit: `fast` under output_tok_s) reads as empty, as bench has
always read it; `Misread` counts such cells so that a reader can say so, naming the first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.results import schema

TRUE, FALSE = ("true", "1"), ("false", "0")


def parse(name: str, text):
    """The value of one cell of column `name`; ValueError when the cell is not a value of the column's kind."""
    return _parse(schema.BY_NAME.get(name), text)


def _parse(col: schema.Column | None, text):
    if text is None:
        return None
    text = text if isinstance(text, str) else str(text)
    if col is None or col.kind == "text":
        return text if text != "" else None
    t = text.strip()
    if t == "":
        return None
    if col.kind == "bool":
        if t.lower() in TRUE + FALSE:
            return t.lower() in TRUE
        raise ValueError(text)
    if col.kind == "int":
        try:
            return int(t)
        except ValueError:
            pass
    x = float(t)  # ValueError: not a number
    if math.isnan(x) or (math.isinf(x) and not col.inf):
        return None
    if col.kind == "int" and x.is_integer():
        return int(x)
    return x


def value(name: str, text):
    """parse, with a cell that is not a value of its kind read as empty (None)."""
    try:
        return parse(name, text)
    except ValueError:
        return None


@dataclass
class Misread:
    """Cells read as empty because they were not a value of their column's kind: how many, and the first."""

    count: int = 0
    first: tuple[int, str, str] | None = None  # (row, counted from 1 under the header; column; the cell)

    def add(self, row: int, column: str, text, n: int = 1) -> None:
        if self.first is None or row < self.first[0]:
            self.first = (row, column, str(text))
        self.count += n

    def note(self, path) -> str | None:
        """One line for the reader to print; None when every cell was read."""
        if not self.count:
            return None
        row, column, text = self.first
        return (f"note: {path}: {self.count} cell(s) that are not a value of their column read as empty (the first: "
                f"row {row}, {column} = {text!r}); docs/schema.md says what each column holds")


def row(raw: dict, misread: Misread | None = None, number: int = 0) -> dict:
    """Every cell of one row (a dict of texts, as the CSV holds them) as its value; `number`: the row's place
    under the header (from 1), for `misread`."""
    out = {}
    for name, text in raw.items():
        try:
            out[name] = parse(name, text)
        except ValueError:
            out[name] = None
            if misread is not None:
                misread.add(number, name, text)
    return out


def frame(df, misread: Misread | None = None):
    """A pandas DataFrame (texts as the CSV holds them, or figures pandas already read) with every declared
    column as its kind: number -> float64 (NaN where empty), int -> int64 when every cell is a whole number
    (else float64), bool -> True/False/None; text and undeclared columns as they are. Converted in place (a
    frame of 100,000 rows is not copied whole) and returned."""
    for name in df.columns:
        col = schema.BY_NAME.get(name)
        if col is None or col.kind == "text":
            continue
        s = df[name]
        if s.dtype == ("int64" if col.kind == "int" else "float64") and (col.kind == "int" or col.inf or
                                                                        _finite_or_nan(s)):
            continue  # pandas read it as the kind already
        df[name] = _column(s, col, misread)
    return df


def _finite_or_nan(s) -> bool:
    import numpy as np

    return not np.isinf(s.to_numpy()).any()


def numbers(s):
    """A column of texts read by the number rule (a column the schema does not declare, used as a figure): float64,
    NaN where empty or not a number."""
    return _column(s, schema.Column(str(s.name), "", "", "", kind="number"), None)


def _column(s, col: schema.Column, misread: Misread | None):
    import numpy as np
    import pandas as pd

    if col.kind != "bool" and s.dtype.kind in "fiu":  # pandas read numbers: the finite rule only
        x = s.astype(float)
        if not col.inf:
            x = x.where(np.isfinite(x))
    else:  # texts (or a mix): each distinct cell once through parse
        codes, uniques = pd.factorize(s)  # an empty cell of a read frame is NaN: code -1
        parsed = []
        for i, u in enumerate(uniques):
            try:
                parsed.append(_parse(col, u))
            except ValueError:
                parsed.append(None)
                if misread is not None:
                    hit = np.flatnonzero(codes == i)
                    misread.add(int(hit[0]) + 1, col.name, u, len(hit))
        table = np.array(parsed + [None], dtype=object)
        x = pd.Series(table[codes], index=s.index, dtype=object)
        if col.kind == "bool":
            return x
        x = x.astype(float)
    if col.kind == "int" and x.notna().all() and (x == x.round()).all():
        return x.astype("int64")
    return x
