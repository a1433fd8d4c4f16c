"""scripts/tier_cpu.py: a test file's CPU seconds include the processes its tests leave orphaned (as vLLM's engine
core and a server's engine end), which pytest's own getrusage(RUSAGE_CHILDREN) never sees."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

ORPHAN_TEST = '''
import os, subprocess, sys


def test_leaves_a_cpu_burning_orphan():
    # the child starts a grandchild and exits at once: the grandchild, reparented, burns 1.5 CPU s after the test
    burn = "import time, resource\\nwhile sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) < 1.5: pass"
    spawn = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {burn!r}])"
    subprocess.run([sys.executable, "-c", spawn], check=True)
'''


def test_an_orphans_cpu_seconds_are_counted(tmp_path):
    test_file = tmp_path / "test_orphan.py"
    test_file.write_text(ORPHAN_TEST)
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "tier_cpu.py"), "-m", "not engine", "--jobs", "1",
                           str(test_file)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    cpu_s, wall_s, code, path = lines[0].split("\t")
    assert path == str(test_file) and code == "0"
    assert float(cpu_s) >= 1.5  # the orphan's 1.5 CPU s, with pytest's own
    assert lines[-1].startswith(f"{cpu_s}\tCPU seconds in all, 1 files")
