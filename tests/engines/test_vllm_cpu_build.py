"""What vLLM's CPU build cannot run, said in one line before an engine starts (bench.engines.vllm_build); the
command-line refusals are engine-tier tests (tests/engines/test_vllm_refusals.py)."""

import pytest
import yaml

from bench.cli import main
from bench.config.catalog import resolve_model
from bench.engines.vllm_build import cpu_build_problem


@pytest.mark.parametrize("model, says", [
    ("tiny-deepseek-v32", "DeepseekV32ForCausalLM: vLLM's CPU build cannot run it: DeepSeek-V3.2's sparse attention"),
    ("gpt-oss-20b", "MXFP4 weights (the config's quantization_config): vLLM's CPU build cannot run it"),
])
def test_what_the_cpu_build_cannot_run_is_one_line(model, says):
    problem = cpu_build_problem(resolve_model(model).config)
    assert problem.startswith(says) and "\n" not in problem and "--engine sim" in problem
    if "MXFP4" in says:  # how bench charges the format where the hardware has none
        assert "bench charges MXFP4 weights at 4.25 bits and their GEMMs at the bf16 peak" in problem
    assert cpu_build_problem(resolve_model("tiny-gpt-oss").config) is None  # its experts are bf16


@pytest.fixture
def cpu_build_without_vllm(monkeypatch):
    """This Python as if vLLM's CPU build were installed (package metadata and the package check), with no worker
    allowed to start: a refusal must come before one."""
    from bench.engines import vllm_build
    from bench.execution import case, process

    monkeypatch.setattr(vllm_build, "installed_vllm_build", lambda: ("cpu", "0.32.0"))
    monkeypatch.setattr(case, "required_package", lambda engine: None)

    def no_worker(*args, **kwargs):
        raise AssertionError("a worker was started")

    monkeypatch.setattr(process, "spawn_worker", no_worker)


def test_bench_run_refuses_it_before_a_worker_starts(tmp_path, capsys, cpu_build_without_vllm):
    out = tmp_path / "rows.csv"
    code = main(["run", "--model", "tiny-deepseek-v32", "--device", "cpu", "--num-prompts", "2", "--input-len", "16",
                 "--output-len", "8", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "DeepseekV32ForCausalLM: vLLM's CPU build cannot run it" in err and not out.exists()


def test_a_sweep_names_the_cases_it_cannot_run_before_the_first_starts(tmp_path, capsys, cpu_build_without_vllm):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"base": {"engine": "vllm", "device": "cpu", "num_prompts": 2, "input_len": 16,
                                              "output_len": 8},
                                     "grid": {"model": ["tiny-qwen2", "tiny-deepseek-v32", "gpt-oss-20b"]}}))
    out = tmp_path / "rows.csv"
    code = main(["sweep", str(sweep), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists(), err
    assert "2 problems in 3 cases; nothing was run" in err and "case #1" not in err  # tiny-qwen2 it can run
    assert "case #2 (model=tiny-deepseek-v32) · model: DeepseekV32ForCausalLM: vLLM's CPU build cannot run it" in err
    assert "case #3 (model=gpt-oss-20b) · model: MXFP4 weights (the config's quantization_config)" in err


def test_another_build_or_engine_is_left_to_the_worker(monkeypatch):
    from bench.engines import vllm_build

    config = resolve_model("tiny-deepseek-v32").config
    monkeypatch.setattr(vllm_build, "installed_vllm_build", lambda: ("cuda", "0.24.0"))
    assert vllm_build.refusal_here("vllm", "auto", config) is None
    monkeypatch.setattr(vllm_build, "installed_vllm_build", lambda: ("cpu", "0.32.0"))
    assert vllm_build.refusal_here("vllm", "cuda", config) is None  # the worker says the build is the CPU one
    assert vllm_build.refusal_here("hf", "cpu", config) is None
    assert vllm_build.refusal_here("vllm", "auto", config).startswith("DeepseekV32ForCausalLM")
