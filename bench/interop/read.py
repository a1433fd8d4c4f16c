"""Any results file bench reads, told by its content: a bench results CSV, or another tool's file (vLLM's
`bench serve` / `bench throughput` JSON, AIPerf's profile export JSON or CSV, GuideLLM's benchmarks.json, a
Benchmark Report v0.2 in YAML or JSON), or a folder holding such files. `bench cost`, `plan`, `report`, `compare`
and `bench import` read through here; another tool's benchmarks arrive as bench rows (bench.interop.rows).

Bad input is one BenchError line naming the file and the problem: a file of no known kind, a known kind at a
schema version bench does not read, a truncated JSON, a file none of whose benchmarks can be used (no request
succeeded, no throughput, no model or card to price it by). A file with some usable benchmarks gives those, and
a note on stderr names each one left out and why.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.config.hardware import HardwareBook, load_hardware
from bench.core.errors import BenchError
from bench.interop import aiperf, br, guidellm, rows, vllm_bench
from bench.interop.source import Given, SourceFile, csv_rows, json_lines, parse_json, sha256_of
from bench.results import cells, store, typed

KINDS = ("a bench results CSV, `vllm bench serve --save-result` or `vllm bench throughput --output-json` JSON, "
         "AIPerf's profile_export_aiperf.json or .csv, GuideLLM's benchmarks.json, or a Benchmark Report v0.2 "
         "(YAML or JSON)")


@dataclass
class Imported:
    """Rows read from another tool's files, with the JSON of each and the notes to show."""

    rows: list[dict] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # benchmarks left out, columns given
    disagreements: list[str] = field(default_factory=list)  # figures bench and the tool differ on by more than 1%


def is_bench_csv(path: Path) -> bool:
    if path.is_dir():
        return False
    try:
        header = store.read_header(path)
    except BenchError:
        return False
    return bool(header) and store.is_bench_header(header)


def load(path: Path) -> SourceFile:
    """Another tool's file, read and told apart by its content; BenchError naming the file and the problem."""
    if not path.is_file():
        raise BenchError(f"{path}: no such results file")
    src = _load(path)
    if src is None:
        raise BenchError(f"{path} is not a bench results CSV (no schema_version/run_id columns) nor another tool's "
                         f"results file bench reads; give {KINDS}")
    return src


def kind_of(path: Path) -> str | None:
    """The format of another tool's file, None for a file of no kind bench reads (BenchError: a known kind
    that cannot be read, such as a truncated JSON)."""
    src = _load(path) if path.is_file() else None
    return src.format if src else None


