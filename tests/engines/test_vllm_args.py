"""One mapping from a case to vLLM's engine options: `bench run`'s LLM(...) keyword arguments and
`bench serve`'s server flags agree, option for option. No vllm import needed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.config import run as runconfig
from bench.config.catalog import choose_weights
from bench.engines.base import EngineSpec
from bench.engines.vllm_args import cli_args, engine_options
from bench.engines.vllm_offline import VllmOfflineEngine
from bench.serve.server import server_args

REPO = Path(__file__).resolve().parents[2]


def case(**fields):
    cfg, model = runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", **fields}))
    choice = choose_weights(model, "dummy")
    return cfg, choice


def offline_kwargs(run: runconfig.RunConfig, choice, device: str) -> dict:
    engine = VllmOfflineEngine(EngineSpec(run=run, load_path=choice.load_path, load_format=choice.load_format,
                                          model_config={}))
    engine.device = device  # what check() reads from the installed vLLM
    return engine.engine_args()


def parse_flags(args: list[str]) -> dict:
    """vLLM's CLI read back: --x v -> x='v', --x -> True, --no-x -> False."""
    out, i = {}, 0
    while i < len(args):
        key = args[i][2:].replace("-", "_")
        if i + 1 < len(args) and not args[i + 1].startswith("--"):
            out[key], i = args[i + 1], i + 2
        elif key.startswith("no_"):
            out[key[3:]], i = False, i + 1
        else:
            out[key], i = True, i + 1
    return out


CONFIGS = [
    ("cpu", {}),
    ("cpu", {"max_num_seqs": 4, "cpu_kv_cache_gb": 1, "enforce_eager": False, "dtype": "float32"}),
    ("cuda", {"tensor_parallel_size": 2, "pipeline_parallel_size": 2, "kv_cache_dtype": "fp8",
              "gpu_memory_utilization": 0.8, "distributed_executor_backend": "mp", "seed": 7}),
    ("cuda", {"enforce_eager": True, "max_model_len": 1024}),
]


@pytest.mark.parametrize("device,fields", CONFIGS)
def test_bench_run_and_bench_serve_give_vllm_the_same_options(device, fields):
    run, choice = case(**fields)
    kwargs = offline_kwargs(run, choice, device)
    assert kwargs.pop("disable_log_stats") is False  # the offline engine's own: per-request timestamps
    flags = parse_flags(server_args(run, choice.load_path, choice.load_format, "served", device, 8000,
                                    token_prompts=True))
    assert (flags.pop("served_model_name"), flags.pop("host"), flags.pop("port")) == ("served", "127.0.0.1", "8000")
    on = {k for k, v in kwargs.items() if v is not False}
    assert set(flags) - {"enable_prefix_caching"} == on  # False options are vLLM's defaults, left unsaid
    for key, value in kwargs.items():
        assert flags.get(key, False) == (value if isinstance(value, bool) else str(value)), key


def test_the_options_for_the_default_cpu_case():
    run, choice = case()
    assert cli_args(engine_options(run, "/m", "dummy", "cpu")) == [
        "--model", "/m", "--load-format", "dummy", "--skip-tokenizer-init", "--dtype", "bfloat16",
        "--kv-cache-dtype", "auto", "--max-model-len", "2048", "--tensor-parallel-size", "1",
        "--pipeline-parallel-size", "1", "--gpu-memory-utilization", "0.9", "--enforce-eager", "--seed", "0",
        "--no-enable-prefix-caching", "--kv-cache-memory-bytes", str(2 * 2**30)]


def test_device_decides_eager_and_the_cpu_kv_cache():
    run, choice = case(max_num_seqs=8, cpu_kv_cache_gb=0.5)
    cpu = engine_options(run, "/m", "dummy", "cpu")
    cuda = engine_options(run, "/m", "dummy", "cuda")
    assert cpu["enforce_eager"] is True and cpu["kv_cache_memory_bytes"] == 2**29 and cpu["max_num_seqs"] == 8
    assert cuda["enforce_eager"] is False and "kv_cache_memory_bytes" not in cuda
    text = engine_options(run, "/m", "dummy", "cuda", token_prompts=False)
    assert text["skip_tokenizer_init"] is False and "--skip-tokenizer-init" not in cli_args(text)


def test_building_the_options_imports_no_vllm():
    code = ("import sys, json, bench.engines.vllm_args, bench.engines.vllm_offline, bench.serve.server; "
            "print(json.dumps([m for m in ('vllm', 'torch') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_the_config_reaches_vllm_offline_and_the_server_as_one_object():
    ngram = '{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4}'
    cfg, _ = runconfig.resolve(runconfig.parse({"model": "tiny-qwen3", "speculative_config": ngram}))
    options = engine_options(cfg.model_dump(), "/m", "dummy", "cpu")
    assert options["speculative_config"] == {"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4}
    flags = cli_args(options)
    given = flags[flags.index("--speculative-config") + 1]
    assert json.loads(given) == options["speculative_config"]
