"""Bad input found by a hand audit, one test each: it is refused with one line naming the problem and the fix
(exit 2, no traceback), and no file is lost or altered. The generated inputs are in test_malformed_inputs.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main
from bench.config.files import load_yaml
from bench.core.errors import BenchError
from bench.results.schema import SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[2]


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


# --- 3 and 7: YAML files --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,needle", [
    ("a: 1\nb: 2\na: 3\n", "line 3: key 'a' is written twice (line 1); keep one"),
    ("models:\n  H100-SXM: 1\n  h100-sxm: 2\n", "line 3: key 'h100-sxm' is equal, but for case, to 'H100-SXM' (line 2)"),
    ("grid:\n  max_num_seqs: [1]\n  max_num_seqs: [2]\n", "line 3: key 'max_num_seqs' is written twice (line 2)"),
    ("day: 2024-13-01\n", "line 1: '2024-13-01' is not a real date (month must be in 1..12); write it as YYYY-MM-DD"),
    ("day: 2024-02-30\n", "'2024-02-30' is not a real date"),
    ("a: [1\n", "not valid YAML"),
])
def test_yaml_refusals_name_the_line(tmp_path, text, needle):
    path = tmp_path / "f.yaml"
    path.write_text(text)
    with pytest.raises(BenchError, match=None) as e:
        load_yaml(path)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_yaml_merge_keys_and_distinct_keys_still_load(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nA: 2024-05-15\nB: {k: 1, K2: 2}\n")
    import datetime as dt
    assert load_yaml(path) == {"base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3}, "A": dt.date(2024, 5, 15),
                               "B": {"k": 1, "K2": 2}}


def test_repository_yaml_files_load_as_pyyaml_reads_them():
    import yaml
    for path in [REPO / "models.yaml", REPO / "hardware.yaml", REPO / "prices.yaml", *(REPO / "sweeps").glob("*.yaml")]:
        assert load_yaml(path) == yaml.safe_load(path.read_text()), path


@pytest.mark.parametrize("variable,command", [
    ("BENCH_CATALOG", ["models"]),
    ("BENCH_HARDWARE", ["explain", "tiny-glm", "--hardware", "H20"]),
    ("BENCH_PRICES", ["prices"]),
])
@pytest.mark.parametrize("content,needle", [
    (None, "is a directory; give the YAML file itself"),
    (b"schema_version: 1\n\xff\xfe\n", "not UTF-8 text (byte 0xff at offset 18); save it as UTF-8"),
])
def test_config_file_that_is_a_directory_or_not_utf8(capsys, monkeypatch, tmp_path, variable, command, content,
                                                     needle):
    target = tmp_path / "conf.yaml"
    if content is None:
        target.mkdir()
    else:
        target.write_bytes(content)
    monkeypatch.setenv(variable, str(target))
    code, _, err = run_cli(capsys, *command)
    assert code == 2 and needle in one_line(err)


def test_duplicate_model_entry_is_refused_not_last_wins(capsys, monkeypatch, tmp_path):
    """The second qwen2.5-7b-instruct pointed at the 0.5B config in float32: PyYAML kept it silently."""
    text = (REPO / "models.yaml").read_text()
    twice = text + ("  qwen2.5-7b-instruct:\n    family: qwen2\n    config: model_configs/qwen2.5-0.5b-instruct/"
                    "config.json\n    dtype: float32\n    max_model_len: 2048\n")
    path = REPO / "models.yaml"
    copy = tmp_path / "models.yaml"
    copy.write_text(twice.replace("config: model_configs/", f"config: {REPO}/model_configs/"))
    monkeypatch.setenv("BENCH_CATALOG", str(copy))
    code, _, err = run_cli(capsys, "models")
    assert code == 2 and "key 'qwen2.5-7b-instruct' is written twice" in one_line(err)
    assert path.read_text() == text


def test_sweep_file_that_is_a_directory(capsys, tmp_path):
    code, _, err = run_cli(capsys, "sweep", tmp_path, "--dry-run")
    assert code == 2 and "is a directory; give the YAML file itself" in one_line(err)


# --- 1 and 4: output paths ------------------------------------------------------------------------------------

SIM = ["--engine", "sim", "--hardware", "H100-SXM", "--model", "tiny-glm", "--num-prompts", "2"]


@pytest.fixture(scope="module")
def results_csv(tmp_path_factory) -> tuple[Path, bytes]:
    """A real results file (two sim rows) that every refusal below must leave byte for byte."""
    path = tmp_path_factory.mktemp("res") / "A.csv"
    assert main(["run", *SIM, "--max-num-seqs", "1,4", "--out", str(path)]) == 0
    return path, path.read_bytes()


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("argv,needle", [
    (["compare", "{A}", "{A}", "--out", "{A}"], "--out {A} is also an input of this command"),
    (["cost", "{A}", "--out", "{A}"], "--out {A} is also an input of this command"),
    (["cost", "{A}", "--out", "{B}"], "--out {B} holds bench results (rows of bench run/sweep/serve)"),
    (["compare", "{A}", "{A}", "--out", "{B}"], "--out {B} holds bench results"),
    (["cost", "{A}", "--out", "{Y}"], "--out {Y}: give a file ending in .csv"),
    (["cost", "{A}", "--out", "{N}"], "--out {N} exists and is not a cost table written by bench cost"),
    (["compare", "{A}", "{A}", "--out", "{N}"], "--out {N} exists and is not a comparison written by bench compare"),
    (["report", "{A}", "--out", "{A}"], "--out {A} is also an input of this command"),
    (["report", "{A}", "--out", "{N}"], "--out {N} is a file; give a directory"),
    (["run", *SIM, "--out", "{T}"], "--out {T}: give a file ending in .csv"),
    (["run", *SIM, "--out", "{T}/noext"], "--out {T}/noext: give a file ending in .csv"),
    (["run", *SIM, "--out", "{T}/folder.csv"], "--out {T}/folder.csv is a directory; give a file inside it"),
    (["run", *SIM, "--out", "{T}/blocked.csv"], "{T}/blocked (where each row's JSON goes) is a file"),
    (["run", *SIM, "--out", "{N}/x.csv"], "--out {N}/x.csv: {N} is not a folder"),
    (["run", *SIM, "--out", "/proc/bench-x.csv"], "cannot write in /proc (permissions or a read-only mount)"),
    (["serve", "--model", "tiny-glm", "--endpoint", "http://127.0.0.1:9", "--out", "{T}/blocked.csv"],
     "{T}/blocked (where each row's JSON goes) is a file"),
    (["run", *SIM, "--out", ""], "--out: empty path"),
])
def test_outputs_are_checked_before_anything_runs(capsys, tmp_path, results_csv, argv, needle):
    """compare/cost --out A.csv replaced the results they read (exit 0); a folder, a file without .csv, a file
    where the JSON folder goes: tracebacks after the case had run."""
    a, a_bytes = results_csv
    (tmp_path / "B.csv").write_bytes(a_bytes)
    (tmp_path / "models.yaml").write_text("schema_version: 1\n")
    (tmp_path / "notes.csv").write_text("mine,not,bench\n")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "blocked").write_text("a file where the JSON folder would go\n")
    names = {"A": a, "B": tmp_path / "B.csv", "Y": tmp_path / "models.yaml", "N": tmp_path / "notes.csv",
             "D": tmp_path / "folder.csv", "T": tmp_path}
    before = _files(tmp_path)
    code, _, err = run_cli(capsys, *[x.format(**names) for x in argv])
    assert code == 2 and needle.format(**names) in one_line(err)
    assert _files(tmp_path) == before and a.read_bytes() == a_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["B.csv", "blocked", "folder.csv", "models.yaml", "notes.csv"]


def test_read_only_output_is_refused(capsys, monkeypatch, tmp_path, results_csv):
    """A read-only, immutable or read-only-mounted file: os.access says so (as root too, for the last two)."""
    import os

    a, _ = results_csv
    out = tmp_path / "cost.csv"
    out.write_text("")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == out else real(p, mode))
    code, _, err = run_cli(capsys, "cost", a, "--out", out)
    assert code == 2 and f"--out {out} is read-only" in one_line(err)


def test_tables_replace_only_their_own_kind(capsys, tmp_path, results_csv):
    a, a_bytes = results_csv
    cost, md = tmp_path / "cost.csv", tmp_path / "cmp.md"
    for _ in range(2):  # the second time over the first one's file
        assert run_cli(capsys, "cost", a, "--out", cost)[0] == 0
        assert run_cli(capsys, "compare", a, a, "--out", md)[0] == 0
    assert md.read_text().startswith("# bench compare\n") and cost.read_text().startswith("run_id,")
    assert a.read_bytes() == a_bytes


def test_an_os_error_past_the_checks_is_one_line(capsys, monkeypatch, tmp_path, results_csv):
    from bench.results import store

    def failing(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(store, "write_atomic", failing)
    code, _, err = run_cli(capsys, "cost", results_csv[0], "--out", tmp_path / "c.csv")
    assert code == 2 and f"{tmp_path / 'c.csv'}: No space left on device (check the path" in one_line(err)


# --- 2: configs the arithmetic cannot read; rows never lost to a derived column --------------------------------

def _model_dir(tmp_path: Path, **over) -> Path:
    import json

    cfg = json.loads((REPO / "model_configs" / "tiny-qwen2" / "config.json").read_text())
    for k, v in over.items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


@pytest.mark.parametrize("over,needle", [
    ({"num_hidden_layers": None, "num_attention_heads": None, "hidden_size": None, "n_layer": 2, "n_head": 2,
      "n_embd": 64}, "no num_hidden_layers (it has n_layer, a spelling bench does not read); no num_attention_heads "
                     "(it has n_head"),
    ({"hidden_size": None}, "no hidden_size"),
    ({"hidden_size": "wide"}, "hidden_size is 'wide', not a positive whole number"),
    ({"num_key_value_heads": 0}, "num_key_value_heads is 0, not a positive whole number"),
    ({"max_position_embeddings": "long"}, "max_position_embeddings is 'long'"),
    ({"num_hidden_layers": float("inf")}, "num_hidden_layers is inf, not a positive whole number"),
    ({"hidden_size": 10**40}, "hidden_size is 10000000000000000000000000000000000000000, beyond any model"),
    ({"num_attention_heads": 14, "num_key_value_heads": 3}, "14 attention heads are not a whole number per KV head"),
])
def test_unreadable_config_is_refused_up_front(capsys, tmp_path, over, needle):
    """GPT-2 style fields, a missing or non-numeric one: the case ran, then build_row raised KeyError (no row)."""
    folder = _model_dir(tmp_path, **over)
    out = tmp_path / "r.csv"
    code, _, err = run_cli(capsys, "run", "--engine", "sim", "--hardware", "H20", "--model", folder, "--out", out)
    assert code == 2 and needle in one_line(err) and "bench's model arithmetic cannot read it" in err
    assert not out.exists() and not (tmp_path / "r").exists()
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"base: {{model: {folder}, engine: sim, hardware: H20}}\ngrid: {{max_num_seqs: [1, 2]}}\n")
    code, out_text, err = run_cli(capsys, "sweep", sweep, "--dry-run", "--out", out)
    assert code == 2 and needle in err and "nothing was run" in err and "Traceback" not in err


def test_a_failing_derived_column_keeps_the_measured_row(capsys, monkeypatch, tmp_path):
    from types import SimpleNamespace

    from bench.execution import record
    from bench.roofline import predict

    def broken(*args, **kwargs):
        raise KeyError("num_layers")

    monkeypatch.setattr(record, "modelmath", SimpleNamespace(kv_bytes_per_token=broken))  # the row's copy only
    monkeypatch.setattr(predict, "roofline_columns", broken)
    out = tmp_path / "r.csv"
    code, _, err = run_cli(capsys, "run", *SIM, "--out", out)
    assert code == 0
    assert "note: kv_bytes_per_token_analytic left empty (KeyError: 'num_layers'); the measured row is kept" in err
    assert "note: roofline columns left empty" in err
    from bench.results.store import read_rows
    (row,) = read_rows(out)
    assert row["status"] == "ok" and row["kv_bytes_per_token_analytic"] == "" and float(row["output_tok_s"]) > 0


# --- 10: tensor-parallel sizes vLLM refuses ------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["explain", "qwen2.5-7b-instruct", "--hardware", "H100-SXM", "-tp", "3"],
    ["run", "--engine", "sim", "--hardware", "H100-SXM", "--model", "qwen2.5-7b-instruct", "-tp", "8"],
])
def test_tensor_parallel_size_must_split_the_heads(capsys, tmp_path, argv):
    """Qwen2.5-7B: 28 attention heads, 4 KV heads. TP 3 and 8 do not divide 28; 1, 2, 4 do (7 and 14 divide 28
    but neither divides nor is divided by 4 KV heads)."""
    code, _, err = run_cli(capsys, *argv, *(["--out", tmp_path / "r.csv"] if argv[0] == "run" else []))
    tp = argv[-1]
    assert code == 2 and (f"--tensor-parallel-size {tp}: qwen2.5-7b-instruct's 28 attention heads do not divide "
                          f"among {tp} GPUs, which vLLM refuses; choose one of 1, 2, 4") in one_line(err)


def test_tensor_parallel_sizes_follow_vllms_rule():
    from bench.model.config_checks import tensor_parallel_sizes
    # 32 heads, 8 KV heads: TP must divide 32, and divide 8 or be a multiple of it: 1, 2, 4, 8, 16.
    assert tensor_parallel_sizes({"num_attention_heads": 32, "num_key_value_heads": 8}) == [1, 2, 4, 8, 16]
    # MLA: only the 16 attention heads must divide.
    assert tensor_parallel_sizes({"num_attention_heads": 16, "kv_lora_rank": 512}) == [1, 2, 4, 8, 16]


# --- 5: the API key scrub ------------------------------------------------------------------------------------

def test_a_key_too_short_to_scrub_is_refused(capsys, monkeypatch, tmp_path):
    """A one-character key was replaced everywhere: column names (traceback), run ids, timestamps, the URL."""
    monkeypatch.setenv("BENCH_SHORT_KEY", "2")
    out = tmp_path / "s.csv"
    code, _, err = run_cli(capsys, "serve", "--model", "tiny-glm", "--endpoint", "http://127.0.0.1:9",
                           "--api-key-env", "BENCH_SHORT_KEY", "--out", out)
    assert code == 2 and ("--api-key-env BENCH_SHORT_KEY: the key is 1 character(s); bench scrubs the key from "
                          "everything it writes, and one under 8 would match ordinary text") in one_line(err)
    assert "2" not in err.split("character")[1] and not out.exists()


def test_scrub_changes_values_never_column_names():
    from bench.serve.security import Secret, scrub_obj

    row = {"run_id": "20261202T140515Z-3fe1a3", "error": "401: key abcdefgh1234 rejected", "abcdefgh1234": 1}
    assert scrub_obj(row, Secret("abcdefgh1234")) == {"run_id": "20261202T140515Z-3fe1a3",
                                                      "error": "401: key *** rejected", "abcdefgh1234": 1}


# --- 8: endpoints --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url,needle", [
    ("http://127.0.0.1:abc", "--endpoint http://127.0.0.1:abc: the port must be a number from 1 to 65535"),
    ("http://127.0.0.1:99999", "--endpoint http://127.0.0.1:99999: the port must be a number from 1 to 65535"),
    ("http://[::1", "--endpoint http://[::1: not a URL (Invalid IPv6 URL)"),
    ("", "--endpoint is empty; give the server's URL"),
    ("  ", "--endpoint is empty"),
])
def test_bad_endpoints_are_input_errors(capsys, tmp_path, url, needle):
    """:abc was a traceback, :99999 a failed row with exit 3, '' silently started a local server."""
    out = tmp_path / "s.csv"
    code, _, err = run_cli(capsys, "serve", "--model", "tiny-glm", "--endpoint", url, "--out", out)
    assert code == 2 and needle in one_line(err) and not out.exists()


# --- 9: messages that said something else ----------------------------------------------------------------------

def test_empty_model_name_is_not_the_current_directory(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", "--model", "", "--out", tmp_path / "r.csv")
    assert code == 2 and "--model is empty; give a catalog name" in one_line(err)


def test_pydantic_wording_does_not_leak(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", *SIM, "--range-ratio", "0.5", "--out", tmp_path / "r.csv")
    assert one_line(err) == "error: bench run: range_ratio needs --length-dist uniform or normal\n" and code == 2


def test_a_csv_with_a_non_utf8_byte_is_not_called_empty(capsys, tmp_path, results_csv):
    a, a_bytes = results_csv
    bad = tmp_path / "bad.csv"
    bad.write_bytes(a_bytes.replace(b"tiny-glm", b"tiny-gl\xff", 1))
    offset = a_bytes.index(b"tiny-glm") + 7
    for argv in (["compare", bad, a], ["cost", bad], ["report", bad, "--out", tmp_path / "rep"],
                 ["run", *SIM, "--out", bad]):
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and f"{bad}: not UTF-8 text (byte 0xff at offset {offset}); bench results CSVs are UTF-8" \
            in one_line(err), argv
    assert not (tmp_path / "rep").exists()


def test_a_csv_with_a_byte_order_mark_is_read(capsys, tmp_path, results_csv):
    """Excel saves CSVs with a BOM; the file is the same results (it was "not a bench results CSV")."""
    a, a_bytes = results_csv
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + a_bytes)
    code, out, err = run_cli(capsys, "compare", bom, a)
    assert code == 0 and "2 case(s) in both" in out and err == ""
    assert run_cli(capsys, "run", *SIM, "--max-num-seqs", "2", "--out", bom)[0] == 0  # appends after the BOM
    from bench.results.store import read_results
    header, rows = read_results(bom)
    assert header[0] == "schema_version" and len(rows) == 3


def test_compare_against_a_file_without_ok_rows_says_so(capsys, tmp_path, results_csv):
    a, a_bytes = results_csv
    failed = tmp_path / "failed.csv"
    failed.write_bytes(a_bytes.replace(b",ok,", b",failed,"))
    code, _, err = run_cli(capsys, "compare", a, failed)
    assert code == 2 and (f"NEW {failed} has no row with status ok (2 row(s) in all); nothing to compare"
                          in one_line(err))


# --- 6: files bench must not read or extend ------------------------------------------------------------------

def test_cost_refuses_a_schema_version_it_cannot_read(capsys, tmp_path, results_csv):
    """compare and report refused a version-99 file; cost priced it."""
    a, a_bytes = results_csv
    v99 = tmp_path / "v99.csv"
    v99.write_bytes(a_bytes.replace(f"\n{SCHEMA_VERSION},".encode(), b"\n99,"))
    code, out, err = run_cli(capsys, "cost", v99)
    assert code == 2 and f"{v99} holds schema version 99; this bench reads versions" in one_line(err) and out == ""


@pytest.mark.parametrize("text", [b"schema_version,run_id,timestamp,model,en", b"schema_version,run_id,timestamp,model,en\n"])
def test_a_torn_header_is_not_extended(capsys, tmp_path, text):
    """The torn name 'en' became a permanent column at the next append."""
    torn = tmp_path / "torn.csv"
    torn.write_bytes(text)
    for argv in (["run", *SIM, "--out", torn], ["cost", torn], ["compare", torn, torn]):
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and f"{torn}: its header line is cut short (ends in 'en')" in one_line(err)
    assert torn.read_bytes() == text and sorted(p.name for p in tmp_path.iterdir()) == ["torn.csv"]


# --- 10: lists, bounds, engines and dependencies -------------------------------------------------------------

@pytest.mark.parametrize("argv,needle", [
    (["run", *SIM, "--max-num-seqs", "1,,4"], "argument --max-num-seqs: empty item in '1,,4'"),
    (["run", *SIM, "--max-num-seqs", "4,"], "argument --max-num-seqs: empty item in '4,'"),
    (["run", *SIM, "--max-num-seqs", "2,2"], "argument --max-num-seqs: 2 given twice in '2,2'; list each value once"),
    (["serve", "--model", "tiny-glm", "--rates", "1,1.0", "--endpoint", "http://127.0.0.1:9"],
     "argument --rates: 1 given twice in '1,1.0'"),
    (["serve", "--model", "tiny-glm", "--concurrencies", "1,,2", "--endpoint", "http://127.0.0.1:9"],
     "argument --concurrencies: empty item in '1,,2'"),
    (["cost", "{A}", "--vendors", "DeepSeek,,Qwen"], "argument --vendors: empty item in 'DeepSeek,,Qwen'"),
    (["run", *SIM, "--num-prompts", "1000000000"], "--num-prompts: Input should be less than or equal to 100000 (got 1000000000)"),
    (["run", *SIM, "--num-prompts", "100000", "--input-len", "1000"],
     "100000 prompts x up to 1000 tokens is more than 20,000,000 prompt tokens"),
])
def test_lists_and_bounds(capsys, tmp_path, results_csv, argv, needle):
    """1,,4 became 1,4 and 2,2 ran the case twice; 1e9 prompts ended in an empty MemoryError."""
    out = tmp_path / "r.csv"
    argv = [x.format(A=results_csv[0]) for x in argv] + (["--out", out] if argv[0] in ("run", "serve") else [])
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and needle in one_line(err) and not out.exists()


@pytest.mark.parametrize("entry,needle", [
    ("fake=bench_no_such_module:Engine", "engine 'fake' names module 'bench_no_such_module', which this Python "
                                         "cannot import"),
    ("fake=bench.no_such_module:Engine", "engine 'fake' names module 'bench.no_such_module'"),
    ("fake=no_such_package.sub:Engine", "engine 'fake' names module 'no_such_package.sub'"),
    # the module is there, the class is not (read from its source, never imported in the parent)
    ("fake=bench.engines.sim:NoSuchEngine", "engine 'fake' names 'NoSuchEngine', which module 'bench.engines.sim' "
                                            "does not define"),
])
def test_a_plugin_engine_that_cannot_be_imported_is_bad_input(capsys, monkeypatch, tmp_path, entry, needle):
    """It was a failed row (exit 3) for every case, or a traceback."""
    monkeypatch.setenv("BENCH_ENGINES", entry)
    out = tmp_path / "r.csv"
    code, _, err = run_cli(capsys, "run", "--engine", "fake", "--model", "tiny-glm", "--out", out)
    assert code == 2 and f"BENCH_ENGINES: {needle}" in one_line(err) and not out.exists()


def test_a_plugin_engine_that_needs_a_missing_package_is_bad_input(capsys, monkeypatch, tmp_path):
    """Its import failed in the worker: a failed row with a traceback."""
    from tests.fault_engine import plug_in

    plug_in(monkeypatch, tmp_path, "needy", "needy_engine", "import bench_missing_dependency_xyz  # noqa\n\n\n"
                                                            "class NeedyEngine:\n    pass\n", "NeedyEngine")
    out = tmp_path / "r.csv"
    code, _, err = run_cli(capsys, "run", "--engine", "needy", "--model", "tiny-qwen2", "--out", out)
    assert code == 2 and "bench_missing_dependency_xyz is not installed in this Python" in one_line(err)
    assert "pip install bench_missing_dependency_xyz" in err and not out.exists()


def test_a_missing_dependency_is_one_line(capsys, monkeypatch):
    from bench.cli import models

    def needs_a_missing_package(args):
        import bench_missing_dependency.sub  # noqa: F401  (as `import matplotlib` in a Python without it)

    monkeypatch.setattr(models, "cmd_models", needs_a_missing_package)
    code, _, err = run_cli(capsys, "models")
    assert code == 2 and "Python package bench_missing_dependency is not installed in this Python" in one_line(err)


@pytest.mark.parametrize("damage,needle", [
    (lambda lines: [lines[0], lines[1] + b",x,y", *lines[2:]], "line 2: {n2} cells under a header of {n} columns"),
    (lambda lines: [lines[0], b",".join(lines[1].split(b",")[:10]), *lines[2:]],
     "line 2: 10 cells under a header of {n} columns: they cannot be matched to their columns"),
    (lambda lines: [lines[0] + b",run_id", *[x + b",zz" for x in lines[1:-1]], b""],
     "column 'run_id' appears twice in the header"),
])
def test_rows_that_cannot_be_matched_to_their_columns_are_refused(capsys, tmp_path, results_csv, damage, needle):
    """A cell too many or too few, a column named twice: every later cell was read as another column's."""
    a, a_bytes = results_csv
    lines = a_bytes.split(b"\n")
    n = len(lines[0].split(b","))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\n".join(damage(lines)))
    before = bad.read_bytes()
    for argv in (["cost", bad], ["compare", bad, a], ["report", bad, "--out", tmp_path / "rep"],
                 ["run", *SIM, "--out", bad]):
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and needle.format(n=n, n2=n + 2) in one_line(err), argv
    assert bad.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


