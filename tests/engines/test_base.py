"""What the worker hands an engine (bench/engines/base.py's EngineSpec): a RunConfig validated again from the JSON
the parent wrote, and the case's requests; engines (and the worker) read the config by attribute."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from bench.config.catalog import choose_weights
from bench.config.run import RunConfig, parse, resolve
from bench.engines.base import EngineSpec
from bench.execution.case import engine_spec

REPO = Path(__file__).resolve().parents[2]


def test_the_spec_round_trips_and_a_run_that_is_not_a_runconfig_is_refused():
    cfg, model = resolve(parse({"model": "tiny-qwen2", "engine": "sim", "hardware": "H100-SXM", "num_prompts": 2,
                                "input_len": 8, "output_len": 4}))
    spec = engine_spec(cfg, model, choose_weights(model, "dummy"))
    back = EngineSpec.from_json(spec.to_json())
    assert isinstance(back.run, RunConfig) and back.run == cfg
    assert back.workload == spec.workload and back.model_config == model.config
    assert (back.load_path, back.load_format) == (spec.load_path, spec.load_format)
    text = spec.to_json().replace('"max_num_seqs": null', '"max_num_seqs": null, "max_num_sequences": 4')
    with pytest.raises(ValidationError, match="max_num_sequences"):
        EngineSpec.from_json(text)


def run_key_reads(text: str) -> list[str]:
    """run["x"] and run.get("x") on the case's config (run, self.run, spec.run)."""
    names = {"run", "self.run", "spec.run"}
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) in names and \
                isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and \
                ast.unparse(node.func.value) in names and node.args and isinstance(node.args[0], ast.Constant):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_engines_and_the_worker_read_the_config_by_attribute():
    assert len(run_key_reads('x = self.run["seed"]\ny = spec.run.get("device")\nz = run.seed\n')) == 2
    found = [f"{p.relative_to(REPO)} {hit}" for folder in ("engines", "execution")
             for p in sorted((REPO / "bench" / folder).rglob("*.py")) for hit in run_key_reads(p.read_text())]
    assert found == []


def test_an_engines_environment_keeps_the_hub_offline_and_vllms_usage_report_off_unless_told():
    from bench.engines.base import engine_env
    from bench.config.serve import parse
    from bench.serve.session import _server_env

    assert engine_env({"PATH": "/bin"}, "dummy") == {"PATH": "/bin", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                                     "VLLM_NO_USAGE_STATS": "1"}
    assert engine_env({}, "hub") == {"VLLM_NO_USAGE_STATS": "1"}  # --weights hub: the hub may be reached
    assert engine_env({"VLLM_NO_USAGE_STATS": "0", "HF_HUB_OFFLINE": "0"}, "dummy")["VLLM_NO_USAGE_STATS"] == "0"
    env = {"VLLM_NO_USAGE_STATS": "0", "HF_HUB_OFFLINE": "0"}
    assert engine_env(env, "dummy")["HF_HUB_OFFLINE"] == "0" and env == {"VLLM_NO_USAGE_STATS": "0",
                                                                          "HF_HUB_OFFLINE": "0"}  # a copy
    served = _server_env(parse({"model": "tiny-qwen2"}))  # vLLM's server bench starts: the same, and no API key
    assert served["VLLM_NO_USAGE_STATS"] and served["HF_HUB_OFFLINE"] and "VLLM_API_KEY" not in served
