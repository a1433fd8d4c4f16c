"""bench.roofline.distributions (the CPU check of scripts/validate_prediction.py): predicted distributions
computed as the measured ones are, medians of repeats."""

from __future__ import annotations

import math
import re

import pytest

from bench.roofline import distributions
from result_rows import write_rows


def test_predicted_distribution_interpolates_like_the_measured_rows():
    # TTFT 0.1, 0.2, 0.3, 0.4, 0.5 s -> 100..500 ms. p50: rank (5-1) x 0.5 = 2 -> 300 ms. p90: rank 3.6 ->
    # 400 + 0.6 x 100 = 460 ms. p99: rank 3.96 -> 400 + 0.96 x 100 = 496 ms.
    # TPOT 0.01, 0.03, nan, 0.02, 0.04 s: the nan (one output token) left out -> 10, 20, 30, 40 ms. p50: rank 1.5
    # -> 20 + 0.5 x 10 = 25 ms. p99: rank 2.97 -> 30 + 0.97 x 10 = 39.7 ms.
    d = distributions.predicted_distribution_ms([0.1, 0.2, 0.3, 0.4, 0.5], [0.01, 0.03, math.nan, 0.02, 0.04])
    assert list(d) == list(distributions.DISTRIBUTION)
    assert d["ttft_p50_ms"] == pytest.approx(300.0)
    assert d["ttft_p90_ms"] == pytest.approx(460.0)
    assert d["ttft_p99_ms"] == pytest.approx(496.0)
    assert d["tpot_p50_ms"] == pytest.approx(25.0)
    assert d["tpot_p99_ms"] == pytest.approx(39.7)


def test_no_tpot_when_every_request_has_one_token():
    d = distributions.predicted_distribution_ms([0.1, 0.2], [math.nan, math.nan])
    assert d["tpot_p50_ms"] is None and d["ttft_p50_ms"] == pytest.approx(150.0)  # (100 + 200) / 2


def _row(run_id, model, seqs, tok_s, ttft50, tpot99=""):
    return {"run_id": run_id, "model": model, "max_num_seqs": str(seqs), "dtype": "bfloat16", "input_len": "128",
            "output_len": "32", "num_prompts": "8", "output_tok_s": str(tok_s), "ttft_p50_ms": str(ttft50),
            "tpot_p99_ms": tpot99}


def test_medians_of_repeats_by_case():
    rows = [_row("a1", "m", 1, 10.0, 900), _row("b1", "m", 4, 30.0, 400, "50"), _row("a2", "m", 1, 14.0, 1100),
            _row("a3", "m", 1, 11.0, 1000), _row("b2", "m", 4, 36.0, 500, "")]
    one, four = distributions.medians(rows)
    # batch 1: tok/s 10, 14, 11 -> median 11; spread 14 / 10 = 1.4; TTFT 900, 1100, 1000 -> 1000
    assert (one["max_num_seqs"], one["repeats"], one["run_ids"]) == ("1", 3, ["a1", "a2", "a3"])
    assert one["output_tok_s"] == pytest.approx(11.0) and one["spread"] == pytest.approx(1.4)
    assert one["ttft_p50_ms"] == pytest.approx(1000.0) and one["tpot_p99_ms"] is None
    # batch 4: two repeats -> the mean, (30 + 36) / 2 = 33, spread 36 / 30 = 1.2; TPOT p99 only in one row: 50
    assert four["output_tok_s"] == pytest.approx(33.0) and four["spread"] == pytest.approx(1.2)
    assert four["ttft_p50_ms"] == pytest.approx(450.0) and four["tpot_p99_ms"] == pytest.approx(50.0)


def test_ratio():
    assert distributions.ratio(200.0, 150.0) == pytest.approx(0.75)
    assert distributions.ratio(None, 1.0) is None and distributions.ratio(0.0, 1.0) is None and distributions.ratio(1.0, None) is None


def test_cpu_check_recovers_a_machine_the_model_generated(tmp_path):
    """scripts/validate_prediction.py's CPU check on rows the model itself made (two repeats of each case, the
    same figures): calibrated on two cases it fits the two parameters that differ from the published fit, so
    every other case's throughput and every percentile come back at ratio 1.00."""
    import importlib.util

    from bench.config import catalog
    from bench.results import schema
    from bench.roofline import calibrate, predict, trace
    from bench.roofline.calibrate import MeasuredRun

    spec = importlib.util.spec_from_file_location("validate_prediction", "scripts/validate_prediction.py")
    vp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vp)
    base = predict.profiles.published().efficiency_for("vllm")
    truth = base.with_values(bandwidth_fraction=0.5, compute_fraction=0.4)
    cfg = catalog.resolve_model("tiny-qwen2").config
    rows = []
    for rep in (1, 2):
        for seqs in (1, 4, 2, 8):
            m = MeasuredRun(run={"dtype": "float32", "max_num_seqs": seqs}, model_config=cfg, lengths=[(128, 32)] * 8,
                            output_tok_s=1.0)
            t = trace.timings(calibrate.traced(m, "H100-SXM"), truth)
            row = dict.fromkeys(schema.COLUMNS, "")
            row.update(schema_version=str(schema.SCHEMA_VERSION), run_id=f"r{rep}-{seqs}", model="tiny-qwen2",
                       engine="vllm", engine_version="0.32.0", status="ok", dtype="float32", kv_cache_dtype="auto",
                       tensor_parallel_size="1", input_len="128", output_len="32", num_prompts="8",
                       max_num_seqs=str(seqs), output_tok_s=repr(t.output_tok_s), hardware="H100-SXM",
                       **{k: repr(v) for k, v in distributions.predicted_distribution_ms(t.ttft_s, t.tpot_s).items()})
            rows.append(row)
    path = write_rows(tmp_path / "runs.csv", rows)
    lines = vp.cpu_check([path], "H100-SXM", ["tiny-qwen2:1,4"], "table")
    text = "\n".join(lines)
    assert "bandwidth 50%" in lines[0] and "compute 40%" in lines[0]
    table = [ln for ln in lines if ln.startswith("tiny-qwen2")]
    throughput, dist = table[:4], table[4:]
    assert [ln.split()[1] for ln in throughput] == ["1", "4", "2", "8"]
    cells = [re.split(r"\s{2,}", ln.strip()) for ln in throughput]
    assert [c[2] for c in cells] == ["calibrated on", "calibrated on", "predicted", "predicted"]
    assert all(c[3] == "2" and c[5] == "1.00x" and c[-1] in ("+0%", "-0%") for c in cells)  # 2 equal repeats
    assert len(dist) == 4 and all(ln.count("(1.00)") == 5 for ln in dist)
    assert "median |error| 0%" in text
