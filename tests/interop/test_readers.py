"""Other tools' results files (tests/data/interop, made by the real tools: scripts/make_interop_files.sh) read into
bench rows: every field a reader maps is asserted against the file's own number, units converted by hand."""

import csv
import json
from pathlib import Path

import pytest
import yaml

from bench.interop.read import import_file
from bench.interop.source import Given
from bench.measure.metrics import percentile
from bench.measure.slo import Slo

DATA = Path(__file__).parent.parent / "data" / "interop"
GIVEN = Given(hardware="H100-SXM", gpus=1)


def one_row(path: Path, given: Given = GIVEN) -> dict:
    got = import_file(path, given)
    assert len(got.rows) == 1
    return got.rows[0]


def rows_of(path: Path, given: Given = GIVEN) -> list[dict]:
    return import_file(path, given).rows


# ---------------------------------------------------------------- vllm bench serve


def test_vllm_serve_summary_fields_map_to_bench_columns_in_ms():
    docs = [json.loads(line) for line in (DATA / "vllm-bench-serve-rates.json").read_text().splitlines() if line]
    rows = rows_of(DATA / "vllm-bench-serve-rates.json")
    assert len(rows) == len(docs) == 2  # --append-result: one result per line, one row each
    for doc, row in zip(docs, rows):
        assert row["source_format"] == "vllm-bench-serve" and row["source_tool"] == "vllm bench serve"
        assert "source_tool_version" not in row  # the file does not say which vLLM wrote it
        assert "recomputed_from" not in row  # summaries only: no per-request arrays
        assert row["num_prompts"] == doc["num_prompts"] and row["completed"] == doc["completed"]
        assert row["failed"] == doc["failed"]
        assert row["input_tokens"] == doc["total_input_tokens"] and row["output_tokens"] == doc["total_output_tokens"]
        assert row["elapsed_s"] == doc["duration"]  # seconds both
        assert row["requests_per_s"] == doc["request_throughput"]
        assert row["output_tok_s"] == doc["output_throughput"]
        assert row["total_tok_s"] == doc["total_token_throughput"]
        assert row["input_tok_s"] == pytest.approx(doc["total_input_tokens"] / doc["duration"])
        for theirs, ours in (("ttft", "ttft"), ("tpot", "tpot"), ("e2el", "e2e")):  # ms both
            assert row[f"{ours}_mean_ms"] == doc[f"mean_{theirs}_ms"]
            assert row[f"{ours}_p50_ms"] == doc[f"p50_{theirs}_ms"]
            assert row[f"{ours}_p99_ms"] == doc[f"p99_{theirs}_ms"]
        assert row["ttft_p90_ms"] == doc["p90_ttft_ms"]
        # vLLM's ITL is per chunk, bench's per token: without the per-request arrays it is not a column
        assert "itl_p50_ms" not in row and "itl_mean_ms" not in row
        assert row["api_model"] == doc["model_id"] == "tiny-qwen2-dummy"
        assert row["burstiness"] == doc["burstiness"]
        assert row["input_len"] == doc["total_input_tokens"] / doc["completed"]  # 256 / 8 = 32
        assert row["output_len"] == doc["total_output_tokens"] / doc["completed"]  # 128 / 8 = 16
        assert row["timestamp"] == f"{doc['date'][:4]}-{doc['date'][4:6]}-{doc['date'][6:8]}T" \
                                   f"{doc['date'][9:11]}:{doc['date'][11:13]}:{doc['date'][13:15]}"
    assert rows[0]["request_rate"] == docs[0]["request_rate"] == 2 and rows[0]["load_mode"] == "rate"
    assert rows[1]["request_rate"] == "inf" and docs[1]["request_rate"] == "inf"
    assert rows[0]["source_benchmark"] == 1 and rows[1]["source_benchmark"] == 2


