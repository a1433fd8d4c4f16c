#!/usr/bin/env bash
# The README's first command: set up .venv, run the default benchmark, write its report
# (results/demo-*-report/index.html) and print that path last.
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
  # The report of whatever ran; its last line is the page's path. Costs need the GPU's hardware.yaml
  # entry: named from the GPU's NVML name by bench's one mapping (an unknown card leaves the cost charts out,
  # with a note).
  hw="$(.venv/bin/python -m bench.config.hardware "$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)")"
  run .venv/bin/bench report results/demo-gpu.csv ${hw:+--hardware "$hw"} --out results/demo-gpu-report || status=$?
  exit "$status"
else
  bash scripts/setup.sh cpu
  status=0
  # float32: CPUs without AVX-512 BF16 run bfloat16 matmuls about 5x slower (measured on a 2-core EPYC:
  # 1.9 vs 9.9 output tok/s for this model), and float32 is what such a CPU would serve.
  run .venv/bin/bench run --model qwen2.5-0.5b-instruct --dtype float32 --input-len 128 --output-len 64 \
    --num-prompts 16 --max-num-seqs 1,4,16 --max-model-len 1024 --out results/demo-cpu.csv || status=$?
  # One page to look at (open it in a browser): charts, costs beside vendor prices, the articles' claims.
  run .venv/bin/bench report results/demo-cpu.csv --hardware cpu-server --out results/demo-cpu-report || status=$?
  exit "$status"
fi
