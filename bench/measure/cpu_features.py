"""What this CPU can do fast, from its instruction-set flags: which dtype a CPU run should use, and whether
vLLM's CPU build can keep an fp8 KV cache.

    python -m bench.measure.cpu_features dtype     # prints bfloat16 or float32 (scripts/demo.sh uses it)
    python -m bench.measure.cpu_features           # the choices and the flags that decided, one line

Why the dtype depends on the flags (measured on this project's machines): on an Intel Xeon with AVX-512 BF16 and AMX, bfloat16
ran Qwen2.5-0.5B at 80-87 output tok/s (bare LLM.generate, 16 x 128/64) where float32 gave 24.5; on an AMD
EPYC without bf16 instructions bfloat16 ran 5x slower than float32 (1.9 vs 9.9 tok/s): its matmuls are
emulated. So bfloat16 only where the CPU has bf16 dot-product instructions (avx512_bf16, or AMX's amx_bf16),
float32 elsewhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # any of them: the CPU multiplies bf16 natively
FP8_KV_FLAGS = ("avx512f", "amx_tile")  # vLLM's CPU build stores an fp8 KV cache only with one of them


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The instruction-set flags of the first CPU in /proc/cpuinfo (or of the text given); empty where there
    is no such file (macOS, Windows) or no flags line (ARM lists `Features`, read the same way)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return frozenset()
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_dtype(flags: frozenset[str] | set[str]) -> str:
    """bfloat16 when the CPU has native bf16 arithmetic (any of BF16_FLAGS), else float32 (see the module doc)."""
    return "bfloat16" if any(f in flags for f in BF16_FLAGS) else "float32"


def has_fp8_kv(flags: frozenset[str] | set[str]) -> bool:
    """Whether vLLM's CPU build can keep an fp8 KV cache on this CPU (any of FP8_KV_FLAGS)."""
    return any(f in flags for f in FP8_KV_FLAGS)


def main(argv: list[str]) -> int:
    flags = cpu_flags()
    if argv == ["dtype"]:
        print(cpu_dtype(flags))
        return 0
    if argv:
        print("usage: python -m bench.measure.cpu_features [dtype]", file=sys.stderr)
        return 2
    shown = sorted(f for f in flags if f in BF16_FLAGS + FP8_KV_FLAGS) or ["none of " + ", ".join(BF16_FLAGS + FP8_KV_FLAGS)]
    print(f"CPU dtype: {cpu_dtype(flags)}; fp8 KV cache: {'yes' if has_fp8_kv(flags) else 'no'} "
          f"(flags that decide: {' '.join(shown)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
