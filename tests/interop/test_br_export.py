"""bench's rows as Benchmark Report v0.2: each document valid under the schema's own JSON Schema (generated from
inference-perf 0.7's vendored pydantic models, BenchmarkReportV02: tests/data/interop/br0.2.schema.json), and read
back (bench import of the exported files) to the same figures: export, re-read, same values."""

import json
from pathlib import Path

import pytest
import yaml

from bench.cli import main
from bench.config.hardware import from_device_name
from bench.cost.pricing import CostOptions, self_cost
from bench.interop.br_export import report
from bench.results import typed
from result_rows import row as bench_row, write_rows

DATA = Path(__file__).parent.parent / "data" / "interop"
SCHEMA = json.loads((DATA / "br0.2.schema.json").read_text())

# The columns a Benchmark Report holds and gives back (bench.interop.br_export writes them where br.py reads them)
ROUND_TRIP = ("num_prompts", "completed", "failed", "input_tokens", "output_tokens", "elapsed_s", "requests_per_s",
              "input_tok_s", "output_tok_s", "total_tok_s", "ttft_mean_ms", "ttft_p50_ms", "ttft_p90_ms",
              "ttft_p99_ms", "tpot_mean_ms", "tpot_p50_ms", "tpot_p99_ms", "itl_mean_ms", "itl_p50_ms", "itl_p99_ms",
              "e2e_mean_ms", "e2e_p50_ms", "e2e_p99_ms", "request_rate", "concurrency", "load_mode", "model",
              "tensor_parallel_size", "pipeline_parallel_size", "engine", "engine_version", "timestamp",
              "input_len", "output_len")


