"""The transformers engines' pure parts and preflight: no torch, no transformers import."""

from bench.execution import case as runner
from bench.cli import main
from bench.engines.hf import pad_token_id
from bench.engines.hf_cb import cpu_num_blocks

TINY_QWEN2 = {"num_hidden_layers": 4, "num_key_value_heads": 2, "num_attention_heads": 4, "hidden_size": 256}


def test_pad_token_falls_back_to_eos_then_zero():
    assert pad_token_id({"pad_token_id": 7, "eos_token_id": 2}) == 7
    assert pad_token_id({"eos_token_id": [151645, 151643]}) == 151645
    assert pad_token_id({"eos_token_id": 2, "pad_token_id": None}) == 2
    assert pad_token_id({}) == 0


def test_cpu_cache_blocks_are_what_the_batch_needs_within_the_gib():
    # 2,048 B/token x 256 tokens = 512 KiB a block; 4 requests of 300 tokens need 2 blocks each
    assert cpu_num_blocks(TINY_QWEN2, "bfloat16", cache_gib=2.0, batch=4, max_len=300) == 8
    # 1 MiB holds only 2 blocks
    assert cpu_num_blocks(TINY_QWEN2, "bfloat16", cache_gib=1 / 1024, batch=4, max_len=300) == 2


def test_transformers_not_installed_is_one_line(capsys, tmp_path, monkeypatch):
    real = runner.importlib.util.find_spec
    monkeypatch.setattr(runner.importlib.util, "find_spec",
                        lambda n, *a: None if n == "transformers" else real(n, *a))
    code = main(["run", "--model", "tiny-qwen2", "--engine", "hf", "--out", str(tmp_path / "r.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "transformers is not installed" in err and "pip install torch transformers" in err
    assert err.count("\n") == 1 and not (tmp_path / "r.csv").exists()


def test_unknown_engine_suggests_hf():
    import pytest

    from bench.engines import check_engine_name
    from bench.errors import BenchError

    with pytest.raises(BenchError, match="did you mean hf"):
        check_engine_name("hff")