def test_vllm_serve_detailed_arrays_are_recomputed_by_bench():
    doc = json.loads((DATA / "vllm-bench-serve-detailed.json").read_text())
    row = one_row(DATA / "vllm-bench-serve-detailed.json")
    ok = [i for i, e in enumerate(doc["errors"]) if not e]
    assert row["recomputed_from"] == len(doc["ttfts"]) == doc["num_prompts"]
    # an unbounded rate capped at 4 in flight: bench's concurrency level (bench serve --concurrencies 4)
    assert row["concurrency"] == doc["max_concurrency"] == 4 and row["load_mode"] == "concurrency"
    assert doc["request_rate"] == "inf" and "request_rate" not in row and "burstiness" not in row
    # bench's TTFT and E2E percentiles of vLLM's own per-request seconds, in ms
    assert row["ttft_p50_ms"] == pytest.approx(1000 * percentile([doc["ttfts"][i] for i in ok], 50))
    assert row["ttft_p99_ms"] == pytest.approx(1000 * percentile([doc["ttfts"][i] for i in ok], 99))
    assert row["e2e_p50_ms"] == pytest.approx(1000 * percentile([doc["latencies"][i] for i in ok], 50))
    # TPOT per request: (latency - TTFT) / (output tokens - 1)
    tpots = [(doc["latencies"][i] - doc["ttfts"][i]) / (doc["output_lens"][i] - 1) for i in ok]
    assert row["tpot_mean_ms"] == pytest.approx(1000 * sum(tpots) / len(tpots))
    # vLLM's own summary agrees where the definitions do: numpy's percentile is bench's
    assert row["ttft_p99_ms"] == pytest.approx(doc["p99_ttft_ms"], rel=1e-9)
    assert row["tpot_p50_ms"] == pytest.approx(doc["p50_tpot_ms"], rel=1e-9)
    assert row["output_tok_s"] == pytest.approx(doc["output_throughput"], rel=1e-12)
    # per token: a chunk of k tokens g after the previous one gives k gaps of g / k
    chunks = sum(len(doc["itls"][i]) + 1 for i in ok)
    assert row["tokens_per_chunk_mean"] == pytest.approx(doc["total_output_tokens"] / chunks)
    if row["tokens_per_chunk_max"] == 1:  # one token per chunk: per-chunk gaps are per-token gaps
        gaps = [g for i in ok for g in doc["itls"][i]]
        assert row["itl_p50_ms"] == pytest.approx(1000 * percentile(gaps, 50))
        assert row["itl_p50_ms"] == pytest.approx(doc["p50_itl_ms"], rel=1e-9)
    # goodput: vLLM's request_goodput at --goodput ttft:5000 tpot:1000 is not a column without bench's own SLO
    assert row["goodput_req_s"] == doc["request_goodput"]


def test_vllm_detailed_goodput_is_recomputed_under_the_given_targets():
    doc = json.loads((DATA / "vllm-bench-serve-detailed.json").read_text())
    given = Given(hardware="H100-SXM", gpus=1, slo=Slo(5000, 1000))
    row = one_row(DATA / "vllm-bench-serve-detailed.json", given)
    good = sum(1 for t, lat, n, e in zip(doc["ttfts"], doc["latencies"], doc["output_lens"], doc["errors"])
               if not e and t * 1000 <= 5000 and (lat - t) / (n - 1) * 1000 <= 1000)
    assert row["goodput_req_s"] == pytest.approx(good / doc["duration"])
    assert row["goodput_req_s"] == pytest.approx(doc["request_goodput"], rel=1e-9)  # the same targets
    assert row["slo_ttft_ms"] == 5000 and row["slo_tpot_ms"] == 1000


# ---------------------------------------------------------------- vllm bench throughput


def test_vllm_throughput_maps_what_the_file_holds_and_no_more():
    doc = json.loads((DATA / "vllm-bench-throughput.json").read_text())
    row = one_row(DATA / "vllm-bench-throughput.json", Given(hardware="H100-SXM", gpus=1, model="qwen2.5-7b-instruct"))
    assert row["source_format"] == "vllm-bench-throughput" and row["engine"] == "vllm"
    assert row["num_prompts"] == doc["num_requests"] and row["elapsed_s"] == doc["elapsed_time"]
    assert row["requests_per_s"] == doc["requests_per_second"] and row["total_tok_s"] == doc["tokens_per_second"]
    # the file has prompt + output tokens together: neither kind is a column, never a guessed split
    for name in ("input_tokens", "output_tokens", "input_tok_s", "output_tok_s", "completed", "ttft_p50_ms"):
        assert name not in row
    assert row["model"] == "qwen2.5-7b-instruct" and row["given_columns"] == "model,hardware,gpu_count"


