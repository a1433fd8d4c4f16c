"""Results files people keep for years: a versioned CSV (one flat row per case, units in the
column names) and, beside it, one JSON per case with the resolved config, environment and
per-request records. All writes are atomic; an existing file is never torn or truncated.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import sys
import tempfile
from pathlib import Path

from bench.core.errors import BenchError
from bench.results import schema, upgrade

# The declared schema (bench/results/schema.py) is the interface; this module only stores rows.
SCHEMA_VERSION = schema.SCHEMA_VERSION
COLUMNS = schema.COLUMNS

STATUSES = ("ok", "failed", "timeout", "oom", "interrupted")


def json_dir(csv_path: Path) -> Path:
    """Per-case JSON files live in a folder named after the CSV: results/runs.csv -> results/runs/."""
    return csv_path.with_suffix("")


def json_path(csv_path: Path, run_id: str) -> Path:
    return json_dir(csv_path) / f"{run_id}.json"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def followed(path: Path) -> Path:
    """The file `path` names: a symbolic link is followed to its target, which is then written, appended to or
    upgraded in place, so a link is never replaced by a file (its target would stop receiving rows). A loop of
    links names no file: the path itself."""
    path = Path(path)
    if not path.is_symlink():
        return path
    real = Path(os.path.realpath(path))
    return path if real.is_symlink() else real


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the target's folder, fsync, rename over the target (a link's target: followed)."""
    path = followed(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # what open() would give; mkstemp's 0600 hides reports from their readers
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def write_json(path: Path, obj: dict) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, default=str, sort_keys=False) + "\n").encode())


def format_cell(v) -> str:
    """A value as its CSV cell: empty for None, floats to 6 decimals below 1e15."""
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(round(v, 6)) if abs(v) < 1e15 else repr(v)
    return str(v)


def _csv_text(header: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="raise")
    for r in rows:
        w.writerow({k: format_cell(r.get(k)) for k in header})
    return buf.getvalue()


def read_header(path: Path) -> list[str] | None:
    """The first line's column names; None for a missing or empty file, [] for one with no readable first line.
    A byte-order mark (a CSV saved by Excel) is skipped; a file that is not UTF-8 is BenchError."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    if path.is_dir():
        raise BenchError(f"{path} is a directory, not a results CSV")
    with path.open("rb") as f:
        first = f.readline()
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BenchError(not_utf8(path, e)) from None
    try:
        return next(csv.reader(io.StringIO(text, newline="")))
    except (StopIteration, csv.Error):
        return []


def not_utf8(path: Path, e: UnicodeDecodeError, offset: int = 0) -> str:
    return (f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {offset + e.start}); bench results "
            "CSVs are UTF-8: re-save it as UTF-8, or give the file bench wrote")


def torn_header(path: Path, header: list[str]) -> bool:
    """Whether the header line was cut short (a copy or a disk that stopped mid-line): no newline after it, or a
    last name that is the start of one of bench's columns but none itself ('...,model,en'). Appending would
    make the torn name a column for good."""
    with path.open("rb") as f:
        whole = f.readline().endswith(b"\n")
    last = header[-1] if header else ""
    return not whole or (last not in COLUMNS and any(c.startswith(last) for c in COLUMNS))


def _check_header(path: Path, header: list[str]) -> None:
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:  # a reader would keep one of the two cells and never say which
        raise BenchError(f"{path}: column {twice[0]!r} appears twice in the header; the file was edited or damaged: "
                         "remove one (docs/files.md), or choose another file")
    if torn_header(path, header):
        raise BenchError(f"{path}: its header line is cut short (ends in {header[-1]!r}); it is not a whole bench "
                         "results CSV: restore it from a copy (docs/files.md says how), or choose another file")


def check_appendable(path: Path) -> None:
    """Refuse, before any work, a file that is not a bench CSV this bench can append to (its own schema
    version, or an older one it upgrades on the first append: docs/schema.md)."""
    header = read_header(path)
    if header is None:
        return
    if not is_bench_header(header):
        raise BenchError(f"{path} is not a bench results CSV (no schema_version/run_id columns); choose another --out")
    _check_header(path, header)
    versions = [v for v in other_schema_versions(read_rows(path)) if not upgrade.can_upgrade(v)]
    if versions:
        raise BenchError(
            f"{path} holds schema version {', '.join(versions)}, this bench writes {SCHEMA_VERSION}; "
            "write to a new file with --out"
        )


def is_bench_header(header: list[str]) -> bool:
    return "schema_version" in header and "run_id" in header


def other_schema_versions(rows: list[dict]) -> list[str]:
    """The schema versions among `rows` that are not this bench's (empty when all are ours)."""
    versions = {str(r.get("schema_version") or "").strip() for r in rows} - {""}
    return sorted(versions - {str(SCHEMA_VERSION)})


def read_results(path: Path) -> tuple[list[str], list[dict]]:
    """(header, rows) of a results CSV to read (compare, report, cost), or BenchError with the reason.

    Rows of an older schema version are upgraded as they are read (results.upgrade: no cell is lost) and
    the header gains the columns of this version; a file with fewer columns reads them as empty. A newer
    or unknown version is refused: its columns may mean something else.
    """
    _check_readable_header(path)
    header = read_header(path)
    rows = read_rows(path)
    _check_readable_versions(path, other_schema_versions(rows))
    if other_schema_versions(rows):
        header, rows = upgrade.upgrade(header, rows)
    return header, rows


