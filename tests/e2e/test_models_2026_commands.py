"""bench explain, bench run --engine sim, bench plan and bench report for every 2026 catalog model (no GPU, no vllm)."""

import json

import pandas as pd
import pytest

from bench.cli import main
from bench.config import catalog
from bench.config.run import parse, resolve
from bench.engines import load_engine
from bench.engines.base import EngineSpec
from bench.model import modelmath as mm
from bench.workload.synthetic import sample_requests

NEW = ["qwen3-14b", "qwen3-32b", "qwen3-30b-a3b", "qwen3-235b-a22b", "qwen3-next-80b-a3b", "deepseek-v3.1",
       "deepseek-v3.2", "glm-4.5", "glm-4.6", "glm-4.5-air", "kimi-k2", "gpt-oss-20b", "gpt-oss-120b"]


def explain(capsys, *argv) -> dict:
    assert main(["explain", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", NEW)
def test_explain_sizes_each_model_on_its_default_tensor_parallelism(name, capsys):
    """H200 x the catalog's TP, in the checkpoint's weight format: the KV and weights are modelmath's, and the
    batch of 4,096-token sequences is what the cache holds (bytes per sequence: windows and states counted)."""
    model = catalog.resolve_model(name)
    tp = model.tensor_parallel_size
    e = explain(capsys, name, "--hardware", "H200-SXM")
    assert e["tensor_parallel_size"] == tp and e["fits"]
    assert e["weight_dtype"] == (mm.checkpoint_weight_format(model.config) or "bfloat16")
    assert e["weight_bytes"] == mm.weight_bytes(model.config, e["weight_dtype"])
    assert e["kv_bytes_per_sequence"] == mm.kv_bytes_per_sequence(model.config, 4096, "auto", "bfloat16", tp)
    cache = e["kv_capacity_tokens"] * e["kv_bytes_per_token"]  # the pool, in whole 16-token blocks
    assert e["max_batch"] * e["kv_bytes_per_sequence"] <= cache < (e["max_batch"] + 1) * e["kv_bytes_per_sequence"]
    assert e["max_batch"] >= 1 and e["expected_decode_tok_s"]["1"] > 0


def test_explain_says_what_would_fit_when_nothing_does(capsys):
    """Kimi K2's 1.03 TB of FP8 weights on 8 x H100 (8 x 72 GiB usable): does not fit; int4 weights would."""
    assert main(["explain", "kimi-k2", "--hardware", "H100-SXM"]) == 0
    out = capsys.readouterr().out
    assert "does not fit" in out and "--weight-dtype int4" in out


@pytest.mark.parametrize("name", NEW)
def test_the_sim_engine_runs_each_model(name):
    """The sim engine as bench run's worker drives it (check, start, generate, kv_cache_info, info), in this process:
    H200 x the catalog's TP, 8 requests of 256 in / 64 out at batch 8; the KV it reports is the analytic one."""
    model = catalog.resolve_model(name)
    cfg, m = resolve(parse({"model": name, "engine": "sim", "hardware": "H200-SXM", "max_num_seqs": 8}))
    eng = load_engine("sim")(EngineSpec(run=cfg, load_path=str(m.config_dir), load_format="dummy",
                                        model_config=m.config))
    eng.check()
    eng.start()
    results, elapsed = eng.generate(sample_requests(8, 256, 64, vocab_size=int(m.config["vocab_size"]), seed=0))
    assert len(results) == 8 and all(r.output_len == 64 and 0 < r.ttft_s < r.e2e_s <= elapsed for r in results)
    kv = eng.kv_cache_info()
    tp = model.tensor_parallel_size
    assert kv.bytes_per_token == mm.kv_bytes_per_token(m.config, "auto", "bfloat16", tp)
    assert eng.info()["weight_dtype"] == (mm.checkpoint_weight_format(m.config) or "bfloat16")


# One model per attention kind: hybrid linear, sparse MLA + indexer, sliding windows with sinks in MXFP4, MLA at 1T.
THROUGH_THE_CLI = ["qwen3-next-80b-a3b", "deepseek-v3.2", "gpt-oss-120b", "kimi-k2"]


def test_sim_rows_plans_and_a_report(tmp_path, capsys):
    """bench run --engine sim (one process per case, as users run it) for one model of each attention kind, H200 at
    its default TP, 8 prompts of 256 in / 64 out at batch 8; a plan for every new model (predicted: no rows needed)
    and from the rows; one report of them."""
    rows = tmp_path / "rows.csv"
    for name in THROUGH_THE_CLI:
        assert main(["run", "--model", name, "--engine", "sim", "--hardware", "H200-SXM", "--num-prompts", "8",
                     "--input-len", "256", "--output-len", "64", "--max-num-seqs", "8", "--out", str(rows)]) == 0, name
    capsys.readouterr()
    df = pd.read_csv(rows)
    assert sorted(df.model) == sorted(THROUGH_THE_CLI) and (df.status == "ok").all()
    assert (df.output_tokens == 8 * 64).all()
    for _, r in df.iterrows():
        cfg = catalog.resolve_model(r.model).config
        assert r.kv_bytes_per_token_analytic == mm.kv_bytes_per_token(cfg, "auto", "bfloat16", int(r.tensor_parallel_size))
        assert r.predicted_band_low_tok_s < r.predicted_output_tok_s < r.predicted_band_high_tok_s
        assert r.prediction_calibration == "published-fit-3"
    for name in NEW:
        args = [str(rows)] if name in THROUGH_THE_CLI else []
        assert main(["plan", *args, "--model", name, "--hardware", "H200-SXM", "--traffic", "100M/day"]) == 0, name
        assert f"{name}: 100M tokens/day" in capsys.readouterr().out
    assert main(["report", str(rows), "--out", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "index.html").read_text()
    assert all(name in page for name in THROUGH_THE_CLI)


@pytest.mark.parametrize("change, field", [
    ({"attention_chunk_size": 8192}, "config.json field 'attention_chunk_size' describes chunked local attention"),
    ({"layer_types": ["full_attention", "mamba"] * 12}, "config.json field 'layer_types[1]' is 'mamba'"),
])
def test_a_config_with_an_attention_bench_cannot_size_is_one_line(tmp_path, capsys, change, field):
    """gpt-oss-20b's config.json with an attention kind bench does not size: explain and a sim run each refuse
    it in one line naming the field, exit 2, and write no row."""
    model = tmp_path / "model"
    model.mkdir()
    config = dict(catalog.resolve_model("gpt-oss-20b").config, **change)
    (model / "config.json").write_text(json.dumps(config))
    rows = tmp_path / "rows.csv"
    for argv in (["explain", str(model), "--hardware", "H100-SXM"],
                 ["run", "--model", str(model), "--engine", "sim", "--hardware", "H100-SXM", "--out", str(rows)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and field in err and "Traceback" not in err, err
    assert not rows.exists()
