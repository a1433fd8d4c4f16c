"""A case's requests are built once, by the parent (bench/execution/case.py's engine_spec), and handed to the
worker; a --dataset file is read once more before any case starts, so a bad file fails first."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main
from bench.config.run import parse, resolve
from bench.execution import worker
from bench.execution.case import prepare_case
from bench.workload import source

DATA = Path(__file__).resolve().parents[1] / "data" / "workloads"


def count_builds(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = source.build

    def counted(run, model_config):
        calls.append(run["dataset"].partition(":")[0])
        return real(run, model_config)

    monkeypatch.setattr(source, "build", counted)
    return calls


def test_a_generated_workload_is_built_once_in_the_parent_and_never_in_the_worker(monkeypatch, tmp_path):
    calls = count_builds(monkeypatch)
    cfg, model = resolve(parse({"model": "tiny-qwen2", "engine": "sim", "hardware": "H100-SXM", "num_prompts": 4,
                                "input_len": 16, "output_len": 4, "max_num_seqs": 2}))
    assert calls == []  # resolve checks a generator's lengths by arithmetic
    prep = prepare_case(cfg, model, tmp_path / "r.csv")
    assert calls == ["random"] and prep.workload["num_prompts"] == 4
    monkeypatch.setattr(source, "build", lambda *a: pytest.fail("the worker built the workload again"))
    timed, warmup = worker.case_requests(prep.spec)
    assert timed is prep.spec.workload.requests
    assert [r.prompt_len for r in warmup] == [16, 16]  # min(4 prompts, batch 2) at the median prompt length


def test_a_dataset_file_is_read_once_to_check_it_and_once_for_the_case(monkeypatch, tmp_path):
    calls = count_builds(monkeypatch)
    cfg, model = resolve(parse({"model": "tiny-qwen2", "engine": "sim", "hardware": "H100-SXM", "num_prompts": 3,
                                "dataset": f"sharegpt:{DATA / 'sharegpt.json'}", "tokenizer": str(DATA / "tokenizer")}))
    assert calls == ["sharegpt"]  # resolve: a bad file fails here, before any case starts
    prepare_case(cfg, model, tmp_path / "r.csv")
    assert calls == ["sharegpt", "sharegpt"]


def test_a_bad_dataset_file_fails_before_any_case_starts(capsys, tmp_path):
    bad = tmp_path / "empty.json"
    bad.write_text("[]")
    out = tmp_path / "r.csv"
    code = main(["run", "--model", "tiny-qwen2", "--engine", "sim", "--hardware", "H100-SXM", "--dataset",
                 f"sharegpt:{bad}", "--tokenizer", str(DATA / "tokenizer"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no prompts in the file" in err and not out.exists()
