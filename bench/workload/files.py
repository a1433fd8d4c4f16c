"""Workload files, read once here: ShareGPT JSON, prompt JSONL, and traces (Mooncake JSONL, CSV).
Each reader returns plain entries; a malformed file is one BenchError naming the file, the line and the fix.

ShareGPT (`sharegpt:FILE`): a JSON list of {"conversations": [{"from": "human", "value": ...},
    {"from": "gpt", "value": ...}, ...]} ("messages" with "role"/"content" also read). As vLLM's
    ShareGPT dataset: the first user message is the prompt and the answer that follows gives the
    output length (in tokens of the same tokenizer); conversations without both are left out.
JSONL (`jsonl:FILE`): one object a line, {"prompt": "..."} or {"messages": [{"role": ..., "content": ...}]},
    with an optional "output_len" (also "output_tokens" or "max_tokens").
Trace (`trace:FILE`): Mooncake's format, one object a line: {"timestamp": ms, "input_length": tokens,
    "output_length": tokens, "hash_ids": [ids of the prompt's 512-token blocks]} (requests sharing a
    hash id share that block: a prefix-cache hit); or a CSV with a header naming a timestamp in seconds
    (`timestamp`, `timestamp_s`, BurstGPT's `Timestamp`; `timestamp_ms` in ms), the input length
    (`input_len`, `input_length`, `input_tokens`, BurstGPT's `Request tokens`) and the output length
    (`output_len`, `output_length`, `output_tokens`, `Response tokens`).
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import BenchError

MOONCAKE_BLOCK_TOKENS = 512  # tokens per hash id in Mooncake's traces (its README)
USER_ROLES = ("human", "user")
ANSWER_ROLES = ("gpt", "assistant", "chatgpt", "bard", "model")
CSV_TIME = {"timestamp": 1.0, "timestamp_s": 1.0, "time": 1.0, "timestamp_ms": 0.001}
CSV_INPUT = ("input_len", "input_length", "input_tokens", "request tokens", "prompt_tokens")
CSV_OUTPUT = ("output_len", "output_length", "output_tokens", "response tokens", "completion_tokens")


@dataclass(frozen=True)
class TextEntry:
    prompt: str
    output_len: int | None = None  # given by the data
    answer: str | None = None  # a ShareGPT answer: its token count is the output length


@dataclass(frozen=True)
class TraceEntry:
    arrival_s: float  # from the trace's first request
    input_len: int
    output_len: int
    hash_ids: tuple[int, ...] = ()


def file_sha256(path: Path) -> str:
    """The first 16 hex digits of the file's sha256: which data exactly was run."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BenchError(f"--dataset: cannot read {path} ({e})") from None


def read_sharegpt(path: Path) -> list[TextEntry]:
    try:
        data = json.loads(_text(path))
    except ValueError as e:
        raise BenchError(f"--dataset sharegpt:{path}: not JSON ({e}); a ShareGPT file is a JSON list of "
                         "{\"conversations\": [...]}; for one object a line use jsonl:FILE") from None
    if not isinstance(data, list):
        raise BenchError(f"--dataset sharegpt:{path}: expected a JSON list of conversations, got "
                         f"{type(data).__name__}")
    out = []
    for item in data:
        turns = item.get("conversations") or item.get("messages") if isinstance(item, dict) else None
        pair = _first_exchange(turns) if isinstance(turns, list) else None
        if pair is not None:
            out.append(TextEntry(prompt=pair[0], answer=pair[1]))
    return out


def _first_exchange(turns: list) -> tuple[str, str] | None:
    """The first user message and the answer right after it."""
    for a, b in zip(turns, turns[1:]):
        if not (isinstance(a, dict) and isinstance(b, dict)):
            return None
        ra, rb = (str(t.get("from") or t.get("role") or "").lower() for t in (a, b))
        va, vb = (t.get("value", t.get("content")) for t in (a, b))
        if ra in USER_ROLES and rb in ANSWER_ROLES and isinstance(va, str) and isinstance(vb, str) and va and vb:
            return va, vb
    return None


def _json_lines(path: Path, kind: str, hint: str):
    """(where, object) of each non-blank line of a JSON-lines file; BenchError naming the line when one is not JSON
    (`hint`: what the file should hold)."""
    for n, line in enumerate(_text(path).splitlines(), 1):
        if not line.strip():
            continue
        where = f"--dataset {kind}:{path} line {n}"
        try:
            yield where, json.loads(line)
        except ValueError as e:
            raise BenchError(f"{where}: not JSON ({e}); {hint}") from None