# --- docs/files.md: recovering a torn row ---------------------------------------------------------------------

def _restore_main():
    import importlib.util

    spec = importlib.util.spec_from_file_location("restore_rows", REPO / "scripts" / "restore_rows.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_a_torn_row_is_restored_from_its_json(capsys, tmp_path):
    """docs/files.md's recipe: a crash tore the last row; the next append moved it to .torn; the row comes back
    whole from its JSON, once."""
    from bench.results.store import read_rows

    out = tmp_path / "runs.csv"
    assert main(["run", *SIM, "--max-num-seqs", "1,2", "--out", str(out)]) == 0
    ids = [r["run_id"] for r in read_rows(out)]
    data = out.read_bytes()
    out.write_bytes(data[:-40])  # the second row torn 40 bytes before its end
    assert [r["run_id"] for r in read_rows(out)] == ids[:1]
    assert main(["run", *SIM, "--max-num-seqs", "4", "--out", str(out)]) == 0  # moves the torn row aside
    assert (tmp_path / "runs.csv.torn").exists() and len(read_rows(out)) == 2
    capsys.readouterr()
    restore = _restore_main()
    assert restore([str(out)]) == 0
    assert f"restored 1 row(s) into {out}: {ids[1]}" in capsys.readouterr().out
    rows = read_rows(out)
    assert sorted(r["run_id"] for r in rows) == sorted([*ids, rows[1]["run_id"]]) and len(rows) == 3
    assert restore([str(out)]) == 0 and "restored 0 row(s)" in capsys.readouterr().out


def test_a_damaged_file_is_rebuilt_into_a_new_one(capsys, tmp_path):
    from bench.results.store import read_rows

    out = tmp_path / "runs.csv"
    assert main(["run", *SIM, "--max-num-seqs", "1,2", "--out", str(out)]) == 0
    ids = sorted(r["run_id"] for r in read_rows(out))
    out.write_bytes(b"schema_version,run_id,timestamp,model,en")  # a torn header: nothing can be appended
    capsys.readouterr()
    restore = _restore_main()
    assert restore([str(out)]) == 2 and "its header line is cut short" in one_line(capsys.readouterr().err)
    fresh = tmp_path / "rebuilt.csv"
    assert restore([str(out), "--into", str(fresh)]) == 0
    assert sorted(r["run_id"] for r in read_rows(fresh)) == ids


def test_a_sweep_grid_too_large_is_refused_before_it_is_expanded(capsys, tmp_path):
    """5 lists of 10 values: 10^5 cases, each resolved before the dry run listed them (10^9 filled memory)."""
    sweep = tmp_path / "big.yaml"
    tens = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"
    sweep.write_text(f"base: {{model: tiny-glm, engine: sim, hardware: H20}}\ngrid: {{max_num_seqs: {tens}, "
                     f"seed: {tens}, input_len: {tens}, output_len: {tens}, num_prompts: {tens}}}\n"
                     "cases: [{seed: 0}]\n")
    code, _, err = run_cli(capsys, "sweep", sweep, "--dry-run", "--out", tmp_path / "r.csv")
    assert code == 2 and (f"{sweep}: 100,001 cases (the grid's product of list lengths, plus cases); at most 10,000 "
                          "in one sweep: split it into several files") in one_line(err)


@pytest.mark.parametrize("name", ["", "A B", "1KEY", "$KEY"])
def test_api_key_env_must_name_a_variable(capsys, tmp_path, name):
    """'' was taken as no key at all, silently."""
    code, _, err = run_cli(capsys, "serve", "--model", "tiny-glm", "--endpoint", "http://127.0.0.1:9",
                           "--api-key-env", name, "--out", tmp_path / "s.csv")
    assert code == 2 and f"--api-key-env {name!r}: not an environment variable name" in one_line(err)


def test_report_refuses_a_file_given_twice(capsys, tmp_path, results_csv):
    """report A.csv A.csv ./A.csv counted each row three times ("rows: 3")."""
    a, _ = results_csv
    dotted = Path(str(a.parent) + "/./" + a.name)
    code, _, err = run_cli(capsys, "report", a, dotted, "--out", tmp_path / "rep")
    assert code == 2 and f"{dotted} is given twice ({a} and {dotted}); its rows would be counted twice" in one_line(err)
    assert not (tmp_path / "rep").exists()


def test_a_name_too_long_is_one_line(capsys, tmp_path):
    name = tmp_path / ("x" * 300 + ".csv")
    code, _, err = run_cli(capsys, "run", *SIM, "--out", name)
    assert code == 2 and f"--out {name}: File name too long; choose another path" in one_line(err)


def test_a_loop_of_links_as_output_is_no_traceback(capsys, tmp_path):
    """Path.resolve() raised RuntimeError on it; a loop holds no data, so bench writes a real file in its place."""
    (tmp_path / "loop.csv").symlink_to("loop2.csv")
    (tmp_path / "loop2.csv").symlink_to("loop.csv")
    code, _, err = run_cli(capsys, "run", *SIM, "--out", tmp_path / "loop.csv")
    assert code == 0 and "Traceback" not in err and (tmp_path / "loop.csv").is_file()


def test_an_output_linked_to_an_input_is_refused(capsys, tmp_path, results_csv):
    a, a_bytes = results_csv
    link = tmp_path / "link.csv"
    link.symlink_to(a)
    code, _, err = run_cli(capsys, "cost", a, "--out", link)
    assert code == 2 and f"--out {link} is also an input of this command" in one_line(err) and a.read_bytes() == a_bytes


@pytest.mark.parametrize("argv,needle", [
    (["run", *SIM, "--timeout", "inf"], "--timeout: Input should be a finite number (got inf)"),
    (["run", *SIM, "--seed", "-1"], "--seed: Input should be greater than or equal to 0 (got -1)"),
    (["run", *SIM, "--seed", str(2**32)], "--seed: Input should be less than or equal to 4294967295"),
    # --burstiness inf is a constant gap between arrivals (docs/serve.md); NaN means nothing
    (["serve", "--model", "tiny-glm", "--endpoint", "http://127.0.0.1:9", "--burstiness", "nan"],
     "--burstiness: Input should be greater than 0 (got nan)"),
])
def test_numbers_no_run_can_use(capsys, tmp_path, argv, needle):
    """An infinite timeout never stops a hung engine; vLLM seeds numpy, which takes 0 .. 2^32-1 (a failed row)."""
    code, _, err = run_cli(capsys, *argv, "--out", tmp_path / "r.csv")
    assert code == 2 and needle in one_line(err)


def test_unrecognized_words_are_named_with_their_subcommand(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", *SIM, "extra", "--out", tmp_path / "r.csv")
    assert one_line(err) == "error: bench run: unrecognized argument(s): extra (see `bench run --help`)\n"
    assert code == 2 and not (tmp_path / "r.csv").exists()


@pytest.mark.parametrize("text,needle", [
    ("- 1\n", "the file is a list, not a mapping of fields"),
    ("", "the file is empty, not a mapping of fields"),
    ("just words\n", "the file is a str, not a mapping of fields"),
    ("a: 1\nb: x\x00\n", "line 2: not valid YAML (unacceptable character #x0000"),
])
def test_yaml_that_is_not_a_mapping(capsys, monkeypatch, tmp_path, text, needle):
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    monkeypatch.setenv("BENCH_PRICES", str(path))
    code, _, err = run_cli(capsys, "prices")
    assert code == 2 and f"{path}" in err and needle in one_line(err)


@pytest.mark.parametrize("content,needle", [
    (b'{"architectures": ["Qwen2ForCausalLM"], "model_type": "q\xc3("}', "not UTF-8 text (byte 0xc3 at offset 56)"),  # 56 bytes before it
    (b"[" * 100000, "nested too deeply to read"),
    (None, "the directory has no config.json"),
])
def test_a_config_json_that_cannot_be_read(capsys, tmp_path, content, needle):
    """Found by the generated tier: a config.json with a bad byte was a UnicodeDecodeError traceback."""
    folder = tmp_path / "model"
    folder.mkdir()
    if content is None:
        (folder / "config.json").mkdir()
    else:
        (folder / "config.json").write_bytes(content)
    code, _, err = run_cli(capsys, "explain", folder, "--hardware", "H20")
    assert code == 2 and needle in one_line(err)


def test_a_plugin_class_is_looked_for_in_the_source_not_imported(tmp_path):
    """Bound by class, def, assignment or import: found; a module __getattr__ or a star import: it cannot tell, so
    the worker's import decides; anything else: not defined."""
    from bench.config.engines import _may_define

    (tmp_path / "plug_a.py").write_text("import torch\nfrom x.y import Eng as E2\nclass Eng:\n    pass\nOther = Eng\n")
    (tmp_path / "plug_b.py").write_text("def __getattr__(name):\n    return 1\n")
    (tmp_path / "plug_c.py").write_text("from os.path import *\n")
    import sys

    a, b, c = (str(tmp_path / f"plug_{x}.py") for x in "abc")
    assert _may_define(a, "Eng") and _may_define(a, "Other") and _may_define(a, "E2")
    assert not _may_define(a, "Missing")
    assert _may_define(b, "Anything") and _may_define(c, "Anything") and _may_define(None, "Anything")
    assert "plug_a" not in sys.modules  # never imported (it would import torch)


# --- messages that name what is wrong: the file the catalog is, a file for a directory, a date that does not exist

def test_a_file_given_as_a_model_directory_is_called_a_file(capsys, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    code, _, err = run_cli(capsys, "run", "--engine", "sim", "--hardware", "H100-SXM", "--model",
                           tmp_path / "config.json", "--out", tmp_path / "r.csv")
    assert code == 2 and "is a file; give the directory holding its config.json" in one_line(err)
    code, _, err = run_cli(capsys, "run", "--engine", "sim", "--hardware", "H100-SXM", "--model", tmp_path / "none",
                           "--out", tmp_path / "r.csv")
    assert code == 2 and f"--model {tmp_path / 'none'}: no such directory" in one_line(err)


def test_a_catalog_entry_names_the_catalog_file_in_use(capsys, tmp_path, monkeypatch):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("models:\n  m1:\n    hub_id: x/y\n    family: llama\n    config: nowhere/config.json\n"
                       "    max_model_len: 2048\n")
    monkeypatch.setenv("BENCH_CATALOG", str(catalog))
    code, _, err = run_cli(capsys, "run", "--engine", "sim", "--hardware", "H100-SXM", "--model", "m1", "--out",
                           tmp_path / "r.csv")
    assert code == 2 and f"{catalog}: model 'm1': config file nowhere/config.json not found" in one_line(err)
    assert "models.yaml" not in err  # the file meant is BENCH_CATALOG's


@pytest.mark.parametrize("command", ["cost", "compare", "report"])
def test_a_directory_given_as_a_results_file_is_called_a_directory(capsys, tmp_path, command):
    extra = {"compare": [tmp_path], "report": ["--out", tmp_path / "rep"], "cost": []}[command]
    code, _, err = run_cli(capsys, command, tmp_path, *extra)
    assert code == 2 and f"{tmp_path} is a directory, not a results file" in one_line(err)
    code, _, err = run_cli(capsys, command, tmp_path / "none.csv", *extra)
    assert code == 2 and f"{tmp_path / 'none.csv'}: no such results file" in one_line(err)


@pytest.mark.parametrize("argv", [["prices"], ["plan", "--model", "qwen2.5-7b-instruct", "--hardware", "H20",
                                              "--traffic", "500M/day"]])
def test_an_impossible_date_is_not_a_format_error(capsys, argv):
    code, _, err = run_cli(capsys, *argv, "--as-of", "2026-02-30")
    assert code == 2 and "--as-of: not a real date (day is out of range for month) (got '2026-02-30')" in one_line(err)
    code, _, err = run_cli(capsys, *argv, "--as-of", "30/02/2026")
    assert code == 2 and "--as-of: expected a date as YYYY-MM-DD (got '30/02/2026')" in one_line(err)
