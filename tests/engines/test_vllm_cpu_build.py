"""What vLLM's CPU build cannot run, said in one line before an engine starts (bench.engines.vllm_offline); the
command-line refusals are engine-tier tests (tests/engines/test_vllm_refusals.py)."""

import pytest

from bench.config.catalog import resolve_model
from bench.engines.vllm_offline import cpu_build_problem


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
