"""Bad input in other tools' files: one line naming the file and the problem, exit 2, nothing written; a file with
some usable benchmarks gives those and names the rest. The files are the real tools' (tests/data/interop), cut or
edited by hand where a case needs it."""

import json
from pathlib import Path

import pytest
import yaml

from bench.cli import main
from bench.interop.read import import_file, load
from bench.interop.source import Given

DATA = Path(__file__).parent.parent / "data" / "interop"
PRICE = ["--hardware", "H100-SXM", "--gpus", "1"]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and len(err.strip().splitlines()) == 1, err
    return lines[0]


def edited(tmp_path: Path, source: Path, change, name: str | None = None) -> Path:
    doc = json.loads(source.read_text())
    change(doc)
    path = tmp_path / (name or source.name)
    path.write_text(json.dumps(doc))
    return path


def test_a_file_of_no_known_kind_is_one_line_and_writes_nothing(tmp_path, capsys):
    other = tmp_path / "results.json"
    other.write_text(json.dumps({"accuracy": 0.91, "model": "x"}))
    out = tmp_path / "rows.csv"
    code, _, err = run(capsys, "import", other, "--out", out)
    line = one_error_line(err)
    assert code == 2 and str(other) in line and "not a bench results CSV" in line and "AIPerf" in line
    assert not out.exists() and not (tmp_path / "rows").exists()
    code, _, err = run(capsys, "cost", other, *PRICE)
    assert code == 2 and str(other) in one_error_line(err)


@pytest.mark.parametrize("source,change,needle", [
    (DATA / "aiperf-concurrency" / "profile_export_aiperf.json", lambda d: d.update(schema_version="2.0"),
     "schema version 2.0; bench reads versions 1.x"),
    (DATA / "guidellm" / "benchmarks.json", lambda d: d["metadata"].update(version=3),
     "schema version 3; bench reads version 2"),
])
def test_a_known_kind_at_an_unknown_schema_version_is_refused(tmp_path, capsys, source, change, needle):
    path = edited(tmp_path, source, change)
    out = tmp_path / "rows.csv"
    code, _, err = run(capsys, "import", path, "--out", out)
    line = one_error_line(err)
    assert code == 2 and str(path) in line and needle in line and not out.exists()


def test_a_benchmark_report_of_an_unknown_version_is_refused(tmp_path, capsys):
    source = sorted((DATA / "inference-perf").glob("*.yaml"))[0]
    doc = yaml.safe_load(source.read_text())
    doc["version"] = "0.3"
    path = tmp_path / "report.yaml"
    path.write_text(yaml.safe_dump(doc))
    code, _, err = run(capsys, "import", path, "--out", tmp_path / "rows.csv")
    assert code == 2 and "a Benchmark Report of version 0.3; bench reads versions 0.2, 0.2.1" in one_error_line(err)