# ---------------------------------------------------------------- AIPerf


def aiperf_json(folder: str) -> dict:
    return json.loads((DATA / folder / "profile_export_aiperf.json").read_text())


def test_aiperf_json_maps_its_metrics_with_units():
    doc = aiperf_json("aiperf-concurrency")
    row = one_row(DATA / "aiperf-concurrency" / "profile_export_aiperf.json")
    assert row["source_format"] == "aiperf-json" and row["source_tool"] == "aiperf"
    assert row["source_tool_version"] == doc["aiperf_version"]
    assert doc["benchmark_duration"]["unit"] == "sec"
    assert row["elapsed_s"] == doc["benchmark_duration"]["avg"]
    assert row["completed"] == doc["request_count"]["avg"] and row["num_prompts"] == \
        doc["completed_request_count"]["avg"]
    assert row["failed"] == doc["completed_request_count"]["avg"] - doc["request_count"]["avg"]  # 8 - 8
    assert row["input_tokens"] == doc["total_isl"]["avg"] and row["output_tokens"] == doc["total_osl"]["avg"]
    assert row["input_len"] == doc["input_sequence_length"]["avg"]
    assert row["input_len_max"] == doc["input_sequence_length"]["max"]
    assert row["output_len"] == doc["output_sequence_length"]["avg"]
    assert row["concurrency"] == 4 and row["load_mode"] == "concurrency"
    assert row["endpoint"] == doc["input_config"]["endpoint"]["urls"][0]
    assert row["seed"] == doc["run_info"]["random_seed"]
    assert row["api_model"] == "tiny-qwen2-dummy" and row["model"] == "tiny-qwen2-dummy"
    slos = doc["input_config"]["slos"]  # ms; AIPerf's inter_token_latency is bench's TPOT
    assert row["slo_ttft_ms"] == slos["time_to_first_token"] and row["slo_tpot_ms"] == slos["inter_token_latency"]
    assert row["timestamp"] == doc["start_time"][:19]


def test_aiperf_records_beside_the_json_are_recomputed_and_agree_with_its_summary():
    doc = aiperf_json("aiperf-concurrency")
    records = [json.loads(x) for x in (DATA / "aiperf-concurrency" / "profile_export.jsonl").read_text().splitlines()]
    row = one_row(DATA / "aiperf-concurrency" / "profile_export_aiperf.json")
    assert row["recomputed_from"] == len(records) == doc["request_count"]["avg"]
    ttfts = [r["metrics"]["time_to_first_token"]["value"] for r in records]  # ms
    assert {r["metrics"]["time_to_first_token"]["unit"] for r in records} == {"ms"}
    assert row["ttft_p50_ms"] == pytest.approx(percentile(ttfts, 50))
    # AIPerf's percentiles of the same values: the same numbers
    assert row["ttft_p50_ms"] == pytest.approx(doc["time_to_first_token"]["p50"], rel=1e-9)
    assert row["ttft_p99_ms"] == pytest.approx(doc["time_to_first_token"]["p99"], rel=1e-9)
    assert row["e2e_p99_ms"] == pytest.approx(doc["request_latency"]["p99"], rel=1e-9)
    # AIPerf's inter_token_latency (per request: (latency - TTFT) / (OSL - 1)) is bench's TPOT
    assert row["tpot_mean_ms"] == pytest.approx(doc["inter_token_latency"]["avg"], rel=1e-9)
    # throughput over AIPerf's duration: 128 tokens / benchmark_duration
    assert row["output_tok_s"] == pytest.approx(doc["total_osl"]["avg"] / doc["benchmark_duration"]["avg"])
    # per token: bench's gaps sum to E2E - TTFT in every request
    gaps = sum(sum(r["metrics"]["inter_chunk_latency"]["value"]) for r in records)
    spans = sum(r["metrics"]["request_latency"]["value"] - r["metrics"]["time_to_first_token"]["value"]
                for r in records)
    assert gaps == pytest.approx(spans, rel=1e-6)