def check_results_file(path: Path) -> None:
    """A results file to read exists and is a file: a directory or a missing path is one line saying which."""
    if path.is_dir():
        raise BenchError(f"{path} is a directory, not a results file; give a results CSV (in it, e.g. "
                         f"{path / 'runs.csv'})")
    if not path.is_file():
        raise BenchError(f"{path}: no such results file")


def _check_readable_header(path: Path) -> None:
    check_results_file(path)
    header = read_header(path)
    if header is None:
        raise BenchError(f"{path} is empty; give a results CSV written by `bench run`")
    if not is_bench_header(header):
        raise BenchError(f"{path} is not a bench results CSV (no schema_version/run_id columns)")
    _check_header(path, header)


def _check_readable_versions(path: Path, other_versions: list[str]) -> None:
    versions = [v for v in other_versions if not upgrade.can_upgrade(v)]
    if versions:
        raise BenchError(f"{path} holds schema version {', '.join(versions)}; this bench reads versions "
                         f"{upgrade.readable_versions()} (its columns may mean other things): re-run the cases, or "
                         "use the bench that wrote the file")


def text_columns(header: list[str]) -> list[str]:
    """The columns of `header` read as text, never as numbers: all but the declared figures (a config_hash or
    git_sha of digits keeps its leading zeros; a column the schema does not declare is kept as written)."""
    return [c for c in header if not (c in schema.BY_NAME and schema.BY_NAME[c].numeric)]


def read_frame(path: Path, columns=None):
    """read_results, columnar, for files of any size (compare, report): (header, pandas DataFrame).

    One pass of pandas' C parser over the whole rows (a torn last row is not one). Text columns (text_columns)
    are strings, an empty cell "" ; the declared figures are what pandas infers (float64 or int64, an empty cell
    NaN; a cell that is not a number makes its column text: bench.results.typed.read_frame reads it as empty). The same checks and messages as read_results; a file of an older
    schema version goes through read_results' row-by-row upgrade (no cell lost) and is then made a frame
    the same way. `columns`: read only those of them the file has (and schema_version), all by default.
    """
    import pandas as pd

    _check_readable_header(path)
    header = read_header(path)
    data = path.read_bytes()
    wanted = set(header) if columns is None else (set(columns) | {"schema_version"}) & set(header)
    texts = [c for c in text_columns(header) if c in wanted]
    figures = {c: [""] for c in wanted if c not in texts}  # an empty figure is NaN, an empty text ""
    body = data[: whole_length(data)]
    try:
        body.decode("utf-8-sig")  # ~0.2 s per 100 MB: the same message as read_rows, not pandas'
    except UnicodeDecodeError as e:
        raise BenchError(not_utf8(path, e)) from None
    if ragged_line(body, len(header)):
        read_rows(path)  # says which line and why; a false alarm (a cell holding a newline) reads on
    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=dict.fromkeys(texts, str),
                            usecols=[c for c in header if c in wanted], keep_default_na=False, na_values=figures,
                            encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise BenchError(f"{path}: malformed CSV ({str(e).splitlines()[0]}); it was left as it is") from None
    versions = sorted({str(v).strip() for v in frame["schema_version"].unique()} - {"", str(SCHEMA_VERSION)})
    _check_readable_versions(path, versions)
    if versions:
        header, rows = read_results(path)
        frame = frame_of(header, rows, columns)  # the upgrade may add some of the columns asked for
    return header, frame


def frame_of(header: list[str], rows: list[dict], columns=None):
    """Rows of CSV text (read_results') as read_frame gives them: text columns as strings ("" where empty), the
    others as pandas infers them; `columns`: only those (and schema_version), all by default."""
    import pandas as pd

    frame = pd.read_csv(io.StringIO(_csv_text(header, rows)), names=header, header=None,
                        dtype=dict.fromkeys(text_columns(header), str), keep_default_na=False, na_values=[""])
    if columns is not None:
        frame = frame[[c for c in header if c in set(columns) | {"schema_version"}]]
    texts = text_columns(list(frame.columns))
    frame[texts] = frame[texts].fillna("")
    return frame


def ragged_line(body: bytes, columns: int) -> int:
    """The number (1-based) of the first line that may not hold `columns` cells, 0 when none: pandas' C parser
    refuses more cells but fills fewer with NaN silently. A line without quotes must hold columns - 1 commas; a
    line with quotes is parsed alone (a quoted cell spanning lines is reported, and read_rows then decides).
    One pass over the lines in C-backed bytes methods: a tenth of a second for 100,000 rows."""
    commas = columns - 1
    for i, line in enumerate(body.split(b"\n")[1:], start=2):
        if not line or line == b"\r":
            continue
        if b'"' not in line:
            if line.count(b",") != commas:
                return i
        elif line.count(b'"') % 2 or len(next(csv.reader([line.decode("utf-8", "replace")]))) != columns:
            return i
    return 0