def test_a_truncated_json_is_named_as_truncated(tmp_path, capsys):
    data = (DATA / "vllm-bench-serve-detailed.json").read_bytes()
    path = tmp_path / "cut.json"
    path.write_bytes(data[: len(data) // 2])
    out = tmp_path / "rows.csv"
    code, _, err = run(capsys, "import", path, "--out", out)
    line = one_error_line(err)
    assert code == 2 and f"{path}: ends before the document does (truncated)" in line and not out.exists()
    code, _, err = run(capsys, "report", path, "--out", tmp_path / "report", *PRICE)
    assert code == 2 and "truncated" in one_error_line(err) and not (tmp_path / "report").exists()


def test_a_report_with_no_successful_request_is_refused(tmp_path, capsys):
    def failed(d):
        d.update(completed=0, failed=d["num_prompts"], total_output_tokens=0, errors=["boom"] * d["num_prompts"])
    path = edited(tmp_path, DATA / "vllm-bench-serve-detailed.json", failed)
    code, _, err = run(capsys, "import", path, "--out", tmp_path / "rows.csv")
    assert code == 2 and "no request succeeded (completed 0 of 8)" in one_error_line(err)


def test_a_file_without_what_pricing_needs_names_the_option(tmp_path, capsys):
    csv_only = tmp_path / "profile_export_aiperf.csv"  # AIPerf's CSV names no model and no load
    csv_only.write_bytes((DATA / "aiperf-concurrency" / "profile_export_aiperf.csv").read_bytes())
    code, _, err = run(capsys, "cost", csv_only, *PRICE)
    assert code == 2 and "does not say which model ran: give --model NAME" in one_error_line(err)
    json_file = DATA / "aiperf-concurrency" / "profile_export_aiperf.json"
    code, _, err = run(capsys, "cost", json_file, "--model", "qwen2.5-7b-instruct", "--gpus", "1")
    assert code == 2 and "does not say which GPU it ran on" in one_error_line(err)
    code, _, err = run(capsys, "cost", json_file, "--hardware", "H100-SXM")
    assert code == 2 and "how many GPUs served it: give --gpus N" in one_error_line(err)
    code, _, err = run(capsys, "cost", json_file, "--hardware", "cpu-server")  # a CPU server is one unit
    assert code == 0, err


def test_a_model_the_file_contradicts_is_refused(tmp_path, capsys):
    def named(d):
        d["model_id"] = "Qwen/Qwen2.5-7B-Instruct"
    path = edited(tmp_path, DATA / "vllm-bench-serve-detailed.json", named)
    code, _, err = run(capsys, "cost", path, *PRICE, "--model", "glm-4-9b-chat")
    assert code == 2 and "ran Qwen/Qwen2.5-7B-Instruct (qwen2.5-7b-instruct); --model glm-4-9b-chat names another" \
        in one_error_line(err)
    row = import_file(path, Given(hardware="H100-SXM", gpus=1, model="qwen2.5-7b-instruct")).rows[0]
    assert row["model"] == "qwen2.5-7b-instruct" and row["hub_id"] == "Qwen/Qwen2.5-7B-Instruct"
    assert row["given_columns"] == "hardware,gpu_count"  # the file's own model: measured, not given


def test_some_usable_benchmarks_are_imported_and_the_rest_named(tmp_path, capsys):
    def second_failed(d):
        d["benchmarks"][1]["metrics"]["request_totals"].update(successful=0, errored=8)
    path = edited(tmp_path, DATA / "guidellm" / "benchmarks.json", second_failed)
    out = tmp_path / "rows.csv"
    code, printed, err = run(capsys, "import", path, "--out", out, *PRICE)
    assert code == 0, err
    assert "benchmark 2 (concurrent 4): no request succeeded (8 errored, 0 incomplete)" in err and "(left out)" in err
    import pandas as pd

    rows = pd.read_csv(out)
    assert rows["source_benchmark"].tolist() == [1] and rows["concurrency"].tolist() == [2]
    assert (tmp_path / "rows" / f"{rows['run_id'][0]}.json").exists()


def test_import_is_append_only_and_a_second_import_adds_nothing(tmp_path, capsys):
    out = tmp_path / "rows.csv"
    path = DATA / "vllm-bench-serve-rates.json"
    assert run(capsys, "import", path, "--out", out, *PRICE)[0] == 0
    first = out.read_bytes()
    code, printed, _ = run(capsys, "import", path, "--out", out, *PRICE)
    assert code == 0 and out.read_bytes() == first and "2 benchmark(s) already in" in printed
    record = json.loads(next((tmp_path / "rows").glob("*.json")).read_text())
    assert record["source"]["sha256"] == load(path).sha256 and record["given"]["columns"] == ["hardware", "gpu_count"]


def test_import_refuses_an_out_that_is_not_a_results_csv(tmp_path, capsys):
    out = tmp_path / "notes.csv"
    out.write_text("a,b\n1,2\n")
    code, _, err = run(capsys, "import", DATA / "vllm-bench-serve-rates.json", "--out", out)
    assert code == 2 and "not a bench results CSV" in one_error_line(err) and out.read_text() == "a,b\n1,2\n"
