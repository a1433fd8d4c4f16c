import csv
import json

import pandas as pd
import pytest

from bench.results import store as results
from bench.core.errors import BenchError

CORE = ("schema_version, run_id, timestamp, model, engine, device, device_name, weights, dtype, kv_cache_dtype, "
        "tensor_parallel_size, input_len, output_len, num_prompts, max_num_seqs, input_tokens, output_tokens, "
        "elapsed_s, requests_per_s, input_tok_s, output_tok_s, total_tok_s, ttft_p50_ms, ttft_p99_ms, tpot_p50_ms, "
        "tpot_p99_ms, kv_block_size, kv_num_blocks, kv_capacity_tokens, kv_bytes_per_token, "
        "kv_bytes_per_token_analytic, peak_memory_gb, vllm_version, torch_version, git_sha, config_hash, status, "
        "error").split(", ")


def row(i, **kw):
    return {"schema_version": results.SCHEMA_VERSION, "run_id": f"r{i}", "model": "m", "status": "ok",
            "output_tok_s": 100.5 + i, "error": 'a "quoted", comma\nand newline', **kw}


def test_core_columns_come_first_in_the_documented_order():
    assert results.COLUMNS[: len(CORE)] == CORE
    assert len(set(results.COLUMNS)) == len(results.COLUMNS)


def test_append_creates_then_appends_and_pandas_reads_it(tmp_path):
    path = tmp_path / "out" / "runs.csv"
    results.append_row(path, row(1))
    results.append_row(path, row(2))
    df = pd.read_csv(path)
    assert list(df.columns) == results.COLUMNS
    assert list(df.run_id) == ["r1", "r2"]
    assert list(df.output_tok_s) == [101.5, 102.5]
    assert df.error[0] == 'a "quoted", comma\nand newline'


def test_unknown_column_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="outside the schema"):
        results.append_row(tmp_path / "r.csv", {"bogus": 1})


def test_foreign_csv_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(BenchError, match="not a bench results CSV"):
        results.append_row(path, row(1))
    assert path.read_text() == "a,b\n1,2\n"


