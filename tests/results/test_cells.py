"""Results read back as typed values (bench/results/cells.py, bench/results/typed.py): every kind of column from
hand-written cells, rows and frames alike, and a cell that is not a value of its column read as empty with one
note naming it (docs/schema.md, "Reading results back")."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from result_rows import row, write_rows

from bench.cli import main
from bench.results import cells, schema, typed

NOW = str(schema.SCHEMA_VERSION)  # a file of this version: read as written, no upgrade
# Hand-written cells of three rows (every other declared cell empty), and a column the schema does not declare.
CELLS = [
    {"schema_version": NOW, "run_id": "r1", "status": "ok", "model": "m", "config_hash": "0012",
     "output_tok_s": "12.5", "ttft_p50_ms": "", "efficiency": "inf", "request_rate": "inf", "tpot_p50_ms": "nan",
     "max_num_seqs": "16", "num_prompts": "16.0", "input_len": "312.5", "seed": "0", "meets_slo": "True",
     "burstiness": "0.5", "prefix_caching": "off", "my_note": "1.50"},
    {"schema_version": NOW, "run_id": "r2", "status": "ok", "model": "m", "config_hash": "ab",
     "output_tok_s": " 7 ", "request_rate": "2", "max_num_seqs": "", "num_prompts": "8", "input_len": "512",
     "seed": "1", "meets_slo": "false", "prefix_caching": "", "my_note": ""},
    {"schema_version": NOW, "run_id": "r3", "status": "ok", "model": "m", "config_hash": "cd",
     "output_tok_s": "fast", "max_num_seqs": "x", "num_prompts": "8", "input_len": "512", "meets_slo": "maybe"},
]
# What each reads back as, by hand.
EXPECTED = [
    {"schema_version": NOW, "config_hash": "0012", "output_tok_s": 12.5, "ttft_p50_ms": None, "efficiency": None,
     "request_rate": math.inf, "tpot_p50_ms": None, "max_num_seqs": 16, "num_prompts": 16, "input_len": 312.5,
     "seed": 0, "meets_slo": True, "burstiness": 0.5, "prefix_caching": "off", "device": None, "my_note": "1.50"},
    {"config_hash": "ab", "output_tok_s": 7.0, "request_rate": 2.0, "max_num_seqs": None, "num_prompts": 8,
     "input_len": 512, "seed": 1, "meets_slo": False, "prefix_caching": None, "my_note": None},
    {"output_tok_s": None, "max_num_seqs": None, "meets_slo": None},  # not values of their columns: empty
]
NOTE = "3 cell(s) that are not a value of their column read as empty (the first: row 3, max_num_seqs = 'x')"


@pytest.fixture
def hand_written(tmp_path):
    header = schema.COLUMNS + ["my_note"]
    lines = [",".join(header)] + [",".join(r.get(c, "") for c in header) for r in CELLS]
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_each_kind_of_cell_reads_as_its_value(hand_written, capsys):
    header, rows = typed.read_rows(hand_written)
    assert header == schema.COLUMNS + ["my_note"]
    for got, want in zip(rows, EXPECTED):
        assert {c: got[c] for c in want} == want
    assert type(rows[0]["max_num_seqs"]) is int and type(rows[0]["num_prompts"]) is int  # 16.0 is the count 16
    assert type(rows[0]["output_tok_s"]) is float and type(rows[1]["request_rate"]) is float
    assert NOTE in capsys.readouterr().err


def test_a_frame_holds_the_same_values(hand_written, capsys):
    _, rows = typed.read_rows(hand_written)
    capsys.readouterr()
    header, frame = typed.read_frame(hand_written)
    assert list(frame.columns) == header
    for i, want in enumerate(rows):
        for c, v in want.items():
            cell = frame[c][i]
            if v is None:  # NaN for a figure, "" for a text (pandas' text column), None for a bool
                assert cell is None or cell == "" or (isinstance(cell, float) and math.isnan(cell)), (i, c, cell)
            else:
                assert cell == v, (i, c, cell, v)
    assert frame.max_num_seqs.dtype == float  # an int column holding an empty cell: float64
    assert frame.num_prompts.dtype == "int64" and frame.output_tok_s.dtype == float
    assert list(frame.meets_slo) == [True, False, None] and list(frame.my_note) == ["1.50", "", ""]
    assert NOTE in capsys.readouterr().err


def test_one_rule_for_a_cell_a_row_and_a_column():
    assert cells.value("output_tok_s", "1e3") == 1000.0 and cells.value("output_tok_s", "-inf") is None
    assert cells.value("request_rate", "inf") == math.inf and cells.value("request_rate", "nan") is None
    assert cells.value("kv_capacity_tokens", "320000") == 320000 and cells.value("meets_slo", "1") is True
    assert cells.value("git_sha", "0012") == "0012" and cells.value("git_sha", "") is None
    with pytest.raises(ValueError):
        cells.parse("output_tok_s", "12 tok/s")
    assert cells.row({"max_num_seqs": 4, "output_tok_s": None, "meets_slo": True}) == \
        {"max_num_seqs": 4, "output_tok_s": None, "meets_slo": True}  # values stay values
    column = cells.frame(pd.DataFrame({"max_num_seqs": ["1", "2.0", "3"]})).max_num_seqs
    assert column.dtype == "int64" and list(column) == [1, 2, 3]


def test_every_cell_a_writer_writes_reads_back_as_written(tmp_path, capsys):
    """A row bench writes (numbers, a quoted error, empty cells) reads back as the same values, and no note."""
    path = write_rows(tmp_path / "runs.csv", [row(batch=8, error='a "b", c'), row(batch=32, gpu_count="")])
    written = [row(batch=8, error='a "b", c'), row(batch=32, gpu_count="")]
    _, rows = typed.read_rows(path)
    for got, want in zip(rows, written):
        for c, v in want.items():
            if v == "":
                assert got[c] is None, c
            elif isinstance(v, float):
                assert got[c] == pytest.approx(v, rel=1e-6), c  # the CSV keeps 6 decimals
            else:
                assert got[c] == (str(v) if schema.BY_NAME[c].kind == "text" else v), c
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command", ["cost", "compare", "report"])
def test_a_hand_edited_cell_is_read_as_empty_and_said_once(tmp_path, capsys, command):
    """`fast` under output_tok_s of one row: the commands go on as before (the cell is missing), and say it once
    per file, naming the file, the row and the column."""
    rows = [row(batch=b, hardware="H100-SXM") for b in (8, 32)]
    path = write_rows(tmp_path / "runs.csv", rows)
    text = path.read_text().splitlines()
    cut = text[2].split(",")
    cut[schema.COLUMNS.index("output_tok_s")] = "fast"
    path.write_text("\n".join([*text[:2], ",".join(cut)]) + "\n")
    args = {"cost": ["cost", path], "compare": ["compare", path, path], "report": ["report", path, "--out",
                                                                                 tmp_path / "rep"]}[command]
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code == 0, err
    note = f"note: {path}: 1 cell(s) that are not a value of their column read as empty (the first: row 2, " \
           "output_tok_s = 'fast')"
    assert err.count(note) == (2 if command == "compare" else 1)  # compare reads the file as BASE and as NEW
