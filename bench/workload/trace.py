"""A request trace (`bench plan --trace`): one request a line, JSONL or CSV with a header. The only reader of its
fields: input tokens (input_tokens | prompt_tokens | input_len), output tokens (output_tokens | completion_tokens
| output_len), and an optional arrival time (timestamp | time | ts: seconds, or ISO 8601)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from bench.core.errors import BenchError

INPUT_KEYS = ("input_tokens", "prompt_tokens", "input_len")
OUTPUT_KEYS = ("output_tokens", "completion_tokens", "output_len")
TIME_KEYS = ("timestamp", "time", "ts")


def _first(rec: dict, keys: tuple[str, ...]):
    for k in keys:
        if rec.get(k) not in (None, ""):
            return rec[k]
    return None


def _seconds(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def read_trace(path: Path) -> list[tuple[float | None, int, int]]:
    """(arrival s or None, input tokens, output tokens) per request; BenchError naming the line for bad input."""
    if not path.is_file():
        raise BenchError(f"--trace {path}: no such file")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        records = list(csv.DictReader(text.splitlines()))
    else:
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise BenchError(f"--trace {path}: line {n} is not JSON ({e.msg}); give one JSON object a line "
                                     "or a .csv with a header") from None
    out = []
    for n, rec in enumerate(records, 1):
        i, o, t = _first(rec, INPUT_KEYS), _first(rec, OUTPUT_KEYS), _first(rec, TIME_KEYS)
        try:
            out.append((None if t is None else _seconds(t), int(float(i)), int(float(o))))
        except (TypeError, ValueError):
            raise BenchError(f"--trace {path}: request {n} lacks input and output token counts "
                             f"({' | '.join(INPUT_KEYS)}; {' | '.join(OUTPUT_KEYS)}) or has a bad time "
                             f"({' | '.join(TIME_KEYS)}: seconds or ISO 8601)") from None
    return out
