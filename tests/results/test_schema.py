"""The declared schema (bench/results/schema.py) and the two row constructors that must honour it
(bench/results/record.py): every column a writer declares is filled, nothing undeclared is written,
and what compare, report and the docs say about a column comes from its declaration."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from bench.analysis import compare
from bench.analysis.report import model as report_model
from bench.config import run as runconfig
from bench.config import serve as serveconfig
from bench.serve import resolve as serveresolve
from bench.measure.metrics import RequestResult, compute_metrics
from bench.measure.streaming import Slo, StreamedRequest, compute_serve_metrics
from bench.results import schema, schema_doc, store, upgrade
from bench.execution import record
from bench.config.serve import Level

REPO = Path(__file__).resolve().parents[2]
WHEN = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
ENV = {"git_sha": "abc123", "cpu_model": "Test CPU", "hostname": "host"}

# Schema version 1, the interface files of 2026 were written with: its order must never change.
V1 = ("schema_version run_id timestamp model engine device device_name weights dtype kv_cache_dtype tensor_parallel_size "
      "input_len output_len num_prompts max_num_seqs input_tokens output_tokens elapsed_s requests_per_s input_tok_s "
      "output_tok_s total_tok_s ttft_p50_ms ttft_p99_ms tpot_p50_ms tpot_p99_ms kv_block_size kv_num_blocks "
      "kv_capacity_tokens kv_bytes_per_token kv_bytes_per_token_analytic peak_memory_gb vllm_version torch_version "
      "git_sha config_hash status error hub_id architecture max_model_len pipeline_parallel_size length_dist seed "
      "ttft_mean_ms tpot_mean_ms e2e_p50_ms e2e_p99_ms completed failed kv_cache_gb peak_memory_source engine_start_s "
      "warmup_s gpu_count driver_version cpu_model hostname config_sha hardware cost_basis gpu_cny_per_hour "
      "fx_cny_per_usd cost_mix cny_per_m_input cny_per_m_output cny_per_m_blended cny_per_m_total tokens_per_cny "
      "roofline_output_tok_s efficiency sweep_id endpoint api_model load_mode request_rate burstiness concurrency "
      "ttft_p90_ms itl_mean_ms itl_p50_ms itl_p99_ms e2e_mean_ms goodput_req_s slo_ttft_ms slo_tpot_ms slo_attainment "
      "meets_slo mean_concurrency unsent warmup_requests client_overhead_per_token_ms client_loop_lag_p50_ms "
      "client_overhead_pct_itl server_kv_cache_usage_max server_running_max server_waiting_max server_preemptions "
      "energy_j avg_power_w joules_per_output_token gpu_util_pct energy_source").split()


V3_ADDED = ["tokens_per_cny_blended", "gpu_price_source", "gpu_price_date", "fx_date", "prefill_s", "decode_s",
            "split_method"]
# Version 4 (issues 13-18): appended after version 3's columns, in this order.
V4_ADDED = ["energy_note", "predicted_output_tok_s", "predicted_ttft_p50_ms", "predicted_ttft_p99_ms",
            "predicted_tpot_p50_ms", "predicted_tpot_p99_ms", "predicted_band_low_tok_s", "predicted_band_high_tok_s",
            "prediction_calibration", "tokens_per_chunk_max", "tokens_per_chunk_mean", "tpot_unmeasured", "dataset",
            "dataset_file", "dataset_sha256", "dataset_skipped", "input_len_p50", "input_len_p99", "input_len_max",
            "output_len_p50", "output_len_p99", "output_len_max", "prefix_caching", "cached_prompt_tokens",
            "prefix_cache_hit_rate", "cny_per_m_input_uncached"]
# Version 5 (speculative decoding): appended after version 4's columns, in this order.
# Version 5: a serving level's failures by class and its rule, then speculative decoding.
V5_FAILURES = ["max_failure_rate", "failure_rate", "errors_http", "rate_limited", "errors_connection",
               "errors_timeout", "errors_stream", "cancelled", "usage_mismatch"]
V5_SPEC = ["spec_method", "spec_draft_tokens", "spec_acceptance_rate", "spec_tokens_per_step", "spec_source"]
V5_ADDED = V5_FAILURES + V5_SPEC
ALL = V1 + ["engine_version"] + V3_ADDED + V4_ADDED + V5_ADDED


# Version 6: repeats and honest percentiles, appended after version 5's columns, in this order.
V6_ADDED = ["repeat_index", "ttft_samples", "tpot_samples", "e2e_samples", "ttft_p99_reliable", "tpot_p99_reliable",
            "e2e_p99_reliable", "ttft_p99_bound_ms", "tpot_p99_bound_ms", "itl_samples"]
ALL = ALL + V6_ADDED
# Version 7: the source of rows read from other tools' files (bench.interop), after version 6's.
V7_ADDED = ["source_format", "source_tool", "source_tool_version", "source_file", "source_sha256", "source_benchmark",
            "given_columns", "recomputed_from", "tool_disagreement"]
ALL = ALL + V7_ADDED
# Version 8: the max-load search, the steady-state window, energy per token of any kind on serve rows.
V8_ADDED = ["search_step", "search_passed", "slo_boundary", "steady_start_s", "steady_end_s", "steady_output_tok_s",
            "steady_total_tok_s", "steady_requests_per_s", "joules_per_total_token", "energy_coverage",
            # the simulated server's capacity (bench serve --engine sim)
            "predicted_capacity_req_s"]
ALL = ALL + V8_ADDED
# Version 9: what else the machine did over the timed work (bench.measure.hostload).
V9_ADDED = ["host_other_cpu_pct", "host_steal_pct"]
ALL = ALL + V9_ADDED
# Version 10: the simulated server's latencies at the edges of its calibration's band.
V10_ADDED = ["predicted_band_low_ttft_p99_ms", "predicted_band_high_ttft_p99_ms", "predicted_band_low_tpot_p99_ms",
             "predicted_band_high_tpot_p99_ms"]
ALL = ALL + V10_ADDED


def test_version_10_is_version_4_plus_failures_speculative_decoding_repeats_sources_search_host_then_bands():
    assert schema.SCHEMA_VERSION == 10 and store.SCHEMA_VERSION == 10
    assert schema.COLUMNS == ALL
    assert store.COLUMNS is schema.COLUMNS


def test_every_figure_of_merit_has_a_direction_and_a_unit():
    for c in schema.DECLARED:
        if c.better is not None:
            assert c.unit, c.name
    d = schema.directions()
    assert d["output_tok_s"] == schema.HIGHER and d["ttft_p99_ms"] == schema.LOWER
    assert d["cny_per_m_blended"] == schema.LOWER and d["tokens_per_cny"] == schema.HIGHER
    assert "model" not in d and "engine_version" not in d


# --- the offline row -----------------------------------------------------------------------------------

def _offline_out(status="ok"):
    """A worker's JSON for 3 requests on an H100: TTFT 0.1/0.2/0.3 s, E2E 1/2/4 s, 16 output tokens each."""
    reqs = [RequestResult(prompt_len=32, output_len=16, ttft_s=t, tpot_s=(e - t) / 15, e2e_s=e)
            for t, e in ((0.1, 1.0), (0.2, 2.0), (0.3, 4.0))]
    if status != "ok":
        return {"status": status, "error": "RuntimeError: boom\n  at line 3", "engine_version": "9.9.9"}
    return {
        "status": "ok", "error": "",
        "metrics": compute_metrics(reqs, 4.0).to_dict(),
        "kv": {"block_size": 16, "num_blocks": 1000, "capacity_tokens": 16000, "allocated_bytes": 32_768_000,
               "bytes_per_token": 2048.0},
        "engine_info": {"device": "cuda", "device_name": "NVIDIA H100 80GB HBM3", "vllm_version": "0.24.0",
                        "engine_version": "0.24.0", "torch_version": "2.9.0", "max_num_seqs": 4,
                        "max_num_batched_tokens": 8192},
        "gpu_env": {"gpu_count": 8, "driver_version": "570.86", "device_name": "NVIDIA H100 80GB HBM3"},
        "peak_memory_bytes": 70e9, "peak_memory_source": "nvml", "engine_start_s": 30.0, "warmup_s": 1.5,
        "telemetry": {"energy_j": 2800.0, "avg_power_w": 700.0, "gpu_util_pct": 90.0, "energy_source": "nvml-counter"},
        "host_load": {"host_other_cpu_pct": 1.5, "host_steal_pct": 0.25},
        "requests": [r.to_dict() for r in reqs],
    }


