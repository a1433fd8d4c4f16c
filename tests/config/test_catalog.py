import json
from pathlib import Path

import pytest

from bench.config import catalog

from bench.config import run as runconfig
from bench.config.catalog import choose_weights, resolve_model
from bench.config.files import load_catalog
from bench.core.errors import BenchError

REPO = Path(__file__).resolve().parents[2]
REQUIRED = ("qwen2.5-7b-instruct", "qwen2.5-0.5b-instruct", "deepseek-v2-lite-chat", "glm-4-9b-chat")


def test_catalog_has_the_models_and_one_tiny_variant_per_family():
    cat = load_catalog(REPO / "models.yaml")
    for name in REQUIRED:
        m = resolve_model(name, cat)
        assert m.hub_id and m.max_model_len > 0 and m.tensor_parallel_size == 1 and m.dtype == "bfloat16"
        assert (m.config_dir / "config.json").is_file()
    tiny = {resolve_model(n, cat).architecture for n, e in cat.models.items() if e.tiny}
    assert tiny == {"Qwen2ForCausalLM", "DeepseekV2ForCausalLM", "GlmForCausalLM", "Qwen3ForCausalLM",
                    "Qwen3MoeForCausalLM", "Qwen3NextForCausalLM", "DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM",
                    "Glm4MoeForCausalLM", "GptOssForCausalLM"}


def test_bundled_configs_match_the_reference_configs():
    shared = REPO.parent / "shared" / "model-configs"
    if not shared.is_dir():
        pytest.skip("reference configs not beside this checkout")
    pairs = {"qwen2.5-7b-instruct": "qwen2.5-7b-instruct.json", "deepseek-v2-lite-chat": "deepseek-v2-lite-chat.json",
             "glm-4-9b-chat": "glm-4-9b-chat-hf.json", "qwen2.5-0.5b-instruct": "qwen2.5-0.5b-instruct.json"}
    for name, ref in pairs.items():
        assert resolve_model(name).config == json.loads((shared / ref).read_text())


def test_names_are_case_insensitive():
    assert resolve_model("Qwen2.5-7B-Instruct").name == "qwen2.5-7b-instruct"


def test_unknown_model_lists_close_names():
    with pytest.raises(BenchError) as e:
        resolve_model("qwen2.5-7b")
    msg = str(e.value)
    assert "unknown model 'qwen2.5-7b'" in msg and "qwen2.5-7b-instruct" in msg and "\n" not in msg


def test_directory_model(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "max_position_embeddings": 131072,
        "torch_dtype": "float16", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
        "vocab_size": 128, "intermediate_size": 128}))
    m = resolve_model(str(tmp_path))
    assert m.name == tmp_path.name and m.dtype == "float16" and m.max_model_len == 32768
    assert m.weights_dir is None
    assert choose_weights(m).kind == "dummy"
    (tmp_path / "model.safetensors").write_bytes(b"x")
    m = resolve_model(str(tmp_path))
    assert choose_weights(m).kind == "real" and choose_weights(m).load_path == str(tmp_path.resolve())


def test_directory_without_config_json(tmp_path):
    with pytest.raises(BenchError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_yaml_typo_names_the_field(tmp_path):
    bad = tmp_path / "models.yaml"
    bad.write_text("models:\n  m:\n    family: qwen2\n    config: c.json\n    max_model_len: 8\n    dtyp: bfloat16\n")
    with pytest.raises(BenchError) as e:
        load_catalog(bad)
    assert "unknown field 'models.m.dtyp'" in str(e.value)


def test_yaml_syntax_error_names_the_line(tmp_path):
    bad = tmp_path / "models.yaml"
    bad.write_text("models:\n  m: [unclosed\n")
    with pytest.raises(BenchError, match="not valid YAML"):
        load_catalog(bad)


def test_weights_from_the_hf_cache_are_found_without_download(tmp_path, monkeypatch):
    snap = tmp_path / "models--Qwen--Qwen2.5-0.5B-Instruct" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    m = resolve_model("qwen2.5-0.5b-instruct")
    assert choose_weights(m).kind == "dummy"  # no weights in the snapshot yet
    (snap / "config.json").write_text("{}")
    (snap / "model.safetensors").write_bytes(b"x")
    w = choose_weights(m)
    assert (w.kind, w.load_format, w.source, w.load_path) == ("real", "auto", "hf-cache", str(snap))
    assert choose_weights(m, "dummy").kind == "dummy"
    assert choose_weights(m, "hub").load_path == "Qwen/Qwen2.5-0.5B-Instruct"


def test_resolve_fills_defaults_and_checks_lengths():
    cfg, model = runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "input_len": 100, "output_len": 20}))
    assert (cfg.max_model_len, cfg.dtype, cfg.tensor_parallel_size) == (2048, "bfloat16", 1)
    with pytest.raises(BenchError, match="exceeds max_model_len 2048"):
        runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "input_len": 2000, "output_len": 100}))
    # the longest request of a distribution counts, not the mean
    with pytest.raises(BenchError, match="input 1500 \\+ output 600"):
        runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "input_len": 1000, "output_len": 400,
                                           "length_dist": "uniform", "range_ratio": 0.5}))


def test_unknown_option_and_bad_values_are_refused():
    with pytest.raises(BenchError, match="unknown field 'max_num_seq'"):
        runconfig.parse({"model": "tiny-qwen2", "max_num_seq": 4})
    with pytest.raises(BenchError, match="input_len"):
        runconfig.parse({"model": "tiny-qwen2", "input_len": 0})


def test_case_key_is_stable_and_tracks_what_is_measured():
    a = runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "max_num_seqs": 4}))
    b = runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "max_num_seqs": 4, "timeout_s": 5}))
    c = runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "max_num_seqs": 8}))
    assert runconfig.case_key(*a) == runconfig.case_key(*b) != runconfig.case_key(*c)
    assert len(runconfig.case_key(*a)) == 16


def test_catalog_env_override(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "config.json").write_text(json.dumps({  # what bench's arithmetic reads (modelmath)
        "architectures": ["GlmForCausalLM"], "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
        "vocab_size": 128, "intermediate_size": 128}))
    (tmp_path / "models.yaml").write_text(
        "models:\n  mine:\n    family: glm\n    config: cfg/config.json\n    max_model_len: 4096\n")
    monkeypatch.setenv("BENCH_CATALOG", str(tmp_path / "models.yaml"))
    assert catalog.resolve_model("mine").architecture == "GlmForCausalLM"
