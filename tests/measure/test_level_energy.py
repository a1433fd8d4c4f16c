"""A serving level's energy from the GPU samples around it (bench.measure.level_energy), hand-computed."""

from __future__ import annotations

import pytest

from bench.measure.level_energy import coverage, level_energy_columns, window_energy_j

# Samples every second from t = 10 s: power 100 W then 300 W, the counter (J) growing by the power at each step.
SAMPLES = [{"t_s": 10.0, "power_w": 100.0, "energy_counter_j": 1000.0, "util_pct": 50.0},
           {"t_s": 11.0, "power_w": 100.0, "energy_counter_j": 1100.0, "util_pct": 50.0},
           {"t_s": 12.0, "power_w": 300.0, "energy_counter_j": 1300.0, "util_pct": 100.0},
           {"t_s": 13.0, "power_w": 300.0, "energy_counter_j": 1600.0, "util_pct": 100.0}]


def test_the_counter_is_read_at_the_windows_ends_by_interpolation():
    # counter at 10.5 = 1000 + 0.5 x 100 = 1050; at 12.5 = 1300 + 0.5 x 300 = 1450 -> 400 J over 2 s
    assert window_energy_j(SAMPLES, 10.5, 12.5) == (pytest.approx(400.0), "nvml-counter", "")
    cols = level_energy_columns(SAMPLES, 10.5, 12.5, input_tokens=300, output_tokens=100)
    # 400 J / 2 s = 200 W; 400 / 100 = 4 J per output token; 400 / 400 = 1 J per token
    assert cols["energy_j"] == pytest.approx(400.0) and cols["avg_power_w"] == pytest.approx(200.0)
    assert cols["joules_per_output_token"] == pytest.approx(4.0) and cols["joules_per_total_token"] == pytest.approx(1.0)
    # utilisation over the samples from 10 s (last at or before 10.5) to 13 s (first at or after 12.5)
    assert cols["gpu_util_pct"] == pytest.approx(75.0) and cols["energy_coverage"] == 1.0


def test_without_a_counter_the_power_is_integrated_over_the_window():
    power_only = [{k: v for k, v in s.items() if k != "energy_counter_j"} for s in SAMPLES]
    # power at 10.5: 100; samples inside: 11 (100), 12 (300); at 12.5: 300.
    # trapezoids: 0.5 x 100 + 1 x (100 + 300) / 2 + 0.5 x 300 = 50 + 200 + 150 = 400 J
    assert window_energy_j(power_only, 10.5, 12.5) == (pytest.approx(400.0), "nvml-power", "")


def test_a_frozen_counter_falls_back_to_power_and_says_so():
    frozen = [{**s, "energy_counter_j": 5.0} for s in SAMPLES]
    energy, source, note = window_energy_j(frozen, 10.5, 12.5)
    assert energy == pytest.approx(400.0) and source == "nvml-power" and "did not advance" in note


def test_samples_that_stop_early_leave_the_energy_empty():
    # sampling ended at 12 s: it covers 10.5-12 of 10.5-13.5, 1.5 / 3 = 50%
    assert coverage(SAMPLES[:3], 10.5, 13.5) == pytest.approx(0.5)
    cols = level_energy_columns(SAMPLES[:3], 10.5, 13.5, 10, 10, note="NVMLError: GPU is lost")
    assert cols["energy_j"] is None and cols["energy_coverage"] == pytest.approx(0.5)
    assert cols["energy_note"] == "NVMLError: GPU is lost; the GPU samples covered 50% of the level: energy not measured"
    assert level_energy_columns(SAMPLES, None, None, 0, 0)["energy_note"] == "no measured window (the warm-up failed)"