def check(value, schema: dict, path: str = "$") -> None:
    """A JSON document against the subset of JSON Schema pydantic writes ($ref, anyOf/oneOf, type, enum, const,
    properties, required, additionalProperties, items, minimum, exclusiveMinimum); AssertionError naming where."""
    if "$ref" in schema:
        return check(value, SCHEMA["$defs"][schema["$ref"].split("/")[-1]], path)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if value is None or o.get("type") != "null"]
            if len(options) == 1:  # Optional[X] with a value: X's own message says what is wrong
                return check(value, options[0], path)
            fits = []
            for option in schema[key]:
                try:
                    check(value, option, path)
                    fits.append(option)
                except AssertionError:
                    pass
            assert fits, f"{path}: {value!r} fits none of {key}"
            return None
    kinds = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list,
             "null": type(None)}
    if "type" in schema:
        assert isinstance(value, kinds[schema["type"]]) and not (schema["type"] in ("integer", "number") and
                                                                  isinstance(value, bool)), f"{path}: {value!r}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if "const" in schema:
        assert value == schema["const"], f"{path}: {value!r}"
    if "minimum" in schema:
        assert value >= schema["minimum"], f"{path}: {value!r}"
    if "exclusiveMinimum" in schema:
        assert value > schema["exclusiveMinimum"], f"{path}: {value!r}"
    if isinstance(value, dict):
        for name in schema.get("required", []):
            assert name in value, f"{path}: {name} missing"
        props = schema.get("properties", {})
        for name, v in value.items():
            if name in props:
                check(v, props[name], f"{path}.{name}")
            else:
                extra = schema.get("additionalProperties", True)
                assert extra is not False, f"{path}: {name} is not a field of the schema"
                if isinstance(extra, dict):
                    check(v, extra, f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            check(v, schema["items"], f"{path}[{i}]")
    return None


def test_the_checker_refuses_what_the_schema_forbids():
    doc = report(bench_row())
    check(doc, SCHEMA)
    for broken, needle in ((dict(doc, colour="red"), "colour is not a field"), ({"run": doc["run"]}, "missing")):
        with pytest.raises(AssertionError, match=needle):
            check(broken, SCHEMA)
    bare = report(bench_row(max_num_seqs=None, dtype="", kv_cache_dtype="", max_model_len=None))
    assert bare["scenario"]["stack"][0]["native"] == {}  # required by the schema, even empty
    check(bare, SCHEMA)
    del bare["scenario"]["stack"][0]["native"]
    with pytest.raises(AssertionError, match="native missing"):
        check(bare, SCHEMA)


def serve_row(**over) -> dict:
    """A bench serve level as its row holds it: 8 requests at concurrency 4, every latency column filled."""
    r = bench_row(batch=8, num_prompts=8, input_len=32, output_len=16)
    r.update({"engine": "vllm-server", "engine_version": "0.32.0", "load_mode": "concurrency", "concurrency": 4,
              "completed": 8, "failed": 0, "input_tokens": 256, "output_tokens": 128, "elapsed_s": 4.0,
              "requests_per_s": 2.0, "input_tok_s": 64.0, "output_tok_s": 32.0, "total_tok_s": 96.0,
              "ttft_mean_ms": 120.5, "ttft_p50_ms": 110.25, "ttft_p90_ms": 180.0, "ttft_p99_ms": 201.0,
              "tpot_mean_ms": 30.5, "tpot_p50_ms": 29.0, "tpot_p99_ms": 41.0, "itl_mean_ms": 30.25,
              "itl_p50_ms": 28.5, "itl_p99_ms": 60.0, "e2e_mean_ms": 580.0, "e2e_p50_ms": 560.0, "e2e_p99_ms": 700.0,
              "hardware": "H100-SXM", "sweep_id": "20260101T000000Z-abcdef", **over})
    return r


def exported(tmp_path: Path, rows: list[dict], *flags) -> tuple[Path, list[dict]]:
    results = tmp_path / "rows.csv"
    write_rows(results, rows)
    out = tmp_path / "br"
    assert main(["export", str(results), "--format", "br0.2", "--out", str(out), *flags]) == 0
    docs = sorted(out.iterdir())
    return out, [json.loads(p.read_text()) if p.suffix == ".json" else yaml.safe_load(p.read_text()) for p in docs]


def test_export_then_import_gives_the_same_figures(tmp_path, capsys):
    # an offline row as bench run writes it (every figure with its mean: a report statistic needs one)
    rows = [serve_row(), bench_row(batch=16, e2e_mean_ms=9100.5, ttft_mean_ms=7000.25, tpot_mean_ms=7.9,
                                   engine_version="0.32.0"),
            serve_row(concurrency=None, load_mode="rate", request_rate=2.5, run_id="20260101T000000Z-rate25")]
    out, docs = exported(tmp_path, rows)
    assert len(docs) == 3
    for doc in docs:
        check(doc, SCHEMA)
        assert doc["version"] == "0.2"
    back = tmp_path / "back.csv"
    assert main(["import", str(out), "--out", str(back)]) == 0
    again = typed.read_rows(back)[1]
    by_run = {r["run_id"]: r for r in typed.read_rows(tmp_path / "rows.csv")[1]}
    assert sorted(r["source_file"] for r in again) == sorted(f"{run}.yaml" for run in by_run)
    for r in again:
        orig = by_run[r["source_file"].removesuffix(".yaml")]
        for name in ROUND_TRIP:
            a, b = orig.get(name), r.get(name)
            if isinstance(a, float):
                assert b == pytest.approx(a, rel=1e-6), name  # the CSV keeps 6 decimals
            else:
                assert b == a, name
        # the card: the row's own, else its device name read as `bench run` reads NVML's
        assert r["hardware"] == (orig["hardware"] or from_device_name(orig["device_name"]))
        # priced alike: the GPUs are tensor x pipeline parallel, given back as the report's accelerator count
        assert r["gpu_count"] == orig["tensor_parallel_size"] * orig["pipeline_parallel_size"]
        assert r["source_format"] == "br0.2" and r["source_tool"] == "bench"
        opts = CostOptions(hardware="H100-SXM")
        assert self_cost(r, opts).cny_per_m_total == pytest.approx(self_cost(orig, opts).cny_per_m_total, rel=1e-9)


def test_export_writes_json_on_request_and_maps_units(tmp_path):
    _, (doc,) = exported(tmp_path, [serve_row()], "--json")
    agg = doc["results"]["request_performance"]["aggregate"]
    assert agg["latency"]["time_to_first_token"] == {"units": "ms", "mean": 120.5, "p50": 110.25, "p90": 180.0,
                                                     "p99": 201.0}
    assert agg["latency"]["time_per_output_token"]["units"] == "ms/token"
    assert agg["throughput"]["total_token_rate"] == {"units": "tokens/s", "mean": 96.0}
    assert agg["throughput"]["request_rate"] == {"units": "queries/s", "mean": 2.0}
    assert agg["requests"] == {"total": 8, "failures": 0, "input_length": {"units": "count", "mean": 32.0},
                               "output_length": {"units": "count", "mean": 16.0}}
    engine = doc["scenario"]["stack"][0]["standardized"]
    assert engine["accelerator"] == {"model": "H100-SXM", "count": 1, "parallelism": {"tp": 1, "pp": 1}}
    assert doc["scenario"]["load"]["standardized"]["concurrency"] == 4
    assert doc["run"]["time"]["duration"] == "PT4.000S"


def test_export_of_no_ok_row_is_refused(tmp_path, capsys):
    results = tmp_path / "rows.csv"
    write_rows(results, [bench_row(status="failed")])
    code = main(["export", str(results), "--format", "br0.2", "--out", str(tmp_path / "br")])
    assert code == 2 and "no row with status ok" in capsys.readouterr().err and not (tmp_path / "br").exists()