def read_jsonl(path: Path) -> list[TextEntry]:
    out = []
    for where, obj in _json_lines(path, "jsonl", "each line is one object"):
        if not isinstance(obj, dict):
            raise BenchError(f"{where}: expected an object with \"prompt\" or \"messages\"")
        prompt = obj.get("prompt")
        if prompt is None and isinstance(obj.get("messages"), list):
            prompt = render_messages(obj["messages"])
        if not isinstance(prompt, str) or not prompt:
            raise BenchError(f"{where}: no \"prompt\" text or \"messages\" list; each line needs one")
        n_out = next((obj[k] for k in ("output_len", "output_tokens", "max_tokens") if k in obj), None)
        if n_out is not None and (not isinstance(n_out, int) or isinstance(n_out, bool) or n_out < 1):
            raise BenchError(f"{where}: output_len must be a positive integer, got {n_out!r}")
        out.append(TextEntry(prompt=prompt, output_len=n_out))
    return out


def render_messages(messages: list) -> str:
    """Chat messages as one text prompt, a line each: 'role: content'."""
    lines = []
    for m in messages:
        if isinstance(m, dict) and isinstance(m.get("content"), str):
            lines.append(f"{m.get('role', 'user')}: {m['content']}")
    return "\n".join(lines)


def read_trace(path: Path) -> list[TraceEntry]:
    """The trace's requests in arrival order, times from the first one."""
    entries = _read_csv_trace(path) if path.suffix.lower() == ".csv" else _read_mooncake(path)
    if not entries:
        raise BenchError(f"--dataset trace:{path}: no requests in the file")
    entries.sort(key=lambda e: e.arrival_s)
    t0 = entries[0].arrival_s
    return [TraceEntry(e.arrival_s - t0, e.input_len, e.output_len, e.hash_ids) for e in entries]


def _length(v, where: str, name: str) -> int:
    try:
        n = int(float(v))
    except (TypeError, ValueError):
        raise BenchError(f"{where}: {name} {v!r} is not a number of tokens") from None
    if n < 0:
        raise BenchError(f"{where}: {name} {n} is negative")
    return n


def _read_mooncake(path: Path) -> list[TraceEntry]:
    out = []
    for where, obj in _json_lines(path, "trace", "a Mooncake trace has one object a line (or use a .csv)"):
        missing = [k for k in ("timestamp", "input_length", "output_length") if not isinstance(obj, dict) or k not in obj]
        if missing:
            raise BenchError(f"{where}: missing {', '.join(missing)} (Mooncake format: timestamp in ms, "
                             "input_length, output_length, hash_ids)")
        hashes = obj.get("hash_ids") or []
        if not isinstance(hashes, list) or not all(isinstance(h, int) for h in hashes):
            raise BenchError(f"{where}: hash_ids must be a list of integers")
        out.append(TraceEntry(_length(obj["timestamp"], where, "timestamp") / 1000.0,
                              _length(obj["input_length"], where, "input_length"),
                              _length(obj["output_length"], where, "output_length"), tuple(hashes)))
    return out


def _read_csv_trace(path: Path) -> list[TraceEntry]:
    rows = list(csv.reader(_text(path).splitlines()))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]

    def column(names, what: str) -> int:
        for name in names:
            if name in header:
                return header.index(name)
        raise BenchError(f"--dataset trace:{path}: no {what} column in the header {rows[0]}; name one of "
                         f"{', '.join(names)}")

    t_col = column(list(CSV_TIME), "timestamp")
    scale = CSV_TIME[header[t_col]]
    i_col, o_col = column(CSV_INPUT, "input length"), column(CSV_OUTPUT, "output length")
    out = []
    for n, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        where = f"--dataset trace:{path} line {n}"
        if len(row) <= max(t_col, i_col, o_col):
            raise BenchError(f"{where}: {len(row)} fields, the header has {len(header)}")
        try:
            t = float(row[t_col]) * scale
        except ValueError:
            raise BenchError(f"{where}: timestamp {row[t_col]!r} is not a number") from None
        out.append(TraceEntry(t, _length(row[i_col], where, "input length"), _length(row[o_col], where,
                                                                                     "output length")))
    return out
