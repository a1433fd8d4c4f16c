"""scripts/gpu_reference.sh: every step is a row of steps.csv whatever happens to the others; its dry mode runs
the whole reference run on vLLM's CPU build with the tiny architectures (so the GPU script cannot rot), and its
rows are the engine tier's check of each family's exact tokens and KV allocation."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.config.catalog import resolve_model
from bench.workload.synthetic import sample_requests, special_token_ids
from vllm_rows import check_row

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gpu_reference.sh"
DRY_STEPS = ["environment", "run-tiny-qwen2", "run-tiny-deepseek-v2", "run-tiny-glm", "hf-tiny-qwen2", "calibrate",
             "report"]
# What the dry mode's WORKLOAD in scripts/gpu_reference.sh asks (the family checks recompute its lengths)
DRY_WORKLOAD = {"num_prompts": 8, "input_len": 32, "output_len": 16, "dist": "uniform", "range_ratio": 0.5, "seed": 3}


def reference(out: Path, *args: str, timeout: int = 1800) -> tuple[subprocess.CompletedProcess, list[dict]]:
    proc = subprocess.run(["bash", str(SCRIPT), str(out), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHON": sys.executable})
    steps = list(csv.DictReader((out / "steps.csv").open())) if (out / "steps.csv").exists() else []
    return proc, steps


@pytest.fixture(scope="module")
def dry_reference(tmp_path_factory):
    """The dry run, once for this file's engine tests (scripts/test.sh runs files whole on a worker:
    pytest-xdist --dist loadfile): (process, steps.csv rows, its folder)."""
    out = tmp_path_factory.mktemp("dry-reference") / "ref"
    proc, steps = reference(out, "--dry")
    return proc, steps, out


def test_usage_errors_exit_2_and_write_nothing(tmp_path):
    for args in ([], [str(tmp_path / "a"), "--wet"], ["--dry"]):
        proc = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "usage: bash scripts/gpu_reference.sh OUTDIR [--dry]" in proc.stderr
    assert not (tmp_path / "a").exists()


def test_a_failing_step_is_a_row_and_the_next_step_still_runs(tmp_path):
    """In a Python without vLLM, every engine step fails (bench refuses in one line, exit 2) and so does the report
    (no rows): each is a `failed` row with its exit code and log, every step was taken, and the script exits 3."""
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("this Python has vLLM: the engine steps would run (the dry-mode test covers that)")
    proc, steps = reference(tmp_path / "ref", "--dry", timeout=300)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert [s["step"] for s in steps] == DRY_STEPS
    status = {s["step"]: (s["status"], s["exit_code"]) for s in steps}
    assert status["environment"] == ("ok", "0")
    for name in ("run-tiny-qwen2", "run-tiny-deepseek-v2", "run-tiny-glm", "hf-tiny-qwen2", "report"):
        assert status[name] == ("failed", "2"), name
    assert status["calibrate"][0] in ("failed", "skipped")  # no rows to fit, or no such subcommand
    log = (tmp_path / "ref" / "logs" / "run-tiny-qwen2.log").read_text()
    assert "vllm" in log.lower() and "Traceback" not in log


@pytest.mark.engine
def test_dry_mode_runs_every_step_on_the_cpu_build(dry_reference):
    proc, steps, out = dry_reference
    assert [s["step"] for s in steps] == DRY_STEPS, proc.stdout + proc.stderr
    status = {s["step"]: s["status"] for s in steps}
    assert all(status[n] == "ok" for n in DRY_STEPS if n != "calibrate"), status
    # calibrate: skipped where this bench has no such subcommand; it fits GPUs only, so on cpu-server it fails
    assert status["calibrate"] in ("skipped", "failed")
    assert proc.returncode == (3 if status["calibrate"] == "failed" else 0)
    rows = list(csv.DictReader((out / "rows.csv").open()))
    assert sorted((r["model"], r["engine"], r["max_num_seqs"], r["status"]) for r in rows) == [
        ("tiny-deepseek-v2", "vllm", "4", "ok"), ("tiny-glm", "vllm", "4", "ok"), ("tiny-qwen2", "hf", "4", "ok"),
        ("tiny-qwen2", "vllm", "4", "ok")]
    assert (out / "report" / "index.html").is_file() and (out / "environment.txt").is_file()


@pytest.mark.engine
@pytest.mark.parametrize("model,analytic", [("tiny-qwen2", 2048), ("tiny-deepseek-v2", 3456), ("tiny-glm", 2048)])
def test_each_family_generates_exactly_the_sampled_lengths_with_the_kv_vllm_allocated(dry_reference, model, analytic):
    """The rows the dry run's vLLM steps measured (their engines start once for this and the test above): 8
    prompts of uniform lengths (32 in / 16 out, range 0.5, seed 3) at batch 4 in a 1 GiB KV cache, one per
    family (Qwen2; DeepSeek-V2: MLA + MoE; GLM). Every request got exactly its sampled lengths, recomputed here
    with bench's sampler, and vLLM allocated the KV the analytic formula gives (tests/vllm_rows.py)."""
    w = DRY_WORKLOAD
    _, _, out = dry_reference
    rows = pd.read_csv(out / "rows.csv")
    picked = rows[(rows.model == model) & (rows.engine == "vllm")]
    assert len(picked) == 1, rows[["model", "engine", "status", "error"]]
    row = picked.iloc[0].to_dict()
    record = json.loads((out / "rows" / f"{row['run_id']}.json").read_text())
    config = resolve_model(model).config
    want = sample_requests(w["num_prompts"], w["input_len"], w["output_len"], vocab_size=int(config["vocab_size"]),
                           seed=w["seed"], dist=w["dist"], range_ratio=w["range_ratio"],
                           avoid_token_ids=special_token_ids(config))
    assert len({r.output_len for r in want}) > 1  # the lengths do vary
    check_row(row, record, input_tokens=sum(r.prompt_len for r in want),
              output_tokens=sum(r.output_len for r in want), analytic=analytic)
    assert [r["output_len"] for r in record["requests"]] == [r.output_len for r in want]
