"""Files of an older schema version, read and upgraded step by step without losing a cell (docs/schema.md).

Which columns each version added is declared once, with the columns (schema.Column.since): a row lifted from
version v - 1 to v gains those columns, empty, and its `schema_version` becomes v. Where an added column
follows from the old row's own cells, a rule fills it (RULES, keyed by the version that added the column).
Every other cell is kept as it is; no column is renamed, removed or reordered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.results import cells, schema

VLLM_ENGINES = ("vllm", "vllm-server")


def _empty(row: dict, column: str) -> bool:
    return not (row.get(column) or "").strip()


def engine_version_from_vllm(row: dict) -> None:
    """`engine_version` is the row's `vllm_version` for the engines vllm and vllm-server; other engines did not
    record their version, so it stays empty."""
    if _empty(row, "engine_version"):
        vllm = (row.get("vllm_version") or "").strip()
        row["engine_version"] = vllm if (row.get("engine") or "").strip() in VLLM_ENGINES else ""


def tokens_per_cny_from_blended(row: dict) -> None:
    """`tokens_per_cny_blended` is 1e6 / the row's `cny_per_m_blended` where it has one (at the row's cost_mix);
    the price's source and dates and the step split were not recorded, so they stay empty (bench cost then
    splits such a row by TPOT, as before)."""
    blended = cells.value("cny_per_m_blended", row.get("cny_per_m_blended"))
    if _empty(row, "tokens_per_cny_blended"):
        row["tokens_per_cny_blended"] = repr(1e6 / blended) if blended and blended > 0 else ""


def workload_of_v3(row: dict) -> None:
    """What a version-3 row's meaning fixes, filled as version 4 writes it (so `bench compare`, which keys on
    `dataset` and `prefix_caching`, finds its cases in a newer file): bench had no other workload then, so `dataset`
    is random (no file: its file, hash and skipped count stay empty); vLLM ran with prefix caching off (vllm,
    vllm-server rows: `off`; other engines and endpoints: empty, as version 4 writes them); with fixed lengths every
    request's lengths are input_len and output_len, so their percentiles and maxima are those. The rest (energy
    note, predictions, chunk figures, cache counts) was not measured then and stays empty."""
    filled = {"dataset": "random",
              "prefix_caching": "off" if (row.get("engine") or "").strip() in VLLM_ENGINES else ""}
    if (row.get("length_dist") or "").strip() == "fixed":
        for side in ("input_len", "output_len"):
            n = (row.get(side) or "").strip()
            filled.update({f"{side}_{stat}": n for stat in ("p50", "p99", "max")})
    for c, v in filled.items():
        if _empty(row, c):
            row[c] = v


def first_repeat(row: dict) -> None:
    """A version-5 row is its case's only run: `repeat_index` 0. Its sample counts, p99 reliability and bounds were
    not recorded (the requests are not in the row), so they stay empty."""
    if _empty(row, "repeat_index"):
        row["repeat_index"] = "0"


# version -> what its step fills from an older row's own cells (beyond the empty new columns). Version 5's
# failure columns have no rule: a version-4 level counted failures without classes, and was ok when any request
# completed.
RULES = {2: engine_version_from_vllm, 3: tokens_per_cny_from_blended, 4: workload_of_v3, 6: first_repeat}


@dataclass(frozen=True)
class Upgrade:
    """The upgrade path of one set of declarations (the current schema, or a test's)."""

    declared: tuple[schema.Column, ...]
    rules: dict = field(default_factory=lambda: dict(RULES))

    def __post_init__(self):
        schema.check(self.declared)

    @property
    def version(self) -> int:
        return schema.version_of(self.declared)

    @property
    def added(self) -> dict[int, tuple[str, ...]]:
        """Version -> the columns its step adds (a file of the version before gains exactly these)."""
        return {v: cols for v, cols in schema.added_by_version(self.declared).items() if v > 1}

    def can_upgrade(self, version: str) -> bool:
        return str(version).strip() in {str(v) for v in range(1, self.version)}

    def readable_versions(self) -> str:
        return ", ".join(str(v) for v in range(1, self.version + 1))

    def upgrade_row(self, row: dict) -> dict:
        """One row lifted step by step to this schema version (a row of this version comes back unchanged)."""
        while self.can_upgrade(v := str(row.get("schema_version") or "").strip()):
            new = int(v) + 1
            row = dict(row, schema_version=str(new))
            for c in self.added[new]:
                row.setdefault(c, "")
            if new in self.rules:
                self.rules[new](row)
        return row

    def upgrade(self, header: list[str], rows: list[dict]) -> tuple[list[str], list[dict]]:
        """(header, rows) of an older file at this version: its columns in their order, then the columns the
        upgrade steps add; every row upgraded. Columns the file never had stay absent (read as empty)."""
        versions = [int(v) for v in {str(r.get("schema_version") or "").strip() for r in rows} if self.can_upgrade(v)]
        oldest = min(versions, default=self.version)
        added = {c for v, cols in self.added.items() if v > oldest for c in cols}  # every step from the oldest row's
        new_header = list(header) + [c.name for c in self.declared if c.name in added and c.name not in header]
        return new_header, [self.upgrade_row(r) for r in rows]


CURRENT = Upgrade(schema.DECLARED)
can_upgrade = CURRENT.can_upgrade
readable_versions = CURRENT.readable_versions
upgrade_row = CURRENT.upgrade_row
upgrade = CURRENT.upgrade


def backup_path(path: Path, rows: list[dict]) -> Path:
    """Where the original bytes of an upgraded file are kept: results/x.csv -> results/x.csv.schema1 (not a
    *.csv, so `bench report results/*.csv` does not read its rows twice)."""
    versions = sorted({str(r.get("schema_version") or "").strip() for r in rows} - {"", str(schema.SCHEMA_VERSION)})
    return path.with_name(f"{path.name}.schema{'-'.join(versions) or 'old'}")
