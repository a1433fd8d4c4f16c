"""Tier 2, no engine started: what vLLM's CPU build (installed here) refuses, and a speculative config vLLM itself
rejects, are one line and exit 2 before any engine starts, with nothing written."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine
REPO = Path(__file__).resolve().parents[2]


def bench_run(tmp_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", "run", *args, "--device", "cpu", "--num-prompts", "2",
                           "--input-len", "16", "--output-len", "8", "--out", str(tmp_path / "rows.csv")],
                          cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("args, says", [
    (["--model", "tiny-deepseek-v32"],
     "DeepseekV32ForCausalLM: vLLM's CPU build cannot run it: DeepSeek-V3.2's sparse attention"),
    (["--model", "gpt-oss-20b"],  # MXFP4 experts: no such format on CPU; the line says how bench charges its bytes
     "MXFP4 weights (the config's quantization_config): vLLM's CPU build cannot run it: no MXFP4 MoE kernel runs on "
     "CPU (vLLM's need a GPU of compute capability 8.0 or newer); on GPUs without FP4 units bench charges MXFP4 "
     "weights at 4.25 bits and their GEMMs at the bf16 peak; predict it with --engine sim --hardware GPU"),
    (["--model", "tiny-qwen3", "--speculative-config", '{"method": "eagle", "num_speculative_tokens": 2}'],
     "vLLM rejects it: num_speculative_tokens was provided but without speculative model"),
])
def test_refused_in_one_line_before_anything_runs(tmp_path, args, says):
    proc = bench_run(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.count("\n") == 1 and says in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "rows.csv").exists()
