"""GPU energy of each `bench serve` level, sampled with NVML on the GPUs of the server bench started, as `bench run`
samples its timed work (bench.measure.telemetry); the window arithmetic is bench.measure.level_energy. A level
without a GPU to read keeps its energy columns empty, and energy_note says why.
"""

from __future__ import annotations

from bench.measure.level_energy import EMPTY, level_energy_columns
from bench.measure.telemetry import NvmlSampler, join_notes, start_gpu_telemetry

NVML = None  # the pynvml module bench reads (None: import nvidia-ml-py); tests put tests/fake_nvml.py's stand-in here
CPU_NOTE = "the server runs on the CPU: no GPU to sample (no CPU energy reader yet)"
ENDPOINT_NOTE = "an endpoint's GPUs are not this machine's to read: energy not measured"


def start(device: str, local: bool, gpu_count: int) -> tuple[NvmlSampler | None, str]:
    """A started sampler on the local server's GPUs, or (None, why not). Never raises."""
    if not local:
        return None, ENDPOINT_NOTE
    if device != "cuda":
        return None, CPU_NOTE
    return start_gpu_telemetry(device, gpu_count, nvml=NVML)


def columns(sampler: NvmlSampler | None, why_not: str, t0: float | None, duration_s: float,
            input_tokens: int | None, output_tokens: int | None) -> dict:
    """The level's energy columns; the sampler is stopped here."""
    if sampler is None:
        return {**EMPTY, "energy_note": why_not or None}
    telemetry = sampler.stop()
    t1 = t0 + duration_s if t0 is not None else None
    return level_energy_columns(sampler.samples, t0, t1, input_tokens, output_tokens,
                                join_notes(telemetry.note, telemetry.error))


def stop_quietly(sampler: NvmlSampler | None) -> None:
    if sampler is not None:
        try:
            sampler.stop()
        except Exception:  # the level's own error is the one to report
            pass
