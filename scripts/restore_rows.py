"""Put back the results rows a CSV lost, from the JSON bench wrote beside each of them.

    python scripts/restore_rows.py results/runs.csv                 # append the rows missing from it
    python scripts/restore_rows.py results/runs.csv --into new.csv  # rebuild into another file

Every case's JSON (results/runs/<run_id>.json, written before its row) holds the whole row under "row". A row
whose run_id is not a whole row of the target (torn by a crash and moved to runs.csv.torn, or in a file whose
header or a line was damaged) is appended, in timestamp order, as bench appends it (locked, fsynced; a row of
an older schema version upgraded). Running it again appends nothing. Exit 0; 2 with one line on bad input.
See docs/files.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.core.errors import BenchError
from bench.results import store, upgrade


def rows_from_json(folder: Path) -> tuple[list[dict], list[str]]:
    """(rows, notes): the row of every case JSON in `folder` (sweep summaries have none and are skipped)."""
    rows, notes = [], []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            notes.append(f"{path.name}: not readable JSON ({e}); skipped")
            continue
        row = record.get("row") if isinstance(record, dict) else None
        if isinstance(row, dict) and row.get("run_id"):
            rows.append(upgrade.upgrade_row({k: v for k, v in row.items()}))
    return sorted(rows, key=lambda r: (str(r.get("timestamp") or ""), str(r["run_id"]))), notes


def restore(results: Path, into: Path | None = None) -> list[str]:
    """Append to `into` (default `results`) each row of `results`'s JSON folder it lacks; their run_ids."""
    target = into or results
    folder = store.json_dir(results)
    if not folder.is_dir():
        raise BenchError(f"{folder}: no such folder; the JSON of each row is kept there (is {results} the CSV "
                         "bench wrote?)")
    store.check_appendable(target)
    have = {r.get("run_id") for r in store.read_rows(target)} if store.read_header(target) else set()
    rows, notes = rows_from_json(folder)
    done = []
    for row in rows:
        if row["run_id"] in have:
            continue
        extra = sorted(set(row) - set(store.COLUMNS))
        if extra:
            notes.append(f"{row['run_id']}: columns this bench does not know ({', '.join(extra[:3])}); skipped")
            continue
        store.append_row(target, row)
        have.add(row["run_id"])
        done.append(row["run_id"])
    for line in notes:
        print(f"note: {line}", file=sys.stderr)
    return done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", type=Path, metavar="RESULTS.csv", help="the CSV whose JSON folder holds the rows")
    p.add_argument("--into", type=Path, default=None, metavar="FILE.csv",
                   help="append to this CSV instead (rebuild a damaged file into a new one)")
    args = p.parse_args(argv)
    try:
        if args.into is not None and args.into.suffix.lower() != ".csv":
            raise BenchError(f"--into {args.into}: give a file ending in .csv")
        done = restore(args.results, args.into)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"restored {len(done)} row(s) into {args.into or args.results}" + (f": {', '.join(done)}" if done else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
