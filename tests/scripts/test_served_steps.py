"""scripts/served_steps.py on hand-written streamed requests: each inter-token latency is a step, labelled by the
streams decoding at that instant and whether another request's first token came out of it. No server, no vllm."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "served_steps.py"
spec = importlib.util.spec_from_file_location("served_steps", SCRIPT)
ss = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ss)


def req(start, ttft, itl):
    end = start + ttft + sum(itl)
    return {"start_s": start, "ttft_s": ttft, "itl_s": itl, "end_s": end, "success": True}


def test_steps_are_labelled_by_streams_and_prefills():
    """A: sent at 0, first token at 10 ms, then 15 and 20 ms. B: sent at 12 ms, first token at 20 ms, then 25 ms.
    A's 15 ms token: one stream decoding (A), no first token near: decode, 1 stream -> pair 2, 5 ms. A's 20 ms token:
    B's first token came out of the same step: mixed, 5 ms. B's 25 ms token: B alone, decode, 5 ms."""
    groups = ss.step_groups([req(0.0, 0.010, [0.005, 0.005]), req(0.012, 0.008, [0.005])])
    assert set(groups) == {("decode", 2), ("mixed", 2)}
    assert groups[("decode", 2)] == pytest.approx([5.0, 5.0])
    assert groups[("mixed", 2)] == pytest.approx([5.0])


def test_a_level_is_read_from_a_results_file_and_its_json(tmp_path):
    csv_path = tmp_path / "serve.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["run_id", "status", "concurrency", "request_rate"], lineterminator="\n")
        w.writeheader()
        w.writerows([{"run_id": "a", "status": "ok", "concurrency": "4", "request_rate": ""},
                     {"run_id": "b", "status": "ok", "concurrency": "", "request_rate": "19.6"}])
    (tmp_path / "serve").mkdir()
    (tmp_path / "serve" / "b.json").write_text(json.dumps({"requests": [req(0.0, 0.01, [0.004]),
                                                                         {"success": False, "ttft_s": None}]}))
    row = ss.level_row(csv_path, "rate:19.6")
    assert row["run_id"] == "b" and len(ss.requests_of(csv_path, row)) == 1
    with pytest.raises(SystemExit, match="no ok row at conc:16"):
        ss.level_row(csv_path, "conc:16")