def _case(**over):
    fields = {"model": "tiny-qwen2", "num_prompts": 3, "input_len": 32, "output_len": 16, "max_num_seqs": 4,
              "hardware": "H100-SXM", **over}
    return runconfig.resolve(runconfig.parse(fields))


def _unfilled(row, writer, allowed):
    return [c.name for c in schema.columns_of(writer) if c.filled in allowed and row[c.name] in (None, "")
            and not (c.name in ("error",) and row["status"] == "ok")]


def test_an_ok_offline_row_fills_every_column_it_declares_with_the_hand_computed_values():
    cfg, model = _case()
    row = record.offline_row(run_id="r1", when=WHEN, cfg=cfg, model=model, weights="dummy", out=_offline_out(),
                             env=ENV)
    assert list(row) == list(schema.names_of(schema.RUN))  # CSV order, exactly the declared columns
    assert _unfilled(row, schema.RUN, ("always", "ok")) == []
    # the two metrics offline rows gained in schema 2, by hand: E2E (1000 + 2000 + 4000) / 3 ms;
    # TTFT p90 of 100, 200, 300 ms by linear interpolation: position 0.9 x 2 = 1.8 -> 200 + 0.8 x 100
    assert row["e2e_mean_ms"] == pytest.approx(7000 / 3)
    assert row["ttft_p90_ms"] == pytest.approx(280.0)
    assert row["engine_version"] == "0.24.0" and row["schema_version"] == 10
    assert row["output_tok_s"] == pytest.approx(48 / 4.0)  # 3 x 16 tokens over 4 s
    assert row["kv_cache_gb"] == pytest.approx(0.032768) and row["peak_memory_gb"] == pytest.approx(70.0)
    assert row["joules_per_output_token"] == pytest.approx(2800.0 / 48)
    assert row["joules_per_total_token"] == pytest.approx(2800.0 / (3 * 32 + 48))  # 96 prompt + 48 output tokens
    assert row["cost_basis"] == "rental" and row["cny_per_m_total"] > 0  # priced on H100-SXM
    assert row["efficiency"] is not None and row["roofline_output_tok_s"] > 0
    assert "sweep_id" not in row and "itl_p50_ms" not in row
    assert row["host_other_cpu_pct"] == 1.5 and row["host_steal_pct"] == 0.25  # the worker's bench.measure.hostload


