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

    from bench.config.engines import check_engine_name
    from bench.core.errors import BenchError

    with pytest.raises(BenchError, match="did you mean hf"):
        check_engine_name("hff")


# --- hf-cb on transformers 5.17 and 5.19 ---------------------------------------------------

import pytest  # noqa: E402

from bench.engines.hf_cb import CbApi, cache_kv_bytes, detect_api  # noqa: E402
from bench.core.errors import BenchError  # noqa: E402

# ContinuousBatchingConfig's fields bench cares about, as each release declares them
# (transformers/generation/configuration_utils.py of the PyPI wheels 5.17.0 and 5.19.0, read 2026-12)
COMMON = {"num_blocks", "max_batch_tokens", "max_memory_percent", "max_requests_per_batch", "allow_block_sharing",
          "seed", "use_cuda_graph"}
FIELDS_5_17 = COMMON | {"block_size"}
FIELDS_5_19 = COMMON | {"page_size", "block_size", "auto_switch_to_flash"}  # block_size: deprecated alias


def test_the_page_size_field_is_detected_per_release():
    assert detect_api(FIELDS_5_17, "5.17.0") == CbApi(page_size_field="block_size")
    assert detect_api(FIELDS_5_19, "5.19.0") == CbApi(page_size_field="page_size")  # not the deprecated alias


def test_an_unknown_api_is_one_line_naming_what_is_missing():
    with pytest.raises(BenchError) as e:
        detect_api({"num_blocks", "seed"}, "5.9.0")
    msg = str(e.value)
    assert msg.startswith("transformers 5.9.0's continuous batching has no max_memory_percent, max_requests_per_batch, "
                          "allow_block_sharing, page_size or block_size")
    assert "pip install 'transformers>=5.17,<5.20'" in msg and "--engine hf" in msg and "\n" not in msg


class FakeTensor:
    def __init__(self, shape, itemsize):
        self.shape, self.itemsize = shape, itemsize

    def numel(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    def element_size(self):
        return self.itemsize


def test_kv_bytes_of_the_5_17_cache_leave_out_the_two_trash_blocks():
    """2 layers, 2 KV heads of 64, bfloat16, 10 blocks of 256 tokens: each of the 4 tensors (K and V per layer) has
    (10 + 2) x 256 = 3,072 rows of 2 x 64 x 2 B = 256 B; the cache is 10 x 256 = 2,560 rows of each:
    4 x 2,560 x 256 B = 2,621,440 B = 1,024 B/token (2 x 2 layers x 2 heads x 64 x 2 B) x 2,560 tokens."""
    rows = (10 + 2) * 256
    cache = type("Cache517", (), {})()
    cache.num_blocks, cache.block_size = 10, 256
    cache.key_cache = [FakeTensor((rows, 2, 64), 2) for _ in range(2)]
    cache.value_cache = [FakeTensor((rows, 2, 64), 2) for _ in range(2)]
    assert cache_kv_bytes(cache) == 2_621_440 == 1024 * 2560


def test_kv_bytes_of_the_5_19_cache_are_its_sectors():
    cache = type("Cache519", (), {"num_sectors": 40, "bytes_per_sector": 65_536, "num_blocks": 10})()
    assert cache_kv_bytes(cache) == 40 * 65_536
    assert cache_kv_bytes(type("Other", (), {"num_blocks": 3})()) is None  # unknown layout: empty, not guessed
