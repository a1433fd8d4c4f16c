"""Files of an older schema version, read and upgraded step by step without losing a cell (docs/schema.md).

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


V3_COLUMNS = ("tokens_per_cny_blended", "gpu_price_source", "gpu_price_date", "fx_date", "prefill_s", "decode_s",
              "split_method")


def _v2_to_v3(row: dict) -> dict:
    """Version 2 -> 3: seven columns added (issue 12). `tokens_per_cny_blended` follows from the row's own
    `cny_per_m_blended` (1e6 / it, at the row's cost_mix); the price's source and dates and the step split were
    not recorded, so they stay empty (bench cost then splits such a row by TPOT, as before)."""
    out = dict(row)
    out["schema_version"] = "3"
    blended = _number(row.get("cny_per_m_blended"))
    if not (out.get("tokens_per_cny_blended") or "").strip():
        out["tokens_per_cny_blended"] = repr(1e6 / blended) if blended else ""
    for c in V3_COLUMNS:
        out.setdefault(c, "")
    return out


def _number(text) -> float | None:
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None
    return x if x > 0 and x != float("inf") else None


V4_COLUMNS = ("energy_note", "predicted_output_tok_s", "predicted_ttft_p50_ms", "predicted_ttft_p99_ms",
              "predicted_tpot_p50_ms", "predicted_tpot_p99_ms", "predicted_band_low_tok_s",
              "predicted_band_high_tok_s", "prediction_calibration", "tokens_per_chunk_max", "tokens_per_chunk_mean",
              "tpot_unmeasured", "dataset", "dataset_file", "dataset_sha256", "dataset_skipped", "input_len_p50",
              "input_len_p99", "input_len_max", "output_len_p50", "output_len_p99", "output_len_max",
              "prefix_caching", "cached_prompt_tokens", "prefix_cache_hit_rate", "cny_per_m_input_uncached")


def _v3_to_v4(row: dict) -> dict:
    """Version 3 -> 4: the columns of issues 13-18 added at the end (energy note, the prediction beside the bound,
    honest streaming, the workload's source and lengths, prefix caching). None follows from a version-3 row's
    cells (a v3 row ran the random workload with prefix caching off, but nothing recorded that), so all stay
    empty; every other cell is kept as it is."""
    out = dict(row)
    out["schema_version"] = "4"
    for c in V4_COLUMNS:
        out.setdefault(c, "")
    return out


V5_COLUMNS = ("source_format", "source_tool", "source_tool_version", "source_file", "source_sha256", "source_benchmark",
              "given_columns", "recomputed_from", "tool_disagreement")


def _v4_to_v5(row: dict) -> dict:
    """Version 4 -> 5: the source columns of rows read from other tools' files. A version-4 row was
    written by bench itself, so all stay empty; every other cell is kept as it is."""
    out = dict(row)
    out["schema_version"] = "5"
    for c in V5_COLUMNS:
        out.setdefault(c, "")
    return out


# version -> the function that lifts one row to the next version
STEPS = {"1": _v1_to_v2, "2": _v2_to_v3, "3": _v3_to_v4, "4": _v4_to_v5}
# version -> the columns its step adds (a file of that version gains exactly these, nothing else)
ADDED = {"1": ("engine_version",), "2": V3_COLUMNS, "3": V4_COLUMNS, "4": V5_COLUMNS}


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
