"""Process handling of one case: root cause of failures, stopping the whole engine process group."""


def test_root_cause_digs_out_the_worker_error():
    from bench.execution.forensics import root_cause

    log = "\n".join([
        "(Worker pid=1) ERROR x RuntimeError: real trouble deep down",
        "(EngineCore pid=2) ERROR y RuntimeError: Worker failed with error 'FP8 KV cache on CPU requires x86 "
        "with AVX-512 or AMX.', please check the stack trace above for the root cause",
        "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}",
    ])
    assert root_cause(log) == "FP8 KV cache on CPU requires x86 with AVX-512 or AMX."
    assert root_cause("ValueError: bad\nRuntimeError: Engine core initialization failed. See root cause above.") \
        == "ValueError: bad"
    assert root_cause("all fine\n") == ""


def test_kill_group_also_stops_children_that_outlive_the_leader():
    """The engine core can linger after the worker exits; stopping a case must take it down too."""
    import os
    import subprocess
    import sys
    import time

    from bench.execution import process
    child_code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    leader_code = (f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {child_code!r}]); "
                   "print(p.pid, flush=True)")
    proc = subprocess.Popen([sys.executable, "-c", leader_code], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    child = int(proc.stdout.readline())
    proc.wait(timeout=10)  # the leader has exited, its SIGTERM-proof child has not
    old = process.KILL_GRACE_S
    process.KILL_GRACE_S = 0.5
    try:
        t0 = time.monotonic()
        process.kill_group(proc)
    finally:
        process.KILL_GRACE_S = old
    assert time.monotonic() - t0 < 5
    time.sleep(0.2)
    try:
        os.kill(child, 0)
        alive = open(f"/proc/{child}/stat").read().split()[2] != "Z"
    except ProcessLookupError:
        alive = False
    assert not alive
