"""`bench explain`: JSON keys, table output, bad input as one line with exit 2."""

import json
from pathlib import Path

import pytest

from bench import cli
ROOT = Path(__file__).resolve().parents[2]
CATALOG_MODELS = ["qwen2.5-7b-instruct", "qwen2.5-0.5b-instruct", "deepseek-v2-lite-chat", "glm-4-9b-chat"]


def explain_json(capsys, *args) -> dict:
    assert cli.main(["explain", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_keys(capsys):
    e = explain_json(capsys, "qwen2.5-7b-instruct", "--hardware", "H20", "--context", "2048")
    for key in ("params_total", "params_active", "weight_bytes", "kv_bytes_per_token", "max_batch",
                "decode_tok_s_bound", "compute_bound_from_batch", "kv_capacity_tokens"):
        assert key in e
    assert set(e["decode_tok_s_bound"]) == {"1", "8", "64", "256"}
    assert e["kv_bytes_per_token"] == 57_344 and e["context"] == 2048


def test_options_change_the_answer(capsys):
    base = explain_json(capsys, "qwen2.5-7b-instruct", "--hardware", "RTX-4090")
    fp8 = explain_json(capsys, "qwen2.5-7b-instruct", "--hardware", "RTX-4090", "--kv-cache-dtype", "fp8")
    int4 = explain_json(capsys, "qwen2.5-7b-instruct", "--hardware", "RTX-4090", "--weight-dtype", "int4")
    assert fp8["kv_bytes_per_token"] * 2 == base["kv_bytes_per_token"]
    assert int4["weight_bytes"] < base["weight_bytes"] / 2.5
    assert int4["decode_tok_s_bound"]["1"] > 2 * base["decode_tok_s_bound"]["1"]


def test_directory_model(capsys):
    e = explain_json(capsys, str(ROOT / "model_configs" / "tiny-glm"), "--hardware", "L20")
    assert e["kv_bytes_per_token"] == 2048


@pytest.mark.parametrize("model", CATALOG_MODELS)
@pytest.mark.parametrize("gpu", ["H100-SXM", "H20", "RTX-4090"])
def test_table_for_every_catalog_model_and_gpu(model, gpu, capsys):
    assert cli.main(["explain", model, "--hardware", gpu]) == 0
    out = capsys.readouterr().out
    if (model, gpu) == ("deepseek-v2-lite-chat", "RTX-4090"):  # 29.3 GiB of weights > 0.9 x 24 GiB
        assert "decode bound" not in out and "does not fit: the weights (29.3 GiB per GPU)" in out
        assert "would fit: -tp 2" in out and "prefill bound" not in out
    else:
        assert "decode bound" in out


def test_cost_line_per_batch_bound(capsys):
    e = explain_json(capsys, "qwen2.5-7b-instruct", "--hardware", "RTX-4090", "-tp", "2")
    # China: AutoDL 1.98 CNY per card-hour x 2 cards = 3.96 CNY an hour
    assert e["price"]["cny_per_hour"] == pytest.approx(3.96) and e["price"]["market"] == "cn"
    for r in e["decode"]:
        if r["fits_kv"]:  # 3.96 CNY / (tok/s x 3,600 / 1e6 M tokens an hour)
            assert r["cny_per_m_output"] == pytest.approx(3.96 / (r["tok_s"] * 3600 / 1e6))
        else:
            assert r["cny_per_m_output"] is None
    assert "RTX-4090 has no NVLink: at TP 2" in e["warning"]
    given = explain_json(capsys, "qwen2.5-7b-instruct", "--hardware", "H20", "--gpu-cny-per-hour", "10")
    row1 = given["decode"][0]  # batch 1: 10 / (tok/s x 0.0036)
    assert row1["cny_per_m_output"] == pytest.approx(10 / (row1["tok_s"] * 0.0036)) and given["warning"] == ""
    # --market global: RunPod's list price, USD 0.34 x 7.2 = 2.448 CNY per card-hour x 2 = 4.896
    world = explain_json(capsys, "qwen2.5-7b-instruct", "--hardware", "RTX-4090", "-tp", "2", "--market", "global")
    assert world["price"]["cny_per_hour"] == pytest.approx(4.896)
    no_quote = explain_json(capsys, "qwen2.5-7b-instruct", "--hardware", "A100-40G-SXM")
    assert no_quote["price"]["cny_per_hour"] is None and "A100-40G-SXM has no rental price" in no_quote["price"]["why"]


def test_cost_line_at_the_expected_rate_beside_the_bound(capsys):
    e = explain_json(capsys, "qwen2.5-7b-instruct", "--hardware", "H20", "--gpu-cny-per-hour", "10")
    for r in e["decode"]:
        if r["fits_kv"]:  # 10 CNY / (expected tok/s x 3,600 / 1e6 M tokens an hour); dearer than at the bound
            assert r["cny_per_m_output_expected"] == pytest.approx(10 / (r["expected_tok_s"] * 0.0036))
            assert r["cny_per_m_output_expected"] > r["cny_per_m_output"]
        else:
            assert r["cny_per_m_output_expected"] is None
    from bench.cli.explain import expected_costs

    rows = [{"fits_kv": True, "expected_tok_s": 500.0}, {"fits_kv": False, "expected_tok_s": 900.0}]
    expected_costs(rows, 18.0)  # 18 CNY an hour / (500 x 3,600 = 1.8M tokens an hour) = 10 CNY/M
    assert rows[0]["cny_per_m_output_expected"] == pytest.approx(10.0) and rows[1]["cny_per_m_output_expected"] is None
    expected_costs(rows, None)
    assert rows[0]["cny_per_m_output_expected"] is None
    assert cli.main(["explain", "qwen2.5-7b-instruct", "--hardware", "H20", "--gpu-cny-per-hour", "10"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps lines at the terminal's width
    # one meaning per name: explain's figure is a decode-only hour, not bench cost's output price (a decode share)
    assert "expected" in out.split("CNY/M decode-only, bound")[1] and "at the expected tok/s (calibration " in out
    assert "CNY/M out" not in out and "only decoding (no prefill charged)" in out


def test_what_would_fit(capsys):
    e = explain_json(capsys, "deepseek-v2-lite-chat", "--hardware", "RTX-4090")
    assert not e["fits_context"] and "leave no KV cache" in e["does_not_fit"]
    assert [s.split(" (")[0] for s in e["suggestions"]] == ["-tp 2", "--weight-dtype fp8", "--weight-dtype int4"]
    # one 32K sequence of Qwen2.5-7B needs 32,768 x 57,344 B = 1.75 GiB of KV; at --gpu-memory-utilization 0.66
    # a 24 GiB card leaves 15.84 - 14.19 GiB of weights = 1.65 GiB: no; an fp8 KV cache needs half, 0.875 GiB
    long = explain_json(capsys, "qwen2.5-7b-instruct", "--hardware", "RTX-4090", "--context", "32768",
                        "--gpu-memory-utilization", "0.66")
    assert not long["fits_context"] and "one sequence of 32,768 tokens needs 1.75 GiB of KV" in long["does_not_fit"]
    assert any(s.startswith("--kv-cache-dtype fp8") for s in long["suggestions"])


def test_what_would_fit_when_no_single_change_does(capsys):
    """DeepSeek-V3.1's FP8 weights (626.7 GiB) on one H100 (0.9 x 80 = 72 GiB usable): -tp 8 alone leaves 78.3 GiB
    per GPU and int4 alone about half of 626.7 GiB, neither fits; their pair does, and is the one suggestion."""
    from bench.model import modelmath as mm
    from bench.config import catalog

    e = explain_json(capsys, "deepseek-v3.1", "--hardware", "H100-SXM", "-tp", "1")
    fp8 = mm.weight_bytes(catalog.resolve_model("deepseek-v3.1").config, "fp8")
    assert e["weight_bytes"] == fp8 and fp8 / 8 > 72 * 2**30  # -tp 8 alone: 78.3 GiB > 72 GiB
    assert [s.split(" (")[0] for s in e["suggestions"]] == ["-tp 8 --weight-dtype int4"]
    # Kimi K2 on 8 x RTX 4090 (0.9 x 24 = 21.6 GiB each): in int4 its weights alone, 481.2 GiB, fill
    # ceil(481.2 / 21.6) = 23 cards: three servers of 8 (23 // 8 + 1 leaves room for a KV cache)
    k = explain_json(capsys, "kimi-k2", "--hardware", "RTX-4090")
    int4 = mm.weight_bytes(catalog.resolve_model("kimi-k2").config, "int4")
    assert -(-int4 // (21.6 * 2**30)) == 23
    assert k["suggestions"] == ["more than one server: even in int4 the weights (481.2 GiB) fill 23 x RTX-4090 before "
                                "any KV cache; -tp 8 --pipeline-parallel-size 3 across servers (bench does not predict "
                                "pipeline parallelism), or a larger card"]
    assert cli.main(["explain", "kimi-k2", "--hardware", "RTX-4090"]) == 0
    assert "would fit: more than one server" in capsys.readouterr().out


def test_every_catalog_model_explains_as_the_sim_predicts(capsys):
    """Every catalog model on H200 at its catalog TP: bench explain answers (decode rates where it fits, what would
    fit where it does not) and says it fits exactly when the sim engine starts (else the sim's oom names a change)."""
    from bench.config import catalog
    from bench.config.run import parse, resolve
    from bench.engines import load_engine
    from bench.engines.base import EngineSpec

    for name in catalog.load().models:
        e = explain_json(capsys, name, "--hardware", "H200-SXM")
        assert (e["expected_decode_tok_s"]["1"] > 0) if e["fits_context"] else e["suggestions"], name
        cfg, m = resolve(parse({"model": name, "engine": "sim", "hardware": "H200-SXM"}))
        eng = load_engine("sim")(EngineSpec(run=cfg, load_path="", load_format="dummy", model_config=m.config))
        eng.check()
        assert eng.dep.fits == e["fits"], name
        if not e["fits"]:
            with pytest.raises(RuntimeError, match="predicted out of memory: .*; would fit: [-m]"):
                eng.start()


@pytest.mark.parametrize("args, message", [
    (["qwen2.5-7b-instruct", "--hardware", "H10"], "unknown hardware 'H10'; did you mean"),
    (["qwen-7b", "--hardware", "H20"], "unknown model 'qwen-7b'; did you mean"),
    (["qwen2.5-7b-instruct", "--hardware", "H20", "--context", "0"], "--context must be"),
    (["qwen2.5-7b-instruct", "--hardware", "H20", "--context", "99999"], "max_position_embeddings"),
    (["qwen2.5-7b-instruct"], "--hardware"),
    (["qwen2.5-7b-instruct", "--hardware", "H20", "--market", "globl"], "unknown market 'globl'; did you mean global"),
])
def test_bad_input_one_line_exit_2(args, message, capsys):
    assert cli.main(["explain", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