def _load(path: Path) -> SourceFile | None:
    data = path.read_bytes()
    sha = sha256_of(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    head = text.lstrip()[:1]
    if head in ("{", "["):
        return _json(path, text, sha)
    if text.startswith("Metric,"):
        found = csv_rows(text)
        if aiperf.is_csv(found):
            return aiperf.read_csv(path, found, sha, aiperf.records_beside(path))
    docs = _yaml(text)
    if docs and all(br.is_report(d) for d in docs):
        return br.read_all(path, docs, sha)
    if len(docs) == 1 and guidellm.is_report(docs[0]):
        return guidellm.read(path, docs[0], sha)
    return None


def _json(path: Path, text: str, sha: str) -> SourceFile | None:
    try:
        docs = [parse_json(path, text)]
    except BenchError as whole:
        try:  # `vllm bench serve --append-result`: one JSON object per line
            docs = json_lines(path, text)
        except BenchError:
            raise whole from None
        if len(docs) < 2:
            raise whole from None
    if all(vllm_bench.is_serve(d) for d in docs):
        return vllm_bench.read_serve(path, docs, sha)
    doc = docs[0]
    if len(docs) == 1:
        if vllm_bench.is_throughput(doc):
            return vllm_bench.read_throughput(path, doc, sha)
        if aiperf.is_json(doc):
            return aiperf.read_json(path, doc, sha, aiperf.records_beside(path))
        if guidellm.is_report(doc):
            return guidellm.read(path, doc, sha)
        if br.is_report(doc):
            return br.read(path, doc, sha)
    return None


def _yaml(text: str) -> list:
    import yaml

    try:
        return [d for d in yaml.safe_load_all(io.StringIO(text)) if d is not None]
    except yaml.YAMLError:
        return []


def files_in(path: Path) -> list[Path]:
    """The results files of a folder: those of a kind bench reads, told by content. An AIPerf CSV beside an AIPerf
    JSON is the same profile, rounded: the JSON is read."""
    found, kinds = [], {}
    for p in sorted(q for q in path.iterdir() if q.is_file() and not q.name.startswith(".")):
        try:
            kind = None if is_bench_csv(p) else kind_of(p)
        except BenchError:  # a truncated file among others: its own import says so
            kind = None
        if kind:
            kinds[p] = kind
            found.append(p)
    if "aiperf-json" in kinds.values():
        found = [p for p in found if kinds.get(p) != "aiperf-csv"]
    if not found:
        raise BenchError(f"{path} is a directory, not a results file, and holds no other tool's results file bench "
                         f"reads; give a results CSV (e.g. {path / 'runs.csv'}), or {KINDS}")
    return found


@dataclass(frozen=True)
class Need:
    """What a row must say (from the file or the command line) for the command reading it."""

    price: bool = False  # cost, plan, report: the model, the card and its GPU count


PRICE = Need(price=True)


def import_file(path: Path, given: Given, need: Need = Need(), book: HardwareBook | None = None) -> Imported:
    """The usable benchmarks of another tool's file as bench rows; BenchError when none is usable."""
    book = book or load_hardware()
    src = load(path)
    out = Imported()
    left: list[str] = []
    for b in src.benchmarks:
        if b.problem:
            left.append(f"{b.label}: {b.problem}")
            continue
        row, record = rows.build(src, b, given, book)
        missing = unpriceable(row, book) if need.price else ""
        if missing:
            left.append(f"{b.label}: {missing}")
            continue
        out.rows.append(row)
        out.records.append(record)
        if row.get("tool_disagreement"):
            out.disagreements.append(f"{path} {b.label}: bench's figures from the {row.get('recomputed_from')} "
                                     f"per-request records differ from {src.tool or src.format}'s own by more than "
                                     f"1%: {row['tool_disagreement']}")
    if not out.rows:
        raise BenchError(f"{path}: " + ("; ".join(left) if left else "no benchmark in it"))
    out.notes += [f"{path}: {line} (left out)" for line in left]
    labels = {r.get("given_columns") for r in out.rows} - {None}
    for cols in sorted(labels):
        out.notes.append(f"{path}: {cols.replace(',', ', ')} given on the command line, not in the file (labelled "
                         "given_columns in each row)")
    return out


def unpriceable(row: dict, book: HardwareBook) -> str:
    """Why a row of another tool cannot be priced ('' when it can): the model, the card or its GPU count unknown."""
    if not row.get("model"):
        return "the file does not say which model ran: give --model NAME (`bench models`)"
    if not row.get("hardware"):
        return ("the file does not say which GPU it ran on: give its hardware.yaml card with --hardware NAME (bench "
                "plan: name one candidate card, or `bench import --hardware` the file first)")
    hw = book.hardware.get(row["hardware"])
    if hw is not None and hw.kind != "cpu" and not row.get("gpu_count"):
        return "the file does not say how many GPUs served it: give --gpus N"
    return ""


def say(notes: list[str]) -> None:
    for line in notes:
        print(f"note: {line}", file=sys.stderr)


def read_rows(path: Path, given: Given = Given(), need: Need = Need(),
              disagreements: bool = True) -> tuple[list[str], list[dict]]:
    """bench.results.typed.read_rows for any file bench reads: (header, rows of typed values). Another tool's rows
    come with every column of this schema, empty where the file says nothing, typed as a CSV's cells are (each
    written as its cell, then read back by bench.results.cells); its notes go to stderr (`disagreements`: with the
    figures bench and the tool differ on, unless the caller shows them with each row)."""
    if path.is_dir() or not is_bench_csv(path):
        header, raw = _imported(path, given, need, disagreements)
        return header, [cells.row(r) for r in raw]
    return typed.read_rows(path)


def read_frame(path: Path, columns=None, given: Given = Given(), need: Need = Need()):
    """bench.results.typed.read_frame for any file bench reads: (header, pandas DataFrame of typed columns)."""
    if path.is_dir() or not is_bench_csv(path):
        header, raw = _imported(path, given, need, True)
        return header, cells.frame(store.frame_of(header, raw, columns))
    return typed.read_frame(path, columns)


def _imported(path: Path, given: Given, need: Need, disagreements: bool) -> tuple[list[str], list[dict]]:
    """Another tool's rows as a results CSV holds them: every column, each cell as its text."""
    imported = import_paths([path], given, need)
    say(imported.notes + (imported.disagreements if disagreements else []))
    return list(store.COLUMNS), [{k: store.format_cell(r.get(k)) for k in store.COLUMNS} for r in imported.rows]


def import_paths(paths: list[Path], given: Given, need: Need = Need()) -> Imported:
    out = Imported()
    book = load_hardware()
    for path in paths:
        for p in (files_in(path) if path.is_dir() else [path]):
            if is_bench_csv(p):
                raise BenchError(f"{p} is already a bench results CSV: give it to the command as it is")
            got = import_file(p, given, need, book)
            out.rows += got.rows
            out.records += got.records
            out.notes += got.notes
            out.disagreements += got.disagreements
    return out
