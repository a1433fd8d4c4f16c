"""`bench sweep --ray ADDRESS` against a local Ray instance this module starts (and stops).

The cases use the fault engine, so no GPU and no vLLM are needed; Ray runs them as tasks and the
driver records the rows."""

import os
import signal

import pytest

import fault_engine
from bench.results import store as results
from tests.e2e.test_sweep_faults import finish, gone, hang_pids, rows, start, wait_for, write_sweep

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory):
    """A local Ray instance whose workers import this checkout and know the fault engines."""
    import ray

    from tests.e2e.test_sweep_faults import REPO, TESTS

    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "BENCH_ENGINES")}
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), str(REPO), saved["PYTHONPATH"] or "") if p)
    os.environ["BENCH_ENGINES"] = fault_engine.BENCH_ENGINES
    ctx = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ctx.address_info["gcs_address"]
    finally:
        ray.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_cases_run_as_ray_tasks_and_the_driver_records_every_row(tmp_path, ray_address):
    s = write_sweep(tmp_path, cases=[{"engine": "fault-ok"}, {"engine": "fault-ok", "seed": 1},
                                     # the hang must start (process start, imports, the RunConfig validated)
                                     {"engine": "fault-oom"}, {"engine": "fault-hang", "timeout_s": 5}])
    code, out = finish(start(tmp_path, s, "--ray", ray_address), timeout=300)
    assert code == 3, out
    df = rows(tmp_path)
    assert sorted(df.status) == ["ok", "ok", "oom", "timeout"]
    assert df.hostname.notna().all()
    assert all((tmp_path / "runs" / f"{r}.json").exists() for r in df.run_id)
    oom = df[df.status == "oom"].iloc[0]
    assert (tmp_path / "runs" / f"{oom.run_id}.log").exists()  # the engine log came back from the node
    worker, grandchild = hang_pids(tmp_path)
    assert gone(worker) and gone(grandchild)
    code, out = finish(start(tmp_path, s, "--ray", ray_address, "--resume"), timeout=300)
    assert code == 3 and len(rows(tmp_path)) == 6  # only the oom and the timeout ran again


def test_sigterm_cancels_the_running_task_and_records_it_interrupted(tmp_path, ray_address):
    s = write_sweep(tmp_path, cases=[{"engine": "fault-ok"}, {"engine": "fault-hang", "timeout_s": 120}])
    proc = start(tmp_path, s, "--ray", ray_address)
    worker, grandchild = hang_pids(tmp_path)
    csv = tmp_path / "runs.csv"
    wait_for(lambda: csv.exists() and len(results.read_rows(csv)) == 1, 120, "the ok case's row")
    os.kill(proc.pid, signal.SIGTERM)
    code, out = finish(proc, timeout=120)
    assert code == 130, out
    assert gone(worker) and gone(grandchild)
    df = rows(tmp_path)
    assert sorted(df.status) == ["interrupted", "ok"]
    assert df[df.status == "interrupted"].error.iloc[0] == "stopped by SIGTERM"


def test_no_cluster_at_the_address_is_one_line(tmp_path):
    s = write_sweep(tmp_path, cases=[{"engine": "fault-ok"}])
    code, out = finish(start(tmp_path, s, "--ray", "127.0.0.1:1"), timeout=300)
    assert code == 2 and "cannot connect to a Ray cluster" in out and not (tmp_path / "runs.csv").exists()


def test_a_case_needing_more_gpus_than_any_node_is_refused_before_anything_runs(tmp_path, ray_address):
    s = write_sweep(tmp_path, cases=[{"engine": "fault-ok"}, {"engine": "vllm", "device": "cuda",
                                                               "tensor_parallel_size": 2}])
    code, out = finish(start(tmp_path, s, "--ray", ray_address), timeout=300)
    assert code == 2 and "no node of the Ray cluster has enough GPUs (largest: 0): #2 needs 2" in out
    assert not (tmp_path / "runs.csv").exists()
