"""bench serve --find-max-load against tests/fault_server.py (no vllm): one row per level tried, the boundary
marked, the search in the sweep record; and its bad input. The search's arithmetic is tests/analysis/test_boundary.py."""

import json
import time

import pandas as pd
import pytest

from bench.cli import main
from fault_server import FaultServer

WORKLOAD = ["--model", "tiny-qwen2", "--input-len", "16", "--output-len", "8"]
BOUND_S = 60  # generous: the two levels take a few seconds; the bound catches a hang, not a slow machine


def test_a_search_writes_a_row_per_level_and_marks_the_boundary(tmp_path, capsys):
    out = tmp_path / "serve.csv"
    with FaultServer() as server:
        t = time.monotonic()
        # a target every level meets (60 s): the search grows 1000/s -> 2000/s, and the last step the limit allows
        # measures 2000/s again to confirm it (both runs' requests pooled)
        code = main(["serve", *WORKLOAD, "--endpoint", server.url, "--out", str(out), "--find-max-load",
                     "--slo-ttft-ms", "60000", "--num-prompts", "299", "--request-rate", "1000", "--max-steps", "3"])
    assert code == 0 and time.monotonic() - t < BOUND_S
    rows = pd.read_csv(out)
    # the confirmation, the boundary, is held back until the search ends: the rows come in the order decided
    assert list(rows["request_rate"]) == [1000.0, 2000.0, 2000.0] and list(rows["search_step"]) == [1, 2, 3]
    assert list(rows["search_passed"]) == [True] * 3 and list(rows["slo_boundary"]) == [False, False, True]
    assert (rows["ttft_p99_bound_ms"] <= 60000).all() and rows["sweep_id"].nunique() == 1
    assert rows["energy_note"].str.startswith("an endpoint's GPUs").all() and rows["energy_j"].isna().all()
    sweep = json.loads((out.with_suffix("") / f"{rows['sweep_id'][0]}.sweep.json").read_text())["search"]
    assert sweep["axis"] == "rate" and sweep["boundary"] == 2000.0 and sweep["confirm"] is True
    assert sweep["stopped"] == "step limit (3 levels); boundary confirmed on its measurements pooled"
    assert sweep["boundary_run_id"] == rows["run_id"][2] and sweep["bracket"] == [2000.0, None]
    pooled = sweep["steps"][2]["pooled"]
    assert pooled["runs"] == 2 and pooled["ttft_p99_bound_ms"] <= 60000 and "pooled" not in sweep["steps"][1]
    said = capsys.readouterr().out
    assert "max load meeting TTFT p99 bound <= 60,000 ms: 2,000 requests/s (Poisson)" in said
    assert " over its 2 runs' requests pooled; stopped: step limit (3 levels); boundary confirmed" in said


@pytest.mark.parametrize("argv, message", [
    ([], "--find-max-load needs a latency target: give --slo-ttft-ms and/or --slo-tpot-ms"),
    (["--slo-ttft-ms", "500", "--num-prompts", "100"], "which needs at least 299 requests: give --num-prompts 299"),
    (["--slo-ttft-ms", "500", "--num-prompts", "299", "--rates", "1,2"], "give one --request-rate or --concurrency"),
    (["--slo-ttft-ms", "500", "--num-prompts", "299", "--repeats", "2"], "measures each level once"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, argv, message):
    out = tmp_path / "serve.csv"
    code = main(["serve", *WORKLOAD, "--endpoint", "http://127.0.0.1:9", "--out", str(out), "--find-max-load", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() and not out.with_suffix("").exists()
