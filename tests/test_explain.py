"""`bench explain`: JSON keys, table output, bad input as one line with exit 2."""

import json
from pathlib import Path

import pytest

from bench import cli
ROOT = Path(__file__).resolve().parent.parent
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
    assert "decode bound" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["qwen2.5-7b-instruct", "--hardware", "H10"], "unknown hardware 'H10'; did you mean"),
    (["qwen-7b", "--hardware", "H20"], "unknown model 'qwen-7b'; did you mean"),
    (["qwen2.5-7b-instruct", "--hardware", "H20", "--context", "0"], "--context must be"),
    (["qwen2.5-7b-instruct", "--hardware", "H20", "--context", "99999"], "max_position_embeddings"),
    (["qwen2.5-7b-instruct"], "--hardware"),
])
def test_bad_input_one_line_exit_2(args, message, capsys):
    assert cli.main(["explain", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