def test_aiperf_rate_phase_is_the_load_point():
    doc = aiperf_json("aiperf-request-rate")
    row = one_row(DATA / "aiperf-request-rate" / "profile_export_aiperf.json")
    phase = [p for p in doc["input_config"]["phases"] if p.get("kind") == "profiling"][0]
    assert row["load_mode"] == "rate" and row["request_rate"] == phase["rate"] == 4
    assert phase["type"] == "poisson" and row["burstiness"] == 1  # Poisson arrivals: gamma shape 1


def aiperf_csv(folder: str) -> dict[str, dict]:
    rows = list(csv.reader((DATA / folder / "profile_export_aiperf.csv").read_text().splitlines()))
    out, header = {}, None
    for r in rows:
        if not r or r[0] in ("Metric", "Endpoint"):
            header = r if r and r[0] == "Metric" else None
            continue
        if header:
            out[r[0]] = dict(zip(header, r))
    return out


def test_aiperf_csv_alone_maps_its_rounded_figures(tmp_path):
    (tmp_path / "profile_export_aiperf.csv").write_bytes((DATA / "aiperf-concurrency" /
                                                           "profile_export_aiperf.csv").read_bytes())
    m = aiperf_csv("aiperf-concurrency")
    row = one_row(tmp_path / "profile_export_aiperf.csv", Given(hardware="H100-SXM", gpus=1,
                                                                  model="qwen2.5-7b-instruct"))
    assert row["source_format"] == "aiperf-csv" and "source_tool_version" not in row
    assert row["ttft_p50_ms"] == float(m["Time to First Token (ms)"]["p50"])
    assert row["ttft_p99_ms"] == float(m["Time to First Token (ms)"]["p99"])
    assert row["tpot_mean_ms"] == float(m["Inter Token Latency (ms)"]["avg"])
    assert row["e2e_p50_ms"] == float(m["Request Latency (ms)"]["p50"])
    assert row["elapsed_s"] == float(m["Benchmark Duration (sec)"]["Value"])
    assert row["completed"] == float(m["Request Count"]["Value"])
    assert row["requests_per_s"] == float(m["Request Throughput (requests/sec)"]["Value"])
    assert row["output_tok_s"] == float(m["Output Token Throughput (tokens/sec)"]["Value"])
    assert row["total_tok_s"] == float(m["Total Token Throughput (tokens/sec)"]["Value"])
    assert row["input_tokens"] == float(m["Total Input Sequence Length (tokens)"]["Value"])
    assert row["mean_concurrency"] == float(m["Effective Concurrency"]["avg"])
    # no model, no load point and no version in the CSV: the model is given, the rest left empty
    assert row["given_columns"] == "model,hardware,gpu_count" and "concurrency" not in row


def test_a_folder_reads_the_json_not_the_csv_beside_it():
    got = import_file(DATA / "aiperf-concurrency" / "profile_export_aiperf.json", GIVEN)
    from bench.interop.read import files_in

    assert [p.name for p in files_in(DATA / "aiperf-concurrency")] == ["profile_export_aiperf.json"]
    assert got.rows[0]["source_format"] == "aiperf-json"


# ---------------------------------------------------------------- Benchmark Report v0.2 (inference-perf)


