"""The CPU dtype and fp8-KV choices come from the CPU's flags (bench.measure.cpu_features)."""

import pytest

from bench.measure.cpu_features import cpu_dtype, cpu_flags, has_fp8_kv

XEON_SPR = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
EPYC_ZEN3 = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse avx2 fma\n"
EPYC_ZEN4 = "model name\t: AMD EPYC 9B14\nflags\t\t: fpu avx2 avx512f avx512_bf16\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n"


@pytest.mark.parametrize("cpuinfo,dtype,fp8", [
    (XEON_SPR, "bfloat16", True),   # AMX: bf16 native (80-87 tok/s vs 24.5 in float32, measured)
    (EPYC_ZEN4, "bfloat16", True),  # avx512_bf16: native bf16 dot products
    (EPYC_ZEN3, "float32", False),  # no bf16 instructions: bfloat16 ran 5x slower than float32
    (ARM, "float32", False),        # `bf16` is not one of the x86 flags vLLM's CPU kernels use
    ("", "float32", False),         # no /proc/cpuinfo text at all
])
def test_dtype_and_fp8_kv_follow_the_flags(cpuinfo, dtype, fp8):
    flags = cpu_flags(cpuinfo)
    assert cpu_dtype(flags) == dtype
    assert has_fp8_kv(flags) is fp8


def test_flags_are_read_from_the_first_flags_line():
    assert cpu_flags(XEON_SPR) == {"fpu", "avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}
    assert cpu_flags(ARM) == {"fp", "asimd", "bf16", "i8mm"}
