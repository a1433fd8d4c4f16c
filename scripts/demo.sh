#!/usr/bin/env bash
# The README's first command: set up .venv, run the default benchmark, write its report
# (results/demo-*-report/index.html) and print that path last.
#   CPU-only machine: the Qwen2.5-0.5B architecture (dummy weights) on vLLM's CPU build, batch sizes 16 and 4,
#   then predicted (roofline) rows of the three families on H100, H20 and RTX 4090.
#   CUDA machine: the three 7B-class families (Qwen2.5-7B, DeepSeek-V2-Lite, GLM-4-9B) at batch sizes 8, 32, 128.
set -euo pipefail
cd "$(dirname "$0")/.."
unset PYTHONDONTWRITEBYTECODE  # keep what a process compiles: scripts/setup.sh leaves it to the first import
run() { echo "+ $*"; "$@"; }
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  bash scripts/setup.sh gpu
  status=0
  for model in qwen2.5-7b-instruct deepseek-v2-lite-chat glm-4-9b-chat; do
    run .venv/bin/bench run --model "$model" --input-len 512 --output-len 256 --num-prompts 128 \
      --max-num-seqs 8,32,128 --max-model-len 4096 --out results/demo-gpu.csv || status=$?
  done
  # The report of whatever ran; its last line is the page's path. Costs need the GPU's hardware.yaml
  # entry: named from the GPU's NVML name by bench's one mapping (an unknown card leaves the cost charts out,
  # with a note).
  hw="$(.venv/bin/python -m bench.config.hardware "$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)")"
  run .venv/bin/bench report results/demo-gpu.csv ${hw:+--hardware "$hw"} --out results/demo-gpu-report || status=$?
  exit "$status"
else
  bash scripts/setup.sh cpu
  status=0
  # bfloat16 where the CPU multiplies it natively (AVX-512 BF16 or AMX), float32 elsewhere: bench.measure.cpu_features.
  dtype="$(.venv/bin/python -m bench.measure.cpu_features dtype)"
  .venv/bin/python -m bench.measure.cpu_features
  # The most informative case first: batch 16 is the cheapest per token, the figure the cost question needs;
  # batch 4 then shows how throughput grows with the batch. One process per case (about 45 s of start-up each).
  run .venv/bin/bench run --model qwen2.5-0.5b-instruct --dtype "$dtype" --input-len 128 --output-len 64 \
    --num-prompts 16 --max-num-seqs 16,4 --max-model-len 1024 --out results/demo-cpu.csv || status=$?
  # Predicted GPU rows (the roofline, --engine sim, seconds): the three families on H100, H20 and RTX 4090, so
  # the report shows GPU costs beside the CPU's, labelled predicted. Exit 3 is expected: DeepSeek-V2-Lite does
  # not fit a 24 GB RTX 4090 (an oom row says so). --resume: a second demo reuses them.
  predicted=0
  run .venv/bin/bench sweep sweeps/demo-predicted.yaml --resume || predicted=$?
  [ "$predicted" = 0 ] || [ "$predicted" = 3 ] || status=$predicted
  # One page to look at (open it in a browser): charts, costs beside vendor prices, the articles' claims.
  run .venv/bin/bench report results/demo-cpu.csv results/demo-predicted.csv --hardware cpu-server \
    --out results/demo-cpu-report || status=$?
  exit "$status"
fi
