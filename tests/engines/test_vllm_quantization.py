"""--quantization on vLLM's CPU build: refused with the reason, nothing written."""

from __future__ import annotations

import pytest

from bench.cli import main

pytestmark = pytest.mark.engine


def test_the_cpu_build_refuses_quantization_with_the_reason(tmp_path, capsys):
    out = tmp_path / "runs.csv"
    rc = main(["run", "--model", "tiny-qwen2", "--quantization", "fp8", "--num-prompts", "2", "--output-len", "4",
               "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "the CPU build of vLLM cannot run it (FP8 GEMMs need CUDA kernels)" in err
    assert not out.exists()
