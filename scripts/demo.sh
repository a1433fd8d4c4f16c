#!/usr/bin/env bash
# The README's first command: set up .venv, then run the default benchmark.
#   CPU-only machine: the Qwen2.5-0.5B architecture (dummy weights) on vLLM's CPU build, batch sizes 1, 4, 16.
#   CUDA machine: the three 7B-class families (Qwen2.5-7B, DeepSeek-V2-Lite, GLM-4-9B) at batch sizes 8, 32, 128.
set -euo pipefail
cd "$(dirname "$0")/.."
run() { echo "+ $*"; "$@"; }
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  bash scripts/setup.sh gpu
  status=0
  for model in qwen2.5-7b-instruct deepseek-v2-lite-chat glm-4-9b-chat; do
    run .venv/bin/bench run --model "$model" --input-len 512 --output-len 256 --num-prompts 128 \
      --max-num-seqs 8,32,128 --max-model-len 4096 --out results/demo-gpu.csv || status=$?
  done
  exit "$status"
else
  bash scripts/setup.sh cpu
  run .venv/bin/bench run --model qwen2.5-0.5b-instruct --input-len 128 --output-len 64 --num-prompts 16 \
    --max-num-seqs 1,4,16 --max-model-len 1024 --out results/demo-cpu.csv
fi
