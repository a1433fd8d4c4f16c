"""hardware.yaml: strict schema, case-insensitive names, did-you-mean, NVML names."""

import pytest

from bench import hardware
from bench.errors import BenchError


def test_every_reference_gpu_is_there():
    expected = {"H100-SXM", "H100-PCIe", "H800-SXM", "H20", "H200-SXM", "A100-80G-SXM", "A800-80G-SXM", "L20",
                "L40S", "RTX-4090", "RTX-3090"}
    assert expected <= set(hardware.names())
    for name in expected:
        g = hardware.get_hardware(name)
        assert g.source and g.date


def test_case_insensitive():
    assert hardware.canonical_name("rtx-4090") == "RTX-4090"
    assert hardware.get_hardware("h20").memory_bw_tb_s == 4.0


def test_unknown_names_close_ones():
    with pytest.raises(BenchError, match="did you mean.*H100-SXM"):
        hardware.get_hardware("H100-SMX")


def test_strict_schema(tmp_path):
    bad = tmp_path / "hw.yaml"
    bad.write_text("gpus:\n  X:\n    memory_gb: 1\n    memory_bw_tb_s: 1\n    bandwith: 2\n    source: s\n    date: d\n")
    with pytest.raises(BenchError, match="unknown field 'gpus.X.bandwith'"):
        hardware.load(bad)


@pytest.mark.parametrize("nvml, name", [
    ("NVIDIA H100 80GB HBM3", "H100-SXM"), ("NVIDIA H100 PCIe", "H100-PCIe"), ("NVIDIA A100-SXM4-80GB", "A100-80G-SXM"),
    ("NVIDIA GeForce RTX 4090", "RTX-4090"), ("NVIDIA H20", "H20"), ("NVIDIA H200", "H200-SXM"),
    ("NVIDIA A100 80GB PCIe", None), ("NVIDIA A100-SXM4-40GB", None), ("Tesla T4", None), (None, None),
])
def test_from_device_name(nvml, name):
    assert hardware.from_device_name(nvml) == name
