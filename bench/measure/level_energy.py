"""The energy of one serving level from the GPU samples taken around it (bench.measure.telemetry.NvmlSampler). Pure.

The sampler runs from before the level's warm-up to after its last request; the level's measured window
[t0, t1] (first request sent to the level's end, the same clock) lies inside. Over that window:
- coverage = the part of [t0, t1] between the first and the last sample / (t1 - t0); below COVERAGE_MIN (sampling
  started late or an NVML error cut it short) the energy columns stay empty and the note says why;
- energy = the energy counter (summed over the GPUs, read at every sample) at t1 minus at t0, each linearly
  interpolated between the two samples around it ("nvml-counter"); where there is no counter, or it did not
  advance while the GPUs drew power (a frozen counter), the sampled power integrated over [t0, t1] by the
  trapezoid rule, the power at t0 and t1 interpolated ("nvml-power");
- average power = energy / (t1 - t0); joules per output token and per token of any kind; the GPUs' mean
  utilisation over the samples from the last at or before t0 to the first at or after t1 (a level shorter than
  the sampling interval still has two).
"""

from __future__ import annotations

from bench.measure.telemetry import frozen_counter, integrate_j, join_notes, mean, per_token_j

COVERAGE_MIN = 0.99
EMPTY = {"energy_j": None, "avg_power_w": None, "joules_per_output_token": None, "joules_per_total_token": None,
         "gpu_util_pct": None, "energy_source": None, "energy_note": None, "energy_coverage": None}


def value_at(points: list[tuple[float, float]], t: float) -> float:
    """A sampled value at time t: linear between the samples around it, the end sample's outside them."""
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


def bracketing(samples: list[dict], t0: float, t1: float) -> list[dict]:
    """The samples from the last one at or before t0 to the first one at or after t1."""
    first = max((i for i, s in enumerate(samples) if s["t_s"] <= t0), default=0)
    last = min((i for i, s in enumerate(samples) if s["t_s"] >= t1), default=len(samples) - 1)
    return samples[first:last + 1]


def coverage(samples: list[dict], t0: float, t1: float) -> float:
    if not samples or t1 <= t0:
        return 0.0
    first, last = samples[0]["t_s"], samples[-1]["t_s"]
    return max(0.0, min(last, t1) - max(first, t0)) / (t1 - t0)


def window_energy_j(samples: list[dict], t0: float, t1: float) -> tuple[float | None, str, str]:
    """(energy over [t0, t1] in J, its source, a note), by the module's method; (None, "", why) without power."""
    counter = [(s["t_s"], s["energy_counter_j"]) for s in samples if s.get("energy_counter_j") is not None]
    power = [(s["t_s"], s["power_w"]) for s in samples if s.get("power_w") is not None]
    note = ""
    if len(counter) == len(samples) and len(counter) >= 2:
        e = value_at(counter, t1) - value_at(counter, t0)
        if not frozen_counter(e, [p for _, p in power]):
            return e, "nvml-counter", ""
        note = f"the GPU energy counter did not advance ({e:g} J) while the GPUs drew power: energy integrated from " \
               "the power samples"
    if len(power) < 2:
        return None, "", join_notes(note, "no power samples: energy not measured")
    inside = [(t, p) for t, p in power if t0 < t < t1]
    edge = [(t0, value_at(power, t0)), *inside, (t1, value_at(power, t1))]
    return integrate_j([t for t, _ in edge], [p for _, p in edge]), "nvml-power", note


def level_energy_columns(samples: list[dict], t0: float | None, t1: float | None, input_tokens: int | None,
                         output_tokens: int | None, note: str = "") -> dict:
    """The row's energy columns for a level measured over [t0, t1] (module doc); `note`: the sampler's own (a MIG
    slice, an NVML error)."""
    if t0 is None or t1 is None or t1 <= t0:
        return {**EMPTY, "energy_note": join_notes(note, "no measured window (the warm-up failed)") or None}
    cov = coverage(samples, t0, t1)
    if cov < COVERAGE_MIN:
        why = f"the GPU samples covered {cov:.0%} of the level: energy not measured"
        return {**EMPTY, "energy_coverage": cov, "energy_note": join_notes(note, why)}
    energy, source, how = window_energy_j(samples, t0, t1)
    util = [s["util_pct"] for s in bracketing(samples, t0, t1) if s.get("util_pct") is not None]
    return {
        "energy_j": energy, "avg_power_w": energy / (t1 - t0) if energy is not None else None,
        **per_token_j(energy, input_tokens, output_tokens),
        "gpu_util_pct": mean(util), "energy_source": source or None, "energy_note": join_notes(note, how) or None,
        "energy_coverage": cov,
    }
