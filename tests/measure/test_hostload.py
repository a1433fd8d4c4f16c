"""bench.measure.hostload: the CPU that went elsewhere while bench measured (steal, other processes). No engine."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from bench.measure import hostload

STAT = """cpu  1000 50 300 5000 20 0 30 100 40 0
cpu0 500 25 150 2500 10 0 15 50 20 0
intr 12345
"""


def test_the_aggregate_cpu_line_is_read_as_its_first_eight_counters():
    assert hostload.cpu_ticks(STAT) == (1000, 50, 300, 5000, 20, 0, 30, 100)  # guest (40) left out: inside user
    assert hostload.cpu_ticks("cpu  1 2 3 4\n") == (1, 2, 3, 4, 0, 0, 0, 0)  # an old kernel's short line
    assert hostload.cpu_ticks("cpu0 1 2 3 4\n") is None


def test_shares_by_hand():
    """Over the window: user +300, nice +0, system +100, idle +1,500, iowait +0, irq +0, softirq +20, steal +80 ticks
    at 100 a second: all 2,000 ticks = 20 s (10 s on 2 cores); busy 420 ticks = 4.2 s; the tree used 3.0 s.
    steal = 80 / 2,000 = 4%; other = (4.2 - 3.0) / 20 = 6%."""
    before = (1000, 50, 300, 5000, 20, 0, 30, 100)
    after = (1300, 50, 400, 6500, 20, 0, 50, 180)
    got = hostload.shares(before, after, tree_s=3.0, ticks_per_s=100.0, cores=2)
    assert got["host_steal_pct"] == pytest.approx(4.0)
    assert got["host_other_cpu_pct"] == pytest.approx(6.0)
    assert got["host_bound_pct"] == pytest.approx(0.2)  # 2 ticks a core at each end: 4 of 2,000
    # the tree counted more than the machine was busy (tick rounding): other is 0, never negative
    assert hostload.shares(before, after, tree_s=5.0, ticks_per_s=100.0, cores=2)["host_other_cpu_pct"] == 0.0
    assert hostload.shares(before, before, 0.0, 100.0, 2) == {"host_steal_pct": None, "host_other_cpu_pct": None}


def test_the_tree_counts_growth_and_processes_that_started_inside_the_window():
    before = {10: 5.0, 11: 2.0, 12: 1.0}  # 12 ends inside the window: its later time is lost (module doc)
    after = {10: 6.5, 11: 2.0, 13: 0.75}  # 13 started inside: all of it
    assert hostload.tree_delta_s(before, after) == pytest.approx(1.5 + 0.0 + 0.75)


def test_the_warning_names_what_was_elsewhere():
    assert hostload.warning({"host_other_cpu_pct": 9.9, "host_steal_pct": 4.9}) is None
    assert hostload.warning({"host_other_cpu_pct": None, "host_steal_pct": None}) is None
    line = hostload.warning({"host_other_cpu_pct": 23.4, "host_steal_pct": 0.0})
    assert "23% of its CPU went to processes outside bench's" in line and "rerun with nothing else running" in line
    assert "6% to the hypervisor" in hostload.warning({"host_other_cpu_pct": 0.0, "host_steal_pct": 6.2})
    # a window of 0.15 s on 2 cores (15 ticks): one tick is 6.7 points; 13 points elsewhere is within the rounding
    assert hostload.warning({"host_other_cpu_pct": 13.3, "host_steal_pct": 0.0, "host_bound_pct": 26.7}) is None
    assert hostload.warning({"host_other_cpu_pct": 40.0, "host_steal_pct": 0.0, "host_bound_pct": 26.7})


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="Linux only")
def test_a_busy_process_outside_the_tree_is_other_and_one_inside_is_not():
    """A process that bench's tree does not hold (started in a new session and orphaned: its parent exits at once)
    burns a core for 1 s: at least most of that second is counted elsewhere whatever else the machine does (other
    processes only add to it). The same burn inside the tree (this process) is counted in the tree."""
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.0: pass\n"
    load = hostload.HostLoad().start()
    start = time.monotonic()
    # a child that starts the burner, says its pid and exits: the burner leaves this process's tree
    pid = int(subprocess.run([sys.executable, "-c", "import subprocess, sys; print(subprocess.Popen([sys.executable, "
                              f"'-c', {burn!r}], start_new_session=True).pid)"], check=True, capture_output=True,
                             text=True).stdout)
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() - start < 60, "the burner did not end"
        time.sleep(0.05)
    got = load.stop()
    window_cpu_s = (time.monotonic() - start) * os.cpu_count()
    assert got["host_other_cpu_pct"] >= 100 * 0.9 / window_cpu_s  # the burner's 1 s, less tick rounding
    t0 = time.process_time()
    before = hostload._tree_cpu_s(os.getpid())
    while time.process_time() - t0 < 0.5:
        pass
    assert hostload.tree_delta_s(before, hostload._tree_cpu_s(os.getpid())) >= 0.45


def test_a_run_case_says_what_else_the_machine_did_and_warns_beyond_its_rounding():
    """bench run's case table (bench.display.run): the two figures, and the warning only where the figure exceeds the
    threshold by more than the tick rounding of the case's window: 200 / (elapsed s x 100 ticks) points, 2 for 1 s,
    20 for 0.1 s."""
    from bench.display.run import machine_text

    assert hostload.row_bound_pct(1.0, 100.0) == pytest.approx(2.0)
    assert hostload.row_bound_pct(0.1, 100.0) == pytest.approx(20.0)
    assert hostload.row_bound_pct(None, 100.0) == float("inf")
    quiet = {"host_other_cpu_pct": 0.6, "host_steal_pct": 0.2, "elapsed_s": 2.4}
    assert machine_text(quiet) == "0.6% of the CPU elsewhere, 0.2% stolen"
    busy = {"host_other_cpu_pct": 35.0, "host_steal_pct": 0.0, "elapsed_s": 10.0}
    assert "35% of its CPU went to processes outside bench's" in machine_text(busy)
    # the same 13 points over 0.15 s (a bound of 13.3 at 100 ticks a second) cannot tell
    if os.sysconf("SC_CLK_TCK") == 100:
        assert "not quiet" not in machine_text({"host_other_cpu_pct": 13.0, "host_steal_pct": 0.0, "elapsed_s": 0.15})