@pytest.mark.parametrize("status", ["failed", "timeout", "interrupted"])
def test_a_failed_offline_row_still_fills_its_always_columns(status):
    cfg, model = _case()
    row = record.offline_row(run_id="r2", when=WHEN, cfg=cfg, model=model, weights="dummy",
                             out=_offline_out(status), env=ENV)
    assert _unfilled(row, schema.RUN, ("always",)) == []
    assert row["status"] == status and row["error"] == "RuntimeError: boom at line 3"  # one line
    assert row["engine_version"] == "9.9.9"  # the worker's own report, before the engine failed
    assert row["output_tok_s"] is None and row["cny_per_m_total"] is None


def test_engine_version_without_a_report_comes_from_the_registry():
    cfg, model = _case(engine="sim")
    row = record.offline_row(run_id="r3", when=WHEN, cfg=cfg, model=model, weights="dummy",
                             out={"status": "failed", "error": "died"}, env=ENV)
    assert row["engine_version"] == "roofline-3"


# --- the serve row -------------------------------------------------------------------------------------

def _streamed(i, ttft, e2e, tokens=8):
    r = StreamedRequest(prompt_len=32, output_len=tokens, ttft_s=ttft, e2e_s=e2e, success=True, index=i,
                        output_len_asked=tokens, start_s=i * 0.5, end_s=i * 0.5 + e2e,
                        itl_s=[(e2e - ttft) / (tokens - 1)] * (tokens - 1), chunks=tokens, client_overhead_s=0.0008)
    r.finish()
    return r


def _serve(**over):
    fields = {"model": "tiny-qwen2", "num_prompts": 2, "input_len": 32, "output_len": 8, "hardware": "H100-SXM",
              "concurrencies": [2], "slo_ttft_ms": 150, "slo_tpot_ms": 100, **over}
    cfg, model, _ = serveresolve.resolve(serveconfig.parse(fields))
    return cfg, model


