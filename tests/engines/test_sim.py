"""--engine sim: the roofline as an engine, end to end through the CLI, with no vllm or torch."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cli
from bench.cli.options import EXIT_SOME_FAILED

from bench.roofline import predict
from bench.config.engines import ENGINES
from bench.engines import load_engine
from bench.engines.base import EngineSpec
from bench.core.errors import BenchError
from bench.config.run import RunConfig, case_key, parse, resolve
from bench.workload.synthetic import sample_requests

ROOT = Path(__file__).resolve().parents[2]


def spec(model: str = "tiny-qwen2", **run) -> EngineSpec:
    cfg, m = resolve(parse({"model": model, "engine": "sim", "hardware": "H100-SXM", **run}))
    return EngineSpec(run=cfg, load_path=str(m.config_dir), load_format="dummy", model_config=m.config)


def test_registered():
    assert ENGINES["sim"] == "bench.engines.sim:SimEngine"


def test_no_vllm_or_torch_import():
    code = ("import sys, bench.engines.sim, bench.roofline.bound, bench.cli, bench.execution.case; "
            "bad = [m for m in ('vllm', 'torch') if m in sys.modules]; sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_engine_interface():
    s = spec(max_num_seqs=4)
    eng = load_engine("sim")(s)
    eng.check()
    eng.start()
    reqs = sample_requests(8, 32, 16, vocab_size=4096, seed=0)
    results, elapsed = eng.generate(reqs)
    assert len(results) == 8 and elapsed > 0
    assert all(r.output_len == 16 and r.ttft_s > 0 and r.tpot_s > 0 for r in results)
    assert max(r.e2e_s for r in results) == pytest.approx(elapsed)
    kv = eng.kv_cache_info()
    assert kv.bytes_per_token == 2048  # tiny-qwen2's analytic KV bytes per token
    info = eng.info()
    assert info["device"] == "sim" and info["device_name"] == "H100-SXM" and info["max_num_seqs"] == 4


def test_sim_needs_hardware():
    with pytest.raises(BenchError, match="--engine sim needs --hardware"):
        resolve(parse({"model": "tiny-qwen2", "engine": "sim"}))


def test_unknown_hardware_did_you_mean():
    with pytest.raises(BenchError, match="did you mean.*RTX-4090"):
        resolve(parse({"model": "tiny-qwen2", "engine": "sim", "hardware": "rtx4090"}))


def test_hardware_in_case_key_only_for_sim():
    a, m = resolve(parse({"model": "tiny-qwen2", "hardware": "H20"}))
    b, _ = resolve(parse({"model": "tiny-qwen2"}))
    assert case_key(a, m) == case_key(b, m)
    s1, _ = resolve(parse({"model": "tiny-qwen2", "engine": "sim", "hardware": "H20"}))
    s2, _ = resolve(parse({"model": "tiny-qwen2", "engine": "sim", "hardware": "H100-SXM"}))
    assert case_key(s1, m) != case_key(s2, m)


def test_weights_that_do_not_fit_predict_oom():
    eng = load_engine("sim")(spec("deepseek-v2-chat", tensor_parallel_size=1))
    eng.check()
    with pytest.raises(RuntimeError, match="predicted out of memory"):
        eng.start()


def test_bench_run_engine_sim_end_to_end(tmp_path, capsys):
    out = tmp_path / "runs.csv"
    rc = cli.main(["run", "--model", "qwen2.5-7b-instruct", "--engine", "sim", "--hardware", "h20",
                   "--num-prompts", "32", "--input-len", "256", "--output-len", "64", "--max-num-seqs", "8,32",
                   "--out", str(out)])
    assert rc == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["max_num_seqs"] for r in rows] == ["8", "32"]
    for r in rows:
        assert (r["engine"], r["device"], r["device_name"], r["status"]) == ("sim", "sim", "H20", "ok")
        # the expected value (published fit), the bound beside it
        assert 0 < float(r["efficiency"]) < 1
        assert float(r["roofline_output_tok_s"]) > float(r["output_tok_s"])
        assert float(r["predicted_output_tok_s"]) == pytest.approx(float(r["output_tok_s"]))
        assert float(r["predicted_tpot_p50_ms"]) == pytest.approx(float(r["tpot_p50_ms"]))
        assert float(r["predicted_band_low_tok_s"]) < float(r["output_tok_s"]) < float(r["predicted_band_high_tok_s"])
        assert float(r["predicted_band_high_tok_s"]) <= float(r["roofline_output_tok_s"])
        assert r["prediction_calibration"] == "published-fit-3"
        assert r["peak_memory_source"] == "predicted" and r["engine_version"] == "roofline-3+published-fit-3"
        assert float(r["ttft_p50_ms"]) <= float(r["ttft_p90_ms"]) <= float(r["ttft_p99_ms"])
        assert float(r["e2e_mean_ms"]) > float(r["ttft_mean_ms"])
        # every simulated step split between prompt chunks and decodes; the two add up to the run
        assert r["split_method"] == "steps-expected"
        assert float(r["prefill_s"]) + float(r["decode_s"]) == pytest.approx(float(r["elapsed_s"]))
        assert 0 < float(r["prefill_s"]) < float(r["elapsed_s"])
    assert float(rows[1]["output_tok_s"]) > float(rows[0]["output_tok_s"])


def test_sim_timing_bound_is_the_roofline(tmp_path):
    out = tmp_path / "runs.csv"
    assert cli.main(["run", "--model", "qwen2.5-7b-instruct", "--engine", "sim", "--hardware", "h20", "--num-prompts",
                     "8", "--max-num-seqs", "8", "--sim-timing", "bound", "--out", str(out)]) == 0
    (r,) = list(csv.DictReader(out.open()))
    assert float(r["efficiency"]) == pytest.approx(1.0)
    assert float(r["roofline_output_tok_s"]) == pytest.approx(float(r["output_tok_s"]))
    assert r["engine_version"] == "roofline-3" and r["split_method"] == "steps-roofline"
    assert float(r["predicted_output_tok_s"]) < float(r["output_tok_s"])  # the expected value still beside it


def test_sim_row_for_a_model_too_big_is_oom(tmp_path):
    out = tmp_path / "runs.csv"
    rc = cli.main(["run", "--model", "deepseek-v2-chat", "--engine", "sim", "--hardware", "RTX-4090", "-tp", "1",
                   "--num-prompts", "2", "--out", str(out)])
    assert rc == EXIT_SOME_FAILED
    row = next(csv.DictReader(out.open()))
    assert row["status"] == "oom" and "predicted out of memory" in row["error"]
    # DeepSeek-V2's 236B in bf16 on one RTX 4090: no single change fits; 8 cards of int4 weights do, asked for as bench
    # run asks for them (vLLM's --quantization, not explain's --weight-dtype)
    assert row["error"].endswith("; would fit: -tp 8 --quantization awq (or gptq: int4) (3 sequences)")


def _out(status="ok", tok_s=1000.0):
    return {"status": status, "metrics": {"output_tok_s": tok_s},
            "requests": [{"prompt_len": 128, "output_len": 64}] * 16, "engine_info": {"max_num_seqs": 16}}


def test_roofline_columns_on_gpu_rows():
    run = RunConfig(model="qwen2.5-7b-instruct", dtype="bfloat16", tensor_parallel_size=1).model_dump()
    from bench.config.catalog import resolve_model

    cfg = resolve_model("qwen2.5-7b-instruct").config
    cols = predict.roofline_columns(run, cfg, "cuda", "NVIDIA H100 80GB HBM3", _out())
    assert cols["roofline_output_tok_s"] > 1000
    assert cols["efficiency"] == pytest.approx(1000 / cols["roofline_output_tok_s"])
    assert predict.roofline_columns(run, cfg, "cpu", "AMD EPYC", _out()) == {
        "roofline_output_tok_s": None, "efficiency": None}  # no CPU roofline
    assert predict.roofline_columns(run, cfg, "cuda", "Tesla T4", _out())["efficiency"] is None  # unknown GPU
    assert predict.roofline_columns(run, cfg, "cuda", "NVIDIA H100 80GB HBM3", _out("failed"))["efficiency"] is None
    priced = {**run, "hardware": "H20"}  # --hardware names the card when NVML's name is not known
    assert predict.roofline_columns(priced, cfg, "cuda", "Tesla T4", _out())["efficiency"] is not None


def test_columns_appended_at_the_end():
    from bench.results.store import COLUMNS

    i = COLUMNS.index("roofline_output_tok_s")
    assert COLUMNS[i + 1] == "efficiency" and i > COLUMNS.index("config_sha")  # after the core columns


def test_every_catalog_model_on_every_gpu():
    """Each pair predicts a run, or says the weights do not fit (a row with status oom)."""
    from bench.config import catalog
    from bench.config import hardware
    cat = catalog.load()
    for model in cat.models:
        for gpu, hw in hardware.load_hardware().hardware.items():
            if hw.kind != "gpu":
                continue
            cfg, m = resolve(parse({"model": model, "engine": "sim", "hardware": gpu, "num_prompts": 4,
                                    "input_len": 64, "output_len": 16}))
            eng = load_engine("sim")(EngineSpec(run=cfg, load_path="", load_format="dummy",
                                                model_config=m.config))
            eng.check()
            if not eng.dep.fits:
                with pytest.raises(RuntimeError, match="predicted out of memory"):
                    eng.start()
                continue
            eng.start()
            results, elapsed = eng.generate(sample_requests(4, 64, 16, int(m.config["vocab_size"])))
            assert elapsed > 0 and len(results) == 4, (model, gpu)


def test_step_split_charges_each_part_what_it_uses():
    from bench.roofline.bound import Deployment

    m = resolve(parse({"model": "qwen2.5-7b-instruct"}))[1]
    dep = Deployment(cfg=m.config, gpu=predict.require_gpu("H100-SXM"))
    # a 1,024-token prompt chunk beside 64 decodes at 1,100 tokens of context: compute-bound, split by FLOPs
    t, p, d = dep.step_split(64, 64 * 1100, [(1024, 0)])
    assert dep.step(64, 64 * 1100, [(1024, 0)]).bound == "compute"
    assert t == dep.step(64, 64 * 1100, [(1024, 0)]).time_s
    assert p == pytest.approx(dep.step(0, 0, [(1024, 0)]).flops) and d == pytest.approx(dep.step(64, 64 * 1100).flops)
    # a 16-token chunk (200 cached) beside 64 decodes at 100: memory-bound; the chunk pays 16/80 of the
    # weights and its own KV (200 read + 16 written), the decodes the rest of the bytes
    s = dep.step(64, 6400, [(16, 200)])
    t, p, d = dep.step_split(64, 6400, [(16, 200)])
    assert s.bound == "memory"
    assert p == pytest.approx(dep.weight_bytes_touched(80) * 16 / 80 + 216 * dep.kv_bytes_per_token)
    assert p + d == pytest.approx(s.bytes)
