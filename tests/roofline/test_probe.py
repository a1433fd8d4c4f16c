"""bench probe: backend and dtype choice, the numpy path, the entries it writes (CPU float32, CPU bf16, GPU)
and what the roofline reads from them; the torch path on the CPU (engine tier: torch installed)."""

from __future__ import annotations

import pytest

from bench import cli
from bench.config import hardware
from bench.core.errors import BenchError
from bench.roofline import bound, predict, probe


def _hardware_copy(tmp_path, monkeypatch):
    path = tmp_path / "hardware.yaml"
    path.write_text(hardware.DEFAULT_HARDWARE_FILE.read_text())
    monkeypatch.setenv("BENCH_HARDWARE", str(path))
    return path


@pytest.mark.parametrize("backend, dtype, torch_present, cuda, cpu_dtype, expected", [
    ("auto", None, True, False, "bfloat16", ("torch", "bfloat16")),  # the CPU's own choice
    ("auto", None, True, False, "float32", ("torch", "float32")),
    ("auto", None, True, True, "float32", ("torch", "bfloat16")),  # a GPU: its tensor rate
    ("auto", None, False, False, "bfloat16", ("numpy", "float32")),  # no torch: numpy, float32 only
    ("numpy", None, True, False, "bfloat16", ("numpy", "float32")),
    ("torch", "float16", True, True, "float32", ("torch", "float16")),
])
def test_backend_and_dtype_choice(backend, dtype, torch_present, cuda, cpu_dtype, expected):
    assert probe.choose(backend, dtype, torch_present, cuda, cpu_dtype) == expected


@pytest.mark.parametrize("backend, dtype, torch_present, cuda, says", [
    ("tensorflow", None, True, False, "--backend tensorflow: not a probe backend; choose one of auto, torch, numpy"),
    ("auto", "int8", True, False, "--dtype int8: not a probe dtype"),
    ("torch", None, False, False, "--backend torch: torch is not importable here"),
    ("numpy", "bfloat16", True, False, "--dtype bfloat16: numpy's BLAS multiplies float32 only; give --dtype float32 "
                                       "or --backend torch"),
    ("auto", "bfloat16", False, False, "or install torch"),
    ("torch", "float32", True, True, "--dtype float32 on a GPU"),
])
def test_requests_that_cannot_be_measured_are_one_line(backend, dtype, torch_present, cuda, says):
    with pytest.raises(BenchError, match=None) as e:
        probe.choose(backend, dtype, torch_present, cuda, "float32")
    assert says in str(e.value) and "\n" not in str(e.value)


def test_bad_options_exit_2_and_leave_hardware_yaml_alone(tmp_path, monkeypatch, capsys):
    path = _hardware_copy(tmp_path, monkeypatch)
    before = path.read_text()
    monkeypatch.setattr(probe.importlib.util, "find_spec", lambda name: None)  # as without torch
    for argv in (["--backend", "jax"], ["--dtype", "int4"], ["--backend", "numpy", "--dtype", "float16"],
                 ["--backend", "torch"]):
        assert cli.main(["probe", "--name", "my-cpu", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert path.read_text() == before


def test_numpy_path_measures_positive_figures():
    f = probe.measure(0.05, backend="numpy")
    assert (f.backend, f.dtype, f.device) == ("numpy", "float32", "cpu")
    assert f.bandwidth_gb_s > 0 and f.matmul_gflops > 0 and f.memory_gb > 0 and f.cores >= 1


def test_cpu_bf16_entry_gives_a_roofline_with_its_measured_peak(tmp_path, monkeypatch):
    _hardware_copy(tmp_path, monkeypatch)
    f = probe.Figures(25.0, 800.0, 32.0, 2, "test figures", backend="torch", dtype="bfloat16", device="cpu")
    probe.write_entry("cpu-bf16", f, 100.0)
    hw = hardware.get_hardware("cpu-bf16")
    assert (hw.kind, hw.bf16_tflops, hw.fp32_tflops, hw.memory_bw_tb_s) == ("cpu", 0.8, None, 0.025)
    assert "backend torch, dtype bfloat16, device cpu" in hw.notes and hw.spec_source.startswith("bench probe")
    gpu = predict.require_gpu("cpu-bf16")
    assert gpu.peak_measured
    assert bound.peak_flops_per_gpu(gpu, "bfloat16") == pytest.approx(800e9)  # the measured 16-bit rate
    assert bound.peak_flops_per_gpu(gpu, "float32") == pytest.approx(400e9)  # 800 / 2: float32 not measured


def test_cpu_float32_entry_keeps_float32_as_every_peak(tmp_path, monkeypatch):
    _hardware_copy(tmp_path, monkeypatch)
    probe.write_entry("cpu-f32", probe.Figures(20.0, 50.0, 16.0, 4, "test figures", backend="torch"), 100.0)
    gpu = predict.require_gpu("cpu-f32")
    assert bound.peak_flops_per_gpu(gpu, "float32") == pytest.approx(50e9)
    assert bound.peak_flops_per_gpu(gpu, "bfloat16") == pytest.approx(50e9)  # no tensor units assumed


def test_gpu_entry_is_a_gpu_with_a_measured_bf16_peak(tmp_path, monkeypatch):
    _hardware_copy(tmp_path, monkeypatch)
    # 4,000 GB/s copy = 4.0 TB/s; 700,000 GFLOPS = 700 TFLOPS bf16
    f = probe.Figures(4000.0, 700000.0, 150.0, 132, "test figures", backend="torch", dtype="bfloat16", device="cuda")
    probe.write_entry("my-gpu", f, 700.0)
    hw = hardware.get_hardware("my-gpu")
    assert (hw.kind, hw.bf16_tflops, hw.memory_bw_tb_s, hw.cores) == ("gpu", 700.0, 4.0, None)
    gpu = predict.require_gpu("my-gpu")
    assert gpu.peak_measured and gpu.bf16_flops == pytest.approx(700e12)
    assert not predict.require_gpu("H100-SXM").peak_measured  # datasheet entries stay datasheet


@pytest.mark.engine("torch")
def test_torch_path_on_the_cpu_writes_a_valid_entry(tmp_path, monkeypatch):
    _hardware_copy(tmp_path, monkeypatch)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    f = probe.measure(0.5, backend="torch", dtype="float32")
    assert (f.backend, f.dtype, f.device) == ("torch", "float32", "cpu")
    assert f.bandwidth_gb_s > 0 and f.matmul_gflops > 0
    probe.write_entry("torch-cpu", f, 100.0)
    hw = hardware.get_hardware("torch-cpu")
    assert hw.kind == "cpu" and hw.fp32_tflops == pytest.approx(f.matmul_gflops / 1e3, rel=1e-3)
    assert "torch" in hw.spec_source and "float32 1024^3 matmul" in hw.spec_source
    assert predict.require_gpu("torch-cpu").peak_measured