def test_a_serve_row_fills_every_column_it_declares():
    cfg, model = _serve()
    records = [_streamed(0, 0.1, 0.8), _streamed(1, 0.2, 1.6)]
    metrics = compute_serve_metrics(records, 2.0, Slo(150.0, 100.0), loop_lag_s=[0.0001, 0.0002])
    server = {"server_kv_cache_usage_max": 0.4, "server_running_max": 2, "server_waiting_max": 0,
              "server_preemptions": 0}
    row = record.serve_row(run_id="s1", sweep_id="sw", when=WHEN, cfg=cfg, model=model, level=Level("concurrency", 2),
                           weights="dummy", engine="vllm-server", endpoint_url="", api_model="tiny-qwen2",
                           metrics=metrics, server=server, facts={"device": "cpu", "vllm_version": "0.32.0"},
                           env=ENV, status="ok", error="", engine_start_s=20.0, peak_memory=(3e9, "rss"))
    assert list(row) == list(schema.names_of(schema.SERVE))
    assert _unfilled(row, schema.SERVE, ("always", "ok")) == []
    assert row["engine_version"] == "0.32.0" and row["concurrency"] == 2 and row["request_rate"] is None
    assert row["e2e_mean_ms"] == pytest.approx(1200.0) and row["ttft_p90_ms"] == pytest.approx(190.0)
    # only the first request meets TTFT <= 150 ms: goodput 1 request / 2 s
    assert row["goodput_req_s"] == pytest.approx(0.5) and row["meets_slo"] is False
    assert row["cny_per_m_total"] > 0 and "kv_block_size" not in row and "prefill_s" not in row
    assert row["energy_j"] is None  # serve rows carry the energy columns; no GPU sampled here


def test_an_endpoint_that_says_nothing_of_its_version_is_recorded_as_unknown():
    cfg, model = _serve()
    row = record.serve_row(run_id="s2", sweep_id="sw", when=WHEN, cfg=cfg, model=model, level=Level("rate", 4.0),
                           weights="dummy", engine="openai-endpoint", endpoint_url="https://x/v1", api_model="m",
                           metrics={}, server={}, facts={}, env=ENV, status="failed", error="refused",
                           engine_start_s=None, peak_memory=(None, ""))
    assert _unfilled(row, schema.SERVE, ("always",)) == []
    assert row["engine_version"] == "unknown" and row["request_rate"] == 4.0 and row["burstiness"] == 1.0


# --- completeness is enforced, and declaring a column is all a new metric needs ------------------------

def test_a_row_missing_or_adding_a_column_is_refused():
    values = {c: 1 for c in schema.names_of(schema.RUN, "")}
    sources = {s: {} for s in ("metrics", "cost", "energy", "roofline", "workload", "host")}
    assert list(record.complete(schema.RUN, values, sources)) == list(schema.names_of(schema.RUN))
    with pytest.raises(record.IncompleteRow, match=r"unfilled \['warmup_s'\]"):
        record.complete(schema.RUN, {k: v for k, v in values.items() if k != "warmup_s"}, sources)
    with pytest.raises(record.IncompleteRow, match=r"undeclared \['tokens_per_joule'\]"):
        record.complete(schema.RUN, {**values, "tokens_per_joule": 3}, sources)
    with pytest.raises(record.IncompleteRow, match=r"not a number in a numeric column: output_tok_s='fast'"):
        record.complete(schema.RUN, values, {**sources, "metrics": {"output_tok_s": "fast"}})
    with pytest.raises(record.IncompleteRow, match=r"warmup_s=True"):
        record.complete(schema.RUN, {**values, "warmup_s": True}, sources)