def test_inference_perf_br_partials_map_with_units():
    for path in sorted((DATA / "inference-perf").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        row = one_row(path)
        agg = doc["results"]["request_performance"]["aggregate"]
        lat, thr, req = agg["latency"], agg["throughput"], agg["requests"]
        assert row["source_format"] == "br0.2" and doc["version"] in ("0.2", "0.2.1")
        for theirs, ours in (("time_to_first_token", "ttft"), ("request_latency", "e2e")):
            assert lat[theirs]["units"] == "s"
            assert row[f"{ours}_mean_ms"] == pytest.approx(1000 * lat[theirs]["mean"])
            assert row[f"{ours}_p50_ms"] == pytest.approx(1000 * lat[theirs]["p50"])
            assert row[f"{ours}_p99_ms"] == pytest.approx(1000 * lat[theirs]["p99"])
        assert lat["time_per_output_token"]["units"] == lat["inter_token_latency"]["units"] == "s/token"
        assert row["tpot_p50_ms"] == pytest.approx(1000 * lat["time_per_output_token"]["p50"])
        assert row["itl_p99_ms"] == pytest.approx(1000 * lat["inter_token_latency"]["p99"])
        assert row["ttft_p90_ms"] == pytest.approx(1000 * lat["time_to_first_token"]["p90"])
        assert thr["total_token_rate"]["units"] == "tokens/s" and thr["request_rate"]["units"] == "queries/s"
        assert row["total_tok_s"] == thr["total_token_rate"]["mean"]
        assert row["output_tok_s"] == thr["output_token_rate"]["mean"]
        assert row["input_tok_s"] == thr["input_token_rate"]["mean"]
        assert row["requests_per_s"] == thr["request_rate"]["mean"]
        ok = req["total"] - req["failures"]
        assert row["completed"] == ok and row["failed"] == req["failures"] and row["num_prompts"] == req["total"]
        # the window inference-perf divides by: successes / request rate
        assert row["elapsed_s"] == pytest.approx(ok / thr["request_rate"]["mean"])
        assert row["input_tokens"] == round(req["input_length"]["mean"] * ok)  # 32 x 8 = 256
        assert row["output_tokens"] == round(req["output_length"]["mean"] * ok)  # 16 x 8 = 128
        assert row["input_len"] == req["input_length"]["mean"] and row["input_len_max"] == req["input_length"]["max"]
        assert row["timestamp"] == doc["run"]["time"]["start"].replace("Z", "+00:00")[:19] + "+00:00"


# ---------------------------------------------------------------- GuideLLM


def ok_part(metric: dict) -> dict:
    return metric["successful"]


def test_guidellm_benchmarks_each_become_a_row_with_units_converted():
    doc = json.loads((DATA / "guidellm" / "benchmarks.json").read_text())
    rows = rows_of(DATA / "guidellm" / "benchmarks.json")
    assert len(rows) == len(doc["benchmarks"]) == 2 and doc["metadata"]["version"] == 2
    for b, row in zip(doc["benchmarks"], rows):
        m = b["metrics"]
        assert row["source_format"] == "guidellm" and row["source_tool_version"] == doc["metadata"]["guidellm_version"]
        assert row["concurrency"] == b["config"]["strategy"]["streams"] and row["load_mode"] == "concurrency"
        assert row["num_prompts"] == m["request_totals"]["total"] and row["failed"] == m["request_totals"]["errored"]
        assert row["elapsed_s"] == b["duration"]
        assert row["input_tokens"] == ok_part(m["prompt_token_count"])["total_sum"]
        assert row["output_tokens"] == ok_part(m["output_token_count"])["total_sum"]
        assert row["input_len"] == ok_part(m["prompt_token_count"])["mean"]
        assert row["input_len_max"] == ok_part(m["prompt_token_count"])["max"]
        # GuideLLM's ITL is counted once per token: its mean is bench's pooled ITL mean
        assert row["itl_mean_ms"] == ok_part(m["inter_token_latency_ms"])["mean"]
        assert row["api_model"] == doc["config"]["spec"]["backend"]["model"] == "tiny-qwen2-dummy"
        assert row["endpoint"] == doc["config"]["spec"]["backend"]["target"]
        # every successful request is kept: TTFT, TPOT, E2E and throughput are recomputed by bench
        reqs = b["requests"]["successful"]
        assert row["recomputed_from"] == len(reqs) == m["request_totals"]["successful"] == row["completed"]
        t = [r["info"]["timings"] for r in reqs]
        ttfts = [1000 * (x["first_token_iteration"] - x["request_start"]) for x in t]
        e2es = [1000 * (x["last_token_iteration"] - x["request_start"]) for x in t]  # to the last token
        assert row["ttft_p50_ms"] == pytest.approx(percentile(ttfts, 50))
        assert row["e2e_p99_ms"] == pytest.approx(percentile(e2es, 99))
        tpots = [1000 * (x["last_token_iteration"] - x["first_token_iteration"]) /
                 (r["output_metrics"]["total_tokens"] - 1) for x, r in zip(t, reqs)]
        assert row["tpot_mean_ms"] == pytest.approx(sum(tpots) / len(tpots))
        # GuideLLM's own mean TTFT is the same mean of the same values
        assert row["ttft_mean_ms"] == pytest.approx(ok_part(m["time_to_first_token_ms"])["mean"], rel=1e-9)
        assert row["output_tok_s"] == pytest.approx(row["output_tokens"] / b["duration"])
        assert row["output_tok_s"] == pytest.approx(ok_part(m["output_tokens_per_second"])["mean"], rel=1e-6)
        # the tool's own summary is kept beside: its medians are taken at a sample, bench's interpolated
        if "ttft_p50_ms" in (row.get("tool_disagreement") or ""):
            assert f"guidellm {ok_part(m['time_to_first_token_ms'])['percentiles']['p50']:.4g}" in \
                row["tool_disagreement"]


def test_aiperf_gpu_telemetry_names_the_card_its_count_and_power():
    """AIPerf's GPU block (here built by AIPerf's own models: no GPU on the machine that made the files)."""
    doc = json.loads((DATA / "aiperf-telemetry" / "profile_export_aiperf.json").read_text())
    row = one_row(DATA / "aiperf-telemetry" / "profile_export_aiperf.json", Given(model="qwen2.5-7b-instruct"))
    gpus = list(doc["telemetry_data"]["endpoints"].values())[0]["gpus"].values()
    assert {g["gpu_name"] for g in gpus} == {"NVIDIA H100 80GB HBM3"}
    assert row["hardware"] == "H100-SXM" and row["device_name"] == "NVIDIA H100 80GB HBM3"  # as NVML names it
    assert row["gpu_count"] == len(gpus) == 2 and row["given_columns"] == "model"  # the card and count: measured
    assert row["avg_power_w"] == sum(g["metrics"]["nvidia_power_usage"]["avg"] for g in gpus)  # 312.5 + 287.5 W
    assert row["gpu_util_pct"] == sum(g["metrics"]["nvidia_gpu_utilization"]["avg"] for g in gpus) / 2  # 70 %
    from bench.cost.pricing import CostOptions, self_cost

    mine = self_cost(row, CostOptions(basis="owned"))  # measured power, not 2 x TDP, on the owned basis
    assert mine.gpu_count == 2 and mine.power_w == 600.0 and mine.power_source == "measured"
    # the GPU the file names and a --gpus that says otherwise: refused
    with pytest.raises(Exception, match="ran on 2 GPU\\(s\\); --gpus 1 says otherwise"):
        import_file(DATA / "aiperf-telemetry" / "profile_export_aiperf.json", Given(gpus=1))


def test_a_benchmark_report_reads_the_same_from_json(tmp_path):
    source = sorted((DATA / "inference-perf").glob("*.yaml"))[0]
    as_json = tmp_path / "report.json"
    as_json.write_text(json.dumps(yaml.safe_load(source.read_text())))
    from_yaml, from_json = one_row(source), one_row(as_json)
    assert from_json["source_format"] == "br0.2" and from_json["source_sha256"] != from_yaml["source_sha256"]
    differ = {"source_file", "source_sha256", "run_id", "config_hash"}  # the file's own identity
    assert {k: v for k, v in from_json.items() if k not in differ} == \
        {k: v for k, v in from_yaml.items() if k not in differ}