def read_rows(path: Path) -> list[dict]:
    """Every whole row (a torn last row, if any, is not one)."""
    data = path.read_bytes()
    try:
        text = data[: whole_length(data)].decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BenchError(not_utf8(path, e)) from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = []
        for row in reader:
            if None in row or None in row.values():  # more cells than the header names, or fewer
                n = len(reader.fieldnames or [])
                cells = n + len(row[None]) if None in row else sum(v is not None for v in row.values())
                raise BenchError(f"{path} line {reader.line_num}: {cells} cells under a header of {n} columns: they "
                                 "cannot be matched to their columns; fix or remove that line (docs/files.md); the "
                                 "file was left as it is")
            rows.append(row)
        return rows
    except csv.Error as e:
        raise BenchError(f"{path}: malformed CSV ({e}); it was left as it is") from None


def _lock(path: Path):
    """An exclusive lock beside the CSV: serialises writers (and repairs) on one machine."""
    return open(path.with_name(f".{path.name}.lock"), "a")


def append_row(path: Path, row: dict) -> None:
    """Append one row without ever leaving a torn or half-written file.

    Same header: one whole row is written with O_APPEND and fsynced. A torn last row (a writer
    killed mid-write, a crash before the data reached the disk) is moved aside first, so every
    row stays parseable. A file whose header lacks some of our columns (an older bench) is rewritten,
    atomically, with the union; a file of an older schema version is upgraded whole (no cell lost) after
    its original bytes are kept beside it (results.upgrade.backup_path). A lock serialises writers on one machine.
    """
    unknown = set(row) - set(COLUMNS)
    if unknown:
        raise ValueError(f"row has columns outside the schema: {sorted(unknown)}")
    path = followed(path)  # one lock, backup and torn file per real file, however it is named
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(path) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        check_appendable(path)
        header = read_header(path)
        if header is None:
            write_atomic(path, (",".join(COLUMNS) + "\n" + _csv_text(COLUMNS, [row])).encode())
            return
        _drop_torn_tail(path)
        rows = read_rows(path)
        if other_schema_versions(rows):
            _upgrade_in_place(path, header, rows, row)
        elif set(header) >= set(COLUMNS):
            _append_line(path, _csv_text(header, [row]).encode())
        else:
            merged = header + [c for c in COLUMNS if c not in header]
            write_atomic(path, (",".join(merged) + "\n" + _csv_text(merged, rows + [row])).encode())


def _upgrade_in_place(path: Path, header: list[str], rows: list[dict], row: dict) -> None:
    """An older schema's file gets its first row of this version: keep the original, upgrade, append. Lock held."""
    backup = upgrade.backup_path(path, rows)
    if not backup.exists():
        write_atomic(backup, path.read_bytes())
    header, rows = upgrade.upgrade(header, rows)
    header += [c for c in COLUMNS if c not in header]
    write_atomic(path, (",".join(header) + "\n" + _csv_text(header, rows + [row])).encode())
    print(f"note: {path} was upgraded to schema version {SCHEMA_VERSION} (no cell lost; the original is kept as "
          f"{backup})", file=sys.stderr)


def _append_line(path: Path, line: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(line)
        while view:  # os.write may write less than asked
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def whole_length(data: bytes) -> int:
    """Bytes of `data` up to the end of its last whole CSV record: a newline outside quotes.
    Rows are written newline-terminated, so anything after that is a torn write."""
    if data.endswith(b"\n") and data.count(b'"') % 2 == 0:
        return len(data)
    pos = quotes = end = 0
    while (nl := data.find(b"\n", pos)) >= 0:
        quotes += data.count(b'"', pos, nl)
        pos = nl + 1
        if quotes % 2 == 0:  # this newline is outside any quoted field: a record ends here
            end = pos
    return end


def _drop_torn_tail(path: Path) -> int:
    """Move a torn last record (a writer killed mid-write, a crash before the data reached the disk)
    out of the file into `<name>.torn`. Returns the bytes moved. Caller holds the lock."""
    data = path.read_bytes()
    keep = whole_length(data)
    if keep == len(data) or keep == 0:  # whole, or not even a whole header: check_appendable judges that
        return 0
    torn = data[keep:]
    _append_line(torn_path(path), torn + b"\n")  # kept for inspection, never read as a row
    os.truncate(path, keep)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    print(f"note: {path}: a torn last row ({len(torn)} bytes) was moved to {torn_path(path)}", file=sys.stderr)
    return len(torn)


def torn_path(path: Path) -> Path:
    return path.with_name(path.name + ".torn")


def repair(path: Path) -> int:
    """Drop a torn last line, under the writers' lock; returns the bytes dropped (0: the file was whole)."""
    path = followed(path)
    if not path.exists():
        return 0
    with _lock(path) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _drop_torn_tail(path)


def ok_keys(path: Path) -> set[str]:
    """config_hash of every row whose status is ok: the cases a resumed sweep skips."""
    if read_header(path) is None:
        return set()
    return {r["config_hash"] for r in read_rows(path)
            if r.get("status") == "ok" and r.get("config_hash")}