def test_a_declared_metric_column_reaches_both_kinds_of_row(monkeypatch):
    new = schema.Column("prefill_share", "latency", "", "test metric", schema.BOTH, source="metrics")
    monkeypatch.setattr(schema, "DECLARED", schema.DECLARED + (new,))
    cfg, model = _case()
    out = _offline_out()
    out["metrics"]["prefill_share"] = 0.25
    row = record.offline_row(run_id="r", when=WHEN, cfg=cfg, model=model, weights="dummy", out=out, env=ENV)
    assert row["prefill_share"] == 0.25
    scfg, smodel = _serve()
    srow = record.serve_row(run_id="s", sweep_id="sw", when=WHEN, cfg=scfg, model=smodel,
                            level=Level("concurrency", 1), weights="dummy", engine="vllm-server", endpoint_url="",
                            api_model="m", metrics={"prefill_share": 0.5}, server={}, facts={}, env=ENV,
                            status="ok", error="", engine_start_s=None, peak_memory=(None, ""))
    assert srow["prefill_share"] == 0.5


# --- what other modules say about columns comes from the declarations ---------------------------------

def test_compare_and_report_name_only_declared_columns_and_take_directions_from_them():
    declared = set(schema.COLUMNS)
    for names in (compare.DEFAULT_KEY, compare.DEFAULT_METRICS, compare.ENV_COLUMNS, compare.LOAD_COLUMNS):
        assert set(names) <= declared, set(names) - declared
    for c in schema.DECLARED:
        if c.better is not None:
            assert compare.direction(c.name) == c.better, c.name
    assert all(compare.direction(m) is not None for m in compare.DEFAULT_METRICS)
    assert dict(report_model.LOAD_COLUMNS) == {"request_rate": "request rate (requests/s)",
                                               "concurrency": "concurrent requests"}
    assert report_model.BATCH_LABEL == "batch size cap (max_num_seqs)"


def test_docs_schema_md_holds_the_generated_table():
    text = (REPO / "docs" / "schema.md").read_text()
    for block in schema_doc.blocks():  # the title, the versions table, the columns table
        assert block in text, "regenerate: python -m bench.results.schema_doc --write (see docs/schema.md)"
    assert schema_doc.rewritten(text) == text


def test_readme_lists_every_column_group():
    text = (REPO / "README.md").read_text()
    assert schema_doc.group_table() in text, "README's schema table is schema_doc.group_table(); paste it again"


# --- files of schema 1 ---------------------------------------------------------------------------------

def _v1_file(path: Path) -> bytes:
    rows = [{**{c: f"{c}-{i}" for c in V1}, "schema_version": "1", "engine": engine, "vllm_version": vv,
             "status": "ok", "config_hash": f"k{i}"}
            for i, (engine, vv) in enumerate((("vllm", "0.6.3"), ("hf", ""), ("vllm-server", "0.7.0")))]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=V1, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path.read_bytes()


def test_a_v1_file_reads_as_v5_losing_no_cell(tmp_path):
    path = tmp_path / "old.csv"
    original = _v1_file(path)
    header, rows = store.read_results(path)
    assert header == ALL
    assert path.read_bytes() == original  # reading never writes
    before = list(csv.DictReader(original.decode().splitlines()))
    for old, new in zip(before, rows):
        assert {k: v for k, v in new.items() if k not in ["schema_version", "engine_version"] + ALL[len(V1) + 1:]} \
            == {k: v for k, v in old.items() if k != "schema_version"}
    assert [r["schema_version"] for r in rows] == ["10"] * 3
    assert [r["repeat_index"] for r in rows] == ["0"] * 3  # an old row is its case's only run
    assert [r["engine_version"] for r in rows] == ["0.6.3", "", "0.7.0"]  # vLLM rows knew it; hf rows did not


def test_appending_to_a_v1_file_upgrades_it_keeping_the_original(tmp_path, capsys):
    path = tmp_path / "old.csv"
    original = _v1_file(path)
    cfg, model = _case()
    row = record.offline_row(run_id="new", when=WHEN, cfg=cfg, model=model, weights="dummy", out=_offline_out(),
                             env=ENV)
    store.append_row(path, row)
    assert (tmp_path / "old.csv.schema1").read_bytes() == original
    assert "upgraded to schema version 10" in capsys.readouterr().err
    header, rows = store.read_results(path)
    assert header == schema.COLUMNS and [r["run_id"] for r in rows] == ["run_id-0", "run_id-1", "run_id-2", "new"]
    assert {r["schema_version"] for r in rows} == {"10"} and rows[0]["tpot_p99_ms"] == "tpot_p99_ms-0"
    assert store.ok_keys(path) == {"k0", "k1", "k2", row["config_hash"]}  # --resume still sees the old cases


