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
DRY_FAMILIES = ["tiny-qwen2", "tiny-deepseek-v2", "tiny-glm", "tiny-qwen3", "tiny-qwen3-moe", "tiny-deepseek-v3",
                "tiny-glm4-moe", "tiny-gpt-oss"]
DRY_STEPS = ["environment", *[f"run-{m}" for m in DRY_FAMILIES], "hf-tiny-qwen2", "calibrate", "spec-tiny-qwen3",
             "report"]
# What the dry mode's WORKLOAD in scripts/gpu_reference.sh asks (the family checks recompute its lengths)
DRY_WORKLOAD = {"num_prompts": 8, "input_len": 32, "output_len": 16, "dist": "uniform", "range_ratio": 0.5, "seed": 3}
# ... and a family's own options there (MODEL_ARGS): tiny-deepseek-v3's MTP draft runs 4 prompts of 8 tokens out
DRY_MODEL_WORKLOAD = {"tiny-deepseek-v3": {"num_prompts": 4, "output_len": 8}}


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
    for name in (*[f"run-{m}" for m in DRY_FAMILIES], "hf-tiny-qwen2", "spec-tiny-qwen3", "report"):
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
    assert sorted((r["model"], r["engine"], r["max_num_seqs"], r["status"]) for r in rows) == sorted(
        [(m, "vllm", "4", "ok") for m in DRY_FAMILIES] + [("tiny-qwen2", "hf", "4", "ok"), ("tiny-qwen3", "vllm", "4", "ok")])
    assert (out / "report" / "index.html").is_file() and (out / "environment.txt").is_file()


@pytest.mark.engine
@pytest.mark.parametrize("model,analytic", [
    ("tiny-qwen2", 2048), ("tiny-deepseek-v2", 3456), ("tiny-glm", 2048),
    ("tiny-qwen3", 2 * 2 * 2 * 64 * 2),  # 2 layers x K and V x 2 KV heads x 64 x 2 bytes
    ("tiny-qwen3-moe", 2 * 2 * 2 * 64 * 2),
    ("tiny-deepseek-v3", 4 * 576 * 2),  # 3 layers + its MTP layer, run as a draft, x (512 + 64) x 2 bytes
    ("tiny-glm4-moe", 3 * 2 * 2 * 64 * 2),
    ("tiny-gpt-oss", 2 * 2 * 2 * 64 * 2),  # the sliding and the full layer: the pool's unit is a token of both
])
def test_each_family_generates_exactly_the_sampled_lengths_with_the_kv_vllm_allocated(dry_reference, model, analytic):
    """The rows the dry run's vLLM steps measured (their engines start once for this and the test above): 8
    prompts of uniform lengths (32 in / 16 out, range 0.5, seed 3; DeepSeek-V3 4 prompts of 8 out, one batch, as
    its MTP draft makes every step a prefill on the CPU build) at batch 4 in a 1 GiB KV cache, one per
    family (Qwen2; DeepSeek-V2: MLA + MoE; GLM; Qwen3; Qwen3-MoE; DeepSeek-V3: MLA + sigmoid-routed MoE, its MTP
    layer drafting one token, which vLLM builds and caches too; GLM-4.5's Glm4Moe; gpt-oss: a sliding-window and a
    full layer, two KV-cache groups sharing vLLM's block pool). Every
    request got exactly its sampled lengths, recomputed here with bench's sampler, and vLLM allocated the KV the
    analytic formula gives (tests/vllm_rows.py)."""
    w = {**DRY_WORKLOAD, **DRY_MODEL_WORKLOAD.get(model, {})}
    _, _, out = dry_reference
    rows = pd.read_csv(out / "rows.csv")
    picked = rows[(rows.model == model) & (rows.engine == "vllm")]
    records = [json.loads((out / "rows" / f"{i}.json").read_text()) for i in picked.run_id]
    # the family's own run (the ngram step runs tiny-qwen3 again; tiny-deepseek-v3's own run drafts with MTP)
    records = [r for r in records if "ngram" not in str(r["config"].get("speculative_config"))]
    assert len(records) == 1, rows[["model", "engine", "status", "error"]]
    record = records[0]
    row = picked[picked.run_id == record["row"]["run_id"]].iloc[0].to_dict()
    config = resolve_model(model).config
    want = sample_requests(w["num_prompts"], w["input_len"], w["output_len"], vocab_size=int(config["vocab_size"]),
                           seed=w["seed"], dist=w["dist"], range_ratio=w["range_ratio"],
                           avoid_token_ids=special_token_ids(config))
    assert len({r.output_len for r in want}) > 1  # the lengths do vary
    check_row(row, record, input_tokens=sum(r.prompt_len for r in want),
              output_tokens=sum(r.output_len for r in want), analytic=analytic, requests=w["num_prompts"])
    assert [r["output_len"] for r in record["requests"]] == [r.output_len for r in want]
    spec = record["engine"].get("spec_decode")
    if model == "tiny-deepseek-v3":  # the MTP draft's counters: one token a draft (random weights accept few)
        assert spec["method"] == "mtp" and spec["draft_tokens_per_step"] == 1 and spec["drafts"] > 0
        assert spec["draft_tokens"] == spec["drafts"] and 1 <= spec["tokens_per_step"] <= 2
    else:
        assert spec is None