def test_other_schema_version_is_refused(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("schema_version,run_id\n0,x\n")
    before = path.read_bytes()
    with pytest.raises(BenchError, match="schema version 0"):
        results.check_appendable(path)
    assert path.read_bytes() == before


def test_older_header_is_widened_atomically_keeping_rows(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("schema_version,run_id,model,status\n1,old,m,ok\n")
    results.append_row(path, row(1))
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["run_id"] for r in rows] == ["old", "r1"]
    assert rows[0]["output_tok_s"] == "" and rows[1]["output_tok_s"] == "101.5"
    assert list(rows[0])[:4] == ["schema_version", "run_id", "model", "status"]


def test_a_last_row_without_its_newline_counts_as_torn(tmp_path):
    """Rows are written newline-terminated: one without it was cut short, even if it looks whole."""
    path = tmp_path / "r.csv"
    results.append_row(path, row(1))
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    assert results.read_rows(path) == []
    results.append_row(path, row(2))
    assert list(pd.read_csv(path).run_id) == ["r2"]
    assert b"r1" in results.torn_path(path).read_bytes()


def test_a_row_torn_at_any_byte_is_moved_aside_and_every_line_parses(tmp_path):
    path = tmp_path / "r.csv"
    results.append_row(path, row(1))
    whole = path.read_bytes()
    results.append_row(path, row(2))
    full = path.read_bytes()
    for cut in range(len(whole), len(full)):  # includes cuts inside the quoted, multi-line error field
        path.write_bytes(full[:cut])
        results.torn_path(path).unlink(missing_ok=True)
        assert [r["run_id"] for r in results.read_rows(path)] == ["r1"]
        assert results.repair(path) == cut - len(whole)
        assert path.read_bytes() == whole
        results.append_row(path, row(3))
        df = pd.read_csv(path)
        assert list(df.run_id) == ["r1", "r3"] and df.error[1] == 'a "quoted", comma\nand newline'
        path.write_bytes(whole)


def test_ok_keys_are_the_config_hashes_of_ok_rows(tmp_path):
    path = tmp_path / "r.csv"
    assert results.ok_keys(path) == set()
    results.append_row(path, row(1, config_hash="a"))
    results.append_row(path, row(2, config_hash="b", status="failed"))
    results.append_row(path, row(3, config_hash="c"))
    path.write_bytes(path.read_bytes()[:-5])  # c torn: not counted
    assert results.ok_keys(path) == {"a"}


@pytest.mark.parametrize("data,whole", [
    (b"", 0), (b"h\n", 2), (b"h\n1,2", 2), (b'h\n1,"a\nb"\n', 10), (b'h\n1,"a\n', 2), (b'h\n1,"a""\nb"\n2', 12),
])
def test_whole_length(data, whole):
    assert results.whole_length(data) == whole


def test_json_written_atomically_beside_the_csv(tmp_path):
    csv_path = tmp_path / "runs.csv"
    p = results.json_path(csv_path, "abc")
    assert p == tmp_path / "runs" / "abc.json"
    results.write_json(p, {"x": 1})
    assert json.loads(p.read_text()) == {"x": 1}
    assert [q.name for q in p.parent.iterdir()] == ["abc.json"]  # no temporary left behind


def test_read_frame_is_read_results_column_by_column(tmp_path):
    """The columnar reader (compare, report) gives the same cells as the row reader: text columns as their text
    (a config_hash of digits keeps its leading zeros), figures as numbers, empty cells "" or NaN, and a torn last
    row is not a row."""
    path = tmp_path / "runs.csv"
    results.append_row(path, row(1, config_hash="0012", git_sha="1234567"))
    results.append_row(path, row(2, config_hash="ab", ttft_p50_ms=7.25))
    with path.open("ab") as f:
        f.write(b"3,r3,torn")  # a writer killed mid-row
    header, frame = results.read_frame(path)
    _, rows = results.read_results(path)
    assert header == results.COLUMNS and list(frame.columns) == results.COLUMNS
    assert list(frame.run_id) == [r["run_id"] for r in rows] == ["r1", "r2"]
    assert list(frame.config_hash) == ["0012", "ab"] and list(frame.git_sha) == ["1234567", ""]
    assert list(frame.output_tok_s) == [101.5, 102.5]  # 100.5 + i
    assert pd.isna(frame.ttft_p50_ms[0]) and frame.ttft_p50_ms[1] == 7.25
    assert frame.error[0] == 'a "quoted", comma\nand newline' and frame.device[0] == ""
    _, part = results.read_frame(path, columns=["run_id", "output_tok_s", "not_a_column"])
    assert list(part.columns) == ["schema_version", "run_id", "output_tok_s"]  # the file's order, what it has


def test_read_frame_refuses_what_read_results_refuses(tmp_path):
    future = tmp_path / "future.csv"
    future.write_text("schema_version,run_id\n99,x\n")
    with pytest.raises(BenchError, match="schema version 99"):
        results.read_frame(future)
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(BenchError, match="not a bench results CSV"):
        results.read_frame(foreign)
    with pytest.raises(BenchError, match="no such results file"):
        results.read_frame(tmp_path / "nope.csv")


def test_a_file_of_this_version_appends_byte_for_byte_under_the_same_header(tmp_path):
    """A file as this bench (and the one before the typed reader) writes it: appending adds one line and leaves
    every byte before it, the header included, as it was; the typed reader reads it without a note."""
    from bench.results import typed

    path = tmp_path / "runs.csv"
    results.append_row(path, row(1, config_hash="0012", max_num_seqs=8))
    before = path.read_bytes()
    results.append_row(path, row(2, config_hash="0034", max_num_seqs=16))
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == before.count(b"\n") + 2  # one row: a newline inside
    assert after.split(b"\n")[0] == before.split(b"\n")[0] == ",".join(results.COLUMNS).encode()
    _, rows = typed.read_rows(path)
    assert [(r["config_hash"], r["max_num_seqs"], r["output_tok_s"]) for r in rows] == [("0012", 8, 101.5),
                                                                                      ("0034", 16, 102.5)]


# --- a symbolic link as the file: followed, never replaced ---------------------------------------------------

def test_a_link_to_a_new_file_creates_its_target_and_stays_a_link(tmp_path):
    (tmp_path / "big").mkdir()
    link = tmp_path / "runs.csv"
    link.symlink_to(tmp_path / "big" / "runs.csv")  # dangling until the first row
    results.append_row(link, row(1))
    results.append_row(link, row(2))
    assert link.is_symlink() and list(pd.read_csv(tmp_path / "big" / "runs.csv").run_id) == ["r1", "r2"]
    assert (tmp_path / "big" / ".runs.csv.lock").exists()  # one lock per real file, however it is named


def test_a_link_to_a_file_with_an_older_header_is_widened_in_place(tmp_path):
    target = tmp_path / "target.csv"
    target.write_text("schema_version,run_id,model,status\n" f"{results.SCHEMA_VERSION},r0,m,ok\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target.name)
    results.append_row(link, row(1))  # the header lacks columns: the whole file is rewritten, atomically
    assert link.is_symlink() and link.resolve() == target
    assert list(pd.read_csv(target).run_id) == ["r0", "r1"]


def test_a_link_to_an_older_schema_file_is_upgraded_in_place(tmp_path):
    target = tmp_path / "old.csv"
    target.write_text("schema_version,run_id,model,status,engine,vllm_version\n1,r0,m,ok,vllm,0.6.3\n")
    original = target.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(target.name)
    results.append_row(link, row(1))
    assert link.is_symlink()
    assert (tmp_path / "old.csv.schema1").read_bytes() == original  # the backup beside the real file
    _, rows = results.read_results(target)
    assert [r["run_id"] for r in rows] == ["r0", "r1"] and rows[0]["engine_version"] == "0.6.3"


def test_a_table_written_through_a_link_replaces_the_target_not_the_link(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target.name)
    results.write_atomic(link, b"new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