def test_a_newer_schema_is_refused_by_readers_and_writers(tmp_path):
    from bench.core.errors import BenchError

    path = tmp_path / "future.csv"
    path.write_text("schema_version,run_id\n11,x\n")
    with pytest.raises(BenchError, match="schema version 11"):
        store.read_results(path)
    with pytest.raises(BenchError, match="schema version 11"):
        store.check_appendable(path)
    assert upgrade.readable_versions() == "1, 2, 3, 4, 5, 6, 7, 8, 9, 10"


def test_a_v2_row_gains_the_price_columns_its_cells_imply():
    v2 = {c: "" for c in V1 + ["engine_version"]}
    v2.update(schema_version="2", run_id="old", cny_per_m_blended="0.8", engine_version="0.32.0")
    header, (row,) = upgrade.upgrade(V1 + ["engine_version"], [v2])
    assert header == ALL
    assert row["schema_version"] == "10" and row["engine_version"] == "0.32.0"
    assert float(row["tokens_per_cny_blended"]) == pytest.approx(1_250_000)  # 1e6 / 0.8 CNY per M
    assert row["prefill_s"] == row["split_method"] == row["gpu_price_source"] == ""


def test_a_v1_file_reads_as_a_frame_through_the_same_upgrade(tmp_path):
    path = tmp_path / "old.csv"
    original = _v1_file(path)
    header, frame = store.read_frame(path)
    assert path.read_bytes() == original
    assert header == ALL and list(frame.columns) == header
    assert list(frame.schema_version) == ["10"] * 3
    assert list(frame.engine_version) == ["0.6.3", "", "0.7.0"]  # as read_results: vLLM rows knew it
    assert list(frame.tpot_p99_ms) == ["tpot_p99_ms-0", "tpot_p99_ms-1", "tpot_p99_ms-2"]  # no cell lost


def test_a_v3_row_gains_the_version_4_columns_and_keeps_every_cell():
    v3 = {c: f"{c}-x" for c in V1 + ["engine_version"] + V3_ADDED}
    v3.update(schema_version="3")
    header, (row,) = upgrade.upgrade(V1 + ["engine_version"] + V3_ADDED, [v3])
    assert header == schema.COLUMNS == ALL
    assert row["schema_version"] == "10"
    assert {k: row[k] for k in v3 if k != "schema_version"} == {k: v for k, v in v3.items() if k != "schema_version"}
    # a v3 row ran the random workload (bench had no other); nothing measured then is invented now: an engine other
    # than vLLM's has no prefix_caching, lengths other than fixed have no known percentiles
    assert row["dataset"] == "random"
    assert all(row[c] == "" for c in V4_ADDED + V5_ADDED if c != "dataset")
    assert row["repeat_index"] == "0" and all(row[c] == "" for c in V6_ADDED[1:] + V7_ADDED + V8_ADDED + V9_ADDED)


def test_a_v3_vllm_row_of_fixed_lengths_gains_what_its_meaning_fixes():
    v3 = {c: "" for c in V1 + ["engine_version"] + V3_ADDED}
    v3.update(schema_version="3", engine="vllm-server", length_dist="fixed", input_len="128", output_len="64")
    _, (row,) = upgrade.upgrade(list(v3), [v3])
    # vLLM ran with prefix caching off then; fixed lengths: every request 128 in / 64 out
    assert (row["dataset"], row["prefix_caching"]) == ("random", "off")
    assert [row[f"input_len_{s}"] for s in ("p50", "p99", "max")] == ["128"] * 3
    assert [row[f"output_len_{s}"] for s in ("p50", "p99", "max")] == ["64"] * 3
    assert row["dataset_file"] == row["dataset_sha256"] == row["dataset_skipped"] == row["tokens_per_chunk_max"] == ""


