"""Tier 2: `vllm bench throughput --output-json` on vLLM's CPU build (one engine start, in-process as the suite
starts engines (tests/conftest.py); 4 short requests, as the file is under test, not the speed; tiny-qwen2 with
dummy weights and a tokenizer of its vocabulary), read by bench: the file's figures are the row's, and it prices. (`vllm bench
serve` runs against the server of tests/serve/test_server_vllm.py, which this tier starts once.)"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from interop_model import write_model_dir

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[2]


def test_vllm_bench_throughput_file_is_read_and_priced(tmp_path, capsys):
    model, tokenizer = write_model_dir(tmp_path / "tiny")
    result = tmp_path / "throughput.json"
    subprocess.run([sys.executable, str(REPO / "scripts" / "vllm_bench.py"), "throughput", "--model", str(model),
                    "--tokenizer", str(tokenizer), "--load-format", "dummy", "--dtype", "bfloat16",
                    "--max-model-len", "256", "--enforce-eager", "--kv-cache-memory-bytes", str(2**30), "--seed", "0",
                    "--dataset-name", "random", "--random-input-len", "16", "--random-output-len", "4",
                    "--num-prompts", "4", "--output-json", str(result)], check=True, capture_output=True, timeout=900)
    doc = json.loads(result.read_text())
    assert doc["num_requests"] == 4 and doc["total_num_tokens"] == 4 * (16 + 4)  # ignore_eos: exact lengths
    out = tmp_path / "imported.csv"
    assert main(["import", str(result), "--out", str(out), "--model", "qwen2.5-0.5b-instruct", "--hardware",
                 "cpu-server"]) == 0
    row = pd.read_csv(out).iloc[0]
    assert row["source_format"] == "vllm-bench-throughput" and row["engine"] == "vllm"
    # the CSV keeps 6 decimals
    assert row["total_tok_s"] == pytest.approx(doc["tokens_per_second"], abs=1e-6)
    assert doc["tokens_per_second"] == pytest.approx(80 / doc["elapsed_time"])
    assert row["elapsed_s"] == pytest.approx(doc["elapsed_time"], abs=1e-6) and row["num_prompts"] == 4
    assert row["model"] == "qwen2.5-0.5b-instruct" and row["given_columns"] == "model,hardware"
    capsys.readouterr()
    assert main(["cost", str(out)]) == 0
    assert "CNY per M, any token" in capsys.readouterr().out
