"""Files of an older schema version, read and upgraded without losing a cell (docs/schema.md).

Version 1 -> 2: one column added, `engine_version`. A version-1 row of a vLLM engine (vllm,
vllm-server) already recorded vLLM's version in `vllm_version`, which becomes its engine_version;
other engines' rows did not record theirs, so it stays empty. Every other cell is kept as it is
(`schema_version` becomes 2); no column is renamed, removed or reordered.
"""

from __future__ import annotations

from pathlib import Path

from bench.results.schema import COLUMNS, SCHEMA_VERSION

VLLM_ENGINES = ("vllm", "vllm-server")


def _v1_to_v2(row: dict) -> dict:
    out = dict(row)
    out["schema_version"] = "2"
    if not (out.get("engine_version") or "").strip():
        vllm = (row.get("vllm_version") or "").strip()
        out["engine_version"] = vllm if (row.get("engine") or "").strip() in VLLM_ENGINES else ""
    return out


# version -> the function that lifts one row to the next version
STEPS = {"1": _v1_to_v2}
# version -> the columns its step adds (a file of that version gains exactly these, nothing else)
ADDED = {"1": ("engine_version",)}


def can_upgrade(version: str) -> bool:
    return str(version).strip() in STEPS


def readable_versions() -> str:
    return ", ".join([*STEPS, str(SCHEMA_VERSION)])


def upgrade_row(row: dict) -> dict:
    """One row lifted step by step to this schema version (a row of this version comes back unchanged)."""
    while (v := str(row.get("schema_version") or "").strip()) in STEPS:
        row = STEPS[v](row)
    return row


def upgrade(header: list[str], rows: list[dict]) -> tuple[list[str], list[dict]]:
    """(header, rows) of an older file at this version: its columns in their order, then the columns the
    upgrade steps add; every row upgraded. Columns the file never had stay absent (read as empty)."""
    versions = [int(v) for v in {str(r.get("schema_version") or "").strip() for r in rows} if v in STEPS]
    oldest = min(versions, default=SCHEMA_VERSION)
    added = [c for v in STEPS if int(v) >= oldest for c in ADDED[v]]  # every step from the oldest row's on
    new_header = list(header) + [c for c in COLUMNS if c in added and c not in header]
    return new_header, [upgrade_row(r) for r in rows]


def backup_path(path: Path, rows: list[dict]) -> Path:
    """Where the original bytes of an upgraded file are kept: results/x.csv -> results/x.csv.schema1 (not a
    *.csv, so `bench report results/*.csv` does not read its rows twice)."""
    versions = sorted({str(r.get("schema_version") or "").strip() for r in rows} - {"", str(SCHEMA_VERSION)})
    return path.with_name(f"{path.name}.schema{'-'.join(versions) or 'old'}")