def test_a_v4_row_gains_the_speculative_columns_empty_and_keeps_every_cell():
    """A version-4 row ran without speculative decoding (bench had no such option): its spec_* cells stay empty, as
    a row of this version without --speculative-config has them."""
    v4 = {c: f"{c}-x" for c in V1 + ["engine_version"] + V3_ADDED + V4_ADDED}
    v4.update(schema_version="4")
    header, (row,) = upgrade.upgrade(V1 + ["engine_version"] + V3_ADDED + V4_ADDED, [v4])
    later = len(V6_ADDED) + len(V7_ADDED) + len(V8_ADDED) + len(V9_ADDED) + len(V10_ADDED)
    assert header == schema.COLUMNS and header[-later - 5:-later] == V5_SPEC
    assert row["schema_version"] == "10"
    assert {k: row[k] for k in v4 if k != "schema_version"} == {k: v for k, v in v4.items() if k != "schema_version"}
    assert all(row[c] == "" for c in V5_ADDED)


def test_a_v6_row_gains_the_source_columns_empty_and_keeps_every_cell():
    v6_columns = ALL[:-len(V7_ADDED) - len(V8_ADDED) - len(V9_ADDED) - len(V10_ADDED)]
    v6 = {c: f"{c}-x" for c in v6_columns}
    v6.update(schema_version="6")
    header, (row,) = upgrade.upgrade(v6_columns, [v6])
    assert header == schema.COLUMNS and row["schema_version"] == "10"
    assert {k: row[k] for k in v6 if k != "schema_version"} == {k: v for k, v in v6.items() if k != "schema_version"}
    assert all(row[c] == "" for c in V7_ADDED)  # bench wrote the row itself: no other tool's source
    assert all(row[c] == "" for c in V8_ADDED + V9_ADDED + V10_ADDED)  # and it ran no search, nor said what else ran


def test_a_v7_row_gains_the_version_8_columns_empty_and_keeps_every_cell():
    """A version-7 row ran no search and was never a simulated server's (bench serve had no --engine sim)."""
    v7 = {c: f"{c}-x" for c in ALL[:-len(V8_ADDED) - len(V9_ADDED) - len(V10_ADDED)]}
    v7.update(schema_version="7")
    header, (row,) = upgrade.upgrade(ALL[:-len(V8_ADDED) - len(V9_ADDED) - len(V10_ADDED)], [v7])
    assert header == schema.COLUMNS and row["schema_version"] == "10"
    assert {k: row[k] for k in v7 if k != "schema_version"} == {k: v for k, v in v7.items() if k != "schema_version"}
    assert all(row[c] == "" for c in V8_ADDED + V9_ADDED + V10_ADDED)


def test_a_v8_row_gains_the_host_columns_empty_and_keeps_every_cell():
    """A version-8 row did not say what else the machine ran: its host columns stay empty, never 0 (a quiet machine
    would read 0; unknown is not quiet)."""
    v8 = {c: f"{c}-x" for c in ALL[:-len(V9_ADDED) - len(V10_ADDED)]}
    v8.update(schema_version="8")
    header, (row,) = upgrade.upgrade(ALL[:-len(V9_ADDED) - len(V10_ADDED)], [v8])
    assert header == schema.COLUMNS and row["schema_version"] == "10"
    assert {k: row[k] for k in v8 if k != "schema_version"} == {k: v for k, v in v8.items() if k != "schema_version"}
    assert row["host_other_cpu_pct"] == row["host_steal_pct"] == ""


def test_a_v9_row_gains_the_band_latencies_empty_and_keeps_every_cell():
    """A version-9 row (measured, or predicted before the band's latencies) has none: they stay empty."""
    v9 = {c: f"{c}-x" for c in ALL[:-len(V10_ADDED)]}
    v9.update(schema_version="9")
    header, (row,) = upgrade.upgrade(ALL[:-len(V10_ADDED)], [v9])
    assert header == schema.COLUMNS and row["schema_version"] == "10"
    assert {k: row[k] for k in v9 if k != "schema_version"} == {k: v for k, v in v9.items() if k != "schema_version"}
    assert all(row[c] == "" for c in V10_ADDED)


# --- the version and the upgrade, derived from each column's `since` -----------------------------------------

