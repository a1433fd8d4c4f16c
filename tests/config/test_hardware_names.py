"""hardware.yaml as the roofline uses it: every reference GPU, case-insensitive names, did-you-mean,
NVML names, no roofline for a CPU entry."""

import pytest

from bench.config import hardware
from bench.core.errors import BenchError


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


# Real names as nvmlDeviceGetName / nvidia-smi --query-gpu=name print them, and the hardware.yaml entry each is.
# None: no entry for that variant (NVL, PCIe where only SXM is listed, 40 GB, GH200, H20-3e, 4090 D, 3090 Ti) or a
# MIG slice. Names seen in public benchmark logs and in vLLM's and NVIDIA's own device lists (2026).
REAL_NVML_NAMES = [
    ("NVIDIA H100 80GB HBM3", "H100-SXM"), ("NVIDIA H100 PCIe", "H100-PCIe"), ("NVIDIA H100 NVL", None),
    ("NVIDIA H200", "H200-SXM"), ("NVIDIA H200 NVL", None), ("NVIDIA GH200 480GB", None),
    ("NVIDIA H800", "H800-SXM"), ("NVIDIA H800 PCIe", None),
    ("NVIDIA H20", "H20"), ("NVIDIA H20-3e", None),
    ("NVIDIA A100-SXM4-80GB", "A100-80G-SXM"), ("NVIDIA A100-SXM4-40GB", None),
    ("NVIDIA A100 80GB PCIe", None), ("NVIDIA A100-PCIE-40GB", None),
    ("NVIDIA A800-SXM4-80GB", "A800-80G-SXM"), ("NVIDIA A800 80GB PCIe", None), ("NVIDIA A800-SXM4-40GB", None),
    ("NVIDIA L20", "L20"), ("NVIDIA L40S", "L40S"), ("NVIDIA L40", None),
    ("NVIDIA GeForce RTX 4090", "RTX-4090"), ("NVIDIA GeForce RTX 4090 D", None),
    ("NVIDIA GeForce RTX 3090", "RTX-3090"), ("NVIDIA GeForce RTX 3090 Ti", None),
    ("NVIDIA H100 80GB HBM3 MIG 1g.10gb", None), ("NVIDIA A100-SXM4-40GB MIG 3g.20gb", None),
    ("Tesla T4", None), ("", None), (None, None),
]


@pytest.mark.parametrize("nvml, name", REAL_NVML_NAMES)
def test_from_device_name(nvml, name):
    assert hardware.from_device_name(nvml) == name


def test_demo_sh_asks_the_one_mapping():
    """scripts/demo.sh names the GPU's hardware.yaml entry through from_device_name, not a case table of its own."""
    from pathlib import Path

    demo = (Path(__file__).resolve().parents[2] / "scripts" / "demo.sh").read_text()
    assert "bench.config.hardware" in demo and "*H100*" not in demo and "hw=H" not in demo


def test_the_module_prints_the_name():
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]

    def name(*argv):
        return subprocess.run([sys.executable, "-m", "bench.config.hardware", *argv], cwd=repo, capture_output=True,
                              text=True, timeout=60, env={"PYTHONPATH": str(repo)}).stdout

    assert name("NVIDIA H200") == "H200-SXM\n"
    assert name("NVIDIA", "H800", "PCIe") == "\n"  # no entry: nothing, and demo.sh leaves --hardware out
