"""hardware.yaml as the roofline uses it: every reference GPU, case-insensitive names, did-you-mean,
NVML names, no roofline for a CPU entry."""

import pytest

from bench.config import hardware
from bench.errors import BenchError


def test_every_reference_gpu_is_there():
    expected = {"H100-SXM", "H100-PCIe", "H800-SXM", "H20", "H200-SXM", "A100-80G-SXM", "A800-80G-SXM", "L20",
                "L40S", "RTX-4090", "RTX-3090"}
    assert expected <= set(hardware.load_hardware().hardware)
    for name in expected:
        g = hardware.get_hardware(name)
        assert g.kind == "gpu" and g.spec_source and g.spec_date


def test_case_insensitive():
    assert hardware.canonical_name("rtx-4090") == "RTX-4090"
    assert hardware.get_hardware("h20").memory_bw_tb_s == 4.0


def test_unknown_names_close_ones():
    with pytest.raises(BenchError, match="did you mean.*H100-SXM"):
        hardware.get_hardware("H100-SMX")


def test_cpu_entry_has_no_roofline():
    from bench.roofline import bound as roofline
    cpu = hardware.Hardware(kind="cpu", memory_gb=512, memory_bw_tb_s=0.3, bf16_tflops=10, tdp_w=300,
                            spec_source="s", spec_date="d")
    assert roofline.gpu_spec("CPU", cpu) is None


@pytest.mark.parametrize("nvml, name", [
    ("NVIDIA H100 80GB HBM3", "H100-SXM"), ("NVIDIA H100 PCIe", "H100-PCIe"), ("NVIDIA A100-SXM4-80GB", "A100-80G-SXM"),
    ("NVIDIA GeForce RTX 4090", "RTX-4090"), ("NVIDIA H20", "H20"), ("NVIDIA H200", "H200-SXM"),
    ("NVIDIA A100 80GB PCIe", None), ("NVIDIA A100-SXM4-40GB", None), ("Tesla T4", None), (None, None),
])
def test_from_device_name(nvml, name):
    assert hardware.from_device_name(nvml) == name