def test_the_version_is_the_newest_columns_since():
    assert schema.SCHEMA_VERSION == max(c.since for c in schema.DECLARED) == 10
    added = schema.added_by_version()
    assert list(added) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert list(added[1]) == V1 and added[2] == ("engine_version",)
    assert list(added[3]) == V3_ADDED and list(added[4]) == V4_ADDED and list(added[5]) == V5_ADDED
    assert list(added[6]) == V6_ADDED and list(added[7]) == V7_ADDED and list(added[8]) == V8_ADDED
    assert list(added[9]) == V9_ADDED and list(added[10]) == V10_ADDED
    assert upgrade.CURRENT.added == {2: ("engine_version",), 3: tuple(V3_ADDED), 4: tuple(V4_ADDED),
                                     5: tuple(V5_ADDED), 6: tuple(V6_ADDED), 7: tuple(V7_ADDED),
                                     8: tuple(V8_ADDED), 9: tuple(V9_ADDED), 10: tuple(V10_ADDED)}
    assert "version 5" not in schema.BY_NAME["schema_version"].meaning  # no number to drift: it is derived


def _with_a_version_11_column():
    new = schema.Column("widgets_per_s", "throughput", "widgets/s", "widgets a second (a test's column)",
                        better=schema.HIGHER, since=schema.SCHEMA_VERSION + 1)
    return (*schema.DECLARED, new)


def test_a_column_declared_with_the_next_since_makes_the_next_version():
    declared = _with_a_version_11_column()
    assert schema.version_of(declared) == 11 and schema.added_by_version(declared)[11] == ("widgets_per_s",)
    ten = upgrade.Upgrade(declared)
    assert ten.version == 11 and ten.added[11] == ("widgets_per_s",)
    assert ten.readable_versions() == "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"
    assert ten.can_upgrade("10") and not ten.can_upgrade("11") and not upgrade.can_upgrade("10")
    # a file this bench writes (version 10) is an older file there: it gains the column, empty, and loses no cell
    v10 = {c: f"{c}-x" for c in schema.COLUMNS}
    v10.update(schema_version="10")
    header, (row,) = ten.upgrade(schema.COLUMNS, [v10])
    assert header == schema.COLUMNS + ["widgets_per_s"]
    assert row["schema_version"] == "11" and row["widgets_per_s"] == ""
    assert {k: row[k] for k in v10 if k != "schema_version"} == {k: v for k, v in v10.items() if k != "schema_version"}
    # a version-1 row takes every step: version 2's rule still fills engine_version from vllm_version
    v1 = {c: "" for c in V1}
    v1.update(schema_version="1", engine="vllm", vllm_version="0.6.3")
    (lifted,) = ten.upgrade(V1, [v1])[1]
    assert lifted["schema_version"] == "11" and lifted["engine_version"] == "0.6.3" and lifted["widgets_per_s"] == ""
    # and the versions table of docs/schema.md gains its line
    assert "| 11 | `widgets_per_s` |  | every added column empty" in schema_doc.versions_table(declared)


@pytest.mark.parametrize("since, message", [
    (1, "since=1 after a column of version 10; a new column goes at the end with since=11"),  # since forgotten
    (12, "no column arrived in version 11"),  # a version skipped
])
def test_a_column_at_the_end_must_arrive_in_the_next_version(since, message):
    late = schema.Column("widgets_per_s", "throughput", "widgets/s", "a test's column", since=since)
    with pytest.raises(ValueError, match=message):
        schema.check((*schema.DECLARED, late))
    with pytest.raises(ValueError, match=message):
        upgrade.Upgrade((*schema.DECLARED, late))


def test_a_column_between_older_ones_is_refused():
    early = schema.Column("widgets_per_s", "throughput", "widgets/s", "a test's column", since=7)
    with pytest.raises(ValueError, match="column engine_version: since=2 after a column of version 7"):
        schema.check((*schema.DECLARED[:103], early, *schema.DECLARED[103:]))


def test_kinds_default_by_unit_and_are_checked():
    assert schema.BY_NAME["output_tok_s"].kind == "number" and schema.BY_NAME["model"].kind == "text"
    assert schema.BY_NAME["max_num_seqs"].kind == "int" and schema.BY_NAME["meets_slo"].kind == "bool"
    # an unbounded rate, and a TTFT the band's slow edge would leave unbounded
    assert [c.name for c in schema.DECLARED if c.inf] == ["request_rate", "predicted_band_low_ttft_p99_ms",
                                                          "predicted_band_high_ttft_p99_ms"]
    with pytest.raises(ValueError, match="kind must be one of text, number, int, bool"):
        schema.check((*schema.DECLARED, schema.Column("x", "g", "", "m", kind="float", since=schema.SCHEMA_VERSION)))