@pytest.mark.engine
def test_an_ngram_draft_is_counted_per_token_as_vllm_counted_it(dry_reference):
    """The dry run's speculative step: tiny-qwen3, greedy, an ngram draft of 3 tokens (prompt lookup 2-4), the same
    8 prompts at batch 4. The figures are vLLM's counters over the timed run: acceptance = accepted / drafted,
    tokens per step = 1 + accepted / drafts (vLLM's mean acceptance length), a draft at most 3 tokens. They are the
    timed run's only (the warm-up's drafts left out): each request's first token comes from its prefill and every
    later step emits 1 + what it accepted, so drafts + accepted cannot exceed the output tokens less one a request;
    greedy decoding of the dummy weights repeats itself, so the lookup drafts and the model accepts."""
    w = DRY_WORKLOAD
    _, _, out = dry_reference
    records = [json.loads((out / "rows" / f"{i}.json").read_text()) for i in pd.read_csv(out / "rows.csv").run_id]
    speculative = [r for r in records if "ngram" in str(r["config"].get("speculative_config"))]
    assert len(speculative) == 1
    record = speculative[0]
    row = record["row"]
    assert row["status"] == "ok" and record["config"]["temperature"] == 0.0
    spec = record["engine"]["spec_decode"]
    assert spec["method"] == "ngram" and spec["draft_tokens_per_step"] == 3 and spec["source"] == "measured"
    drafts, drafted, accepted = spec["drafts"], spec["draft_tokens"], spec["accepted"]
    # a draft proposes at most 3 tokens (fewer near a request's last tokens, or on a shorter match)
    assert drafts > 0 and accepted > 0 and drafts <= drafted <= 3 * drafts
    assert spec["acceptance_rate"] == accepted / drafted
    assert spec["tokens_per_step"] == 1 + accepted / drafts
    assert (row["spec_method"], row["spec_draft_tokens"], row["spec_source"]) == ("ngram", 3, "measured")
    assert row["spec_acceptance_rate"] == pytest.approx(accepted / drafted)  # the CSV keeps 6 decimals
    assert row["spec_tokens_per_step"] == pytest.approx(1 + accepted / drafts)
    assert drafts + accepted <= row["output_tokens"] - w["num_prompts"]
    assert [r["output_len"] for r in record["requests"]] == [r.output_len for r in sample_requests(
        w["num_prompts"], w["input_len"], w["output_len"], vocab_size=4096, seed=w["seed"], dist=w["dist"],
        range_ratio=w["range_ratio"], avoid_token_ids=special_token_ids(resolve_model("tiny-qwen3").config))]
