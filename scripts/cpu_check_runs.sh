#!/usr/bin/env bash
# The CPU calibrate-then-predict check's runs (docs/roofline.md, "Calibrate on two runs, predict the rest"):
# bench probe once, then PASSES interleaved passes of the vLLM CPU runs (each case measured once per pass, so
# repeats are minutes apart, not back to back), the 1-minute load average logged before and after each run.
#
#   bash scripts/cpu_check_runs.sh OUT_DIR [PASSES]      # default 2 passes; OUT_DIR/cpu-pass1.csv ..., OUT_DIR/load.log
#   python scripts/validate_prediction.py --cpu-only --cpu-results OUT_DIR/cpu-pass*.csv --hardware this-cpu \
#       --calibrate-on qwen2.5-0.5b-instruct:1,4 --format markdown
#
# BENCH (default .venv/bin/bench), DTYPE (default: python -m bench.measure.cpu_features dtype) and HARDWARE
# (default this-cpu, written to hardware.yaml by the probe; BENCH_HARDWARE points elsewhere) may be set.
set -u
out="${1:?usage: bash scripts/cpu_check_runs.sh OUT_DIR [PASSES]}"
passes="${2:-2}"
bench="${BENCH:-.venv/bin/bench}"
dtype="${DTYPE:-$(.venv/bin/python -m bench.measure.cpu_features dtype)}"
hw="${HARDWARE:-this-cpu}"
mkdir -p "$out"
log="$out/load.log"
load() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?"; }
$bench probe --name "$hw" --dtype "$dtype" --seconds 10 --replace | tee -a "$log" || exit $?
common=(--dtype "$dtype" --num-prompts 8 --input-len 128 --output-len 32 --hardware "$hw")
for pass in $(seq 1 "$passes"); do
  for spec in "qwen2.5-0.5b-instruct 1,4,2,8" "tiny-glm 4" "qwen2-1.5b-instruct 4" "tiny-qwen2 4"; do
    set -- $spec
    before="$(load)"
    $bench run --model "$1" --max-num-seqs "$2" "${common[@]}" --out "$out/cpu-pass$pass.csv" >> "$out/runs.out" 2>&1
    echo "pass $pass $1 max_num_seqs $2: rc $? load average $before -> $(load)" | tee -a "$log"
  done
done
