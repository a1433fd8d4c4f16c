#!/usr/bin/env bash
# Regenerates tests/data/interop/: the results files of vLLM's `bench serve` and `bench throughput`, AIPerf,
# GuideLLM and inference-perf, each run once against one local vLLM CPU server on 127.0.0.1 (tiny Qwen2
# architecture, dummy weights, a word-level tokenizer of its 4,096 ids: tests/interop_model.py). Each tool is
# installed at the version below in its own venv under $VENVS (created when missing), never in bench's.
#
#   bash scripts/make_interop_files.sh [OUT_DIR] [TOOL...]   # vllm aiperf aiperf-telemetry guidellm inference-perf export
#
# Needs bench's .venv (vLLM's CPU build: scripts/setup.sh), python3.11 (AIPerf, GuideLLM) and python3.12
# (inference-perf 0.7 requires >= 3.12) on PATH or as $PYTHON311 / $PYTHON312, and PyPI. GuideLLM needs torch:
# $TORCH_SPEC (default: torch) is installed first; give a CPU wheel (e.g. torch==2.13.0+cpu with
# --extra-index-url https://download.pytorch.org/whl/cpu in PIP_EXTRA_INDEX_URL) to avoid the CUDA build.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"  # `python -m bench` is this checkout's bench
OUT="$(realpath -m "${1:-$REPO/tests/data/interop}")"
shift || true
TOOLS=("$@")
[ ${#TOOLS[@]} -eq 0 ] && TOOLS=(vllm aiperf aiperf-telemetry guidellm inference-perf export)
VENVS="${VENVS:-/tmp/bench-interop-venvs}"
PY="${BENCH_PYTHON:-$REPO/.venv/bin/python}"  # bench's venv with vLLM's CPU build
PYTHON311="${PYTHON311:-python3.11}"
PYTHON312="${PYTHON312:-python3.12}"
AIPERF_VERSION=0.13.0
GUIDELLM_VERSION=0.8.1
INFERENCE_PERF_VERSION=0.7.0
PORT="${PORT:-18734}"
MODEL_NAME=tiny-qwen2-dummy  # not a catalog name: `bench cost --model` prices the files as a catalog model
WORK="$(mktemp -d)"
SERVER_PID=""

stop() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap stop EXIT

wants() { local t; for t in "${TOOLS[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

venv() {  # venv NAME PYTHON PACKAGES...: $VENVS/NAME with the packages, made once
    local dir="$VENVS/$1" python="$2"; shift 2
    if [ ! -x "$dir/bin/python" ]; then
        "$python" -m venv "$dir"
        "$dir/bin/pip" install -q "$@"
    fi
    echo "$dir"
}

mkdir -p "$OUT"
read -r MODEL TOKENIZER < <("$PY" "$REPO/tests/interop_model.py" "$WORK/tiny")
SERVER=(-m vllm.entrypoints.openai.api_server --model "$MODEL" --tokenizer "$TOKENIZER" --load-format dummy
        --dtype bfloat16 --max-model-len 512 --enforce-eager --kv-cache-memory-bytes 1073741824
        --no-enable-prefix-caching --seed 0 --served-model-name "$MODEL_NAME" --host 127.0.0.1 --port "$PORT")
BASE="http://127.0.0.1:$PORT"

if wants vllm || wants aiperf || wants guidellm || wants inference-perf; then
    "$PY" "${SERVER[@]}" > "$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do
        curl -sf "$BASE/health" > /dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/server.log"; exit 1; }
        sleep 1
    done
    echo "vLLM server up on $BASE ($($PY -c 'import vllm; print(vllm.__version__)'))"
fi

if wants vllm; then
    BENCH=("$PY" "$REPO/scripts/vllm_bench.py")
    COMMON=(--backend vllm --base-url "$BASE" --model "$MODEL_NAME" --tokenizer "$TOKENIZER" --dataset-name random
            --random-input-len 32 --random-output-len 16 --num-prompts 8 --ignore-eos --seed 0
            --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --result-dir "$OUT")
    "${BENCH[@]}" serve "${COMMON[@]}" --max-concurrency 4 --save-result --save-detailed \
        --goodput ttft:5000 tpot:1000 --result-filename vllm-bench-serve-detailed.json > "$WORK/vllm-serve.log" 2>&1
    rm -f "$OUT/vllm-bench-serve-rates.json"
    for rate in 2 inf; do  # two results appended to one file, summaries only
        "${BENCH[@]}" serve "${COMMON[@]}" --request-rate "$rate" --save-result --append-result \
            --result-filename vllm-bench-serve-rates.json >> "$WORK/vllm-serve.log" 2>&1
    done
    "${BENCH[@]}" throughput --model "$MODEL" --tokenizer "$TOKENIZER" --load-format dummy --dtype bfloat16 \
        --max-model-len 512 --enforce-eager --kv-cache-memory-bytes 1073741824 --seed 0 --dataset-name random \
        --random-input-len 32 --random-output-len 16 --num-prompts 8 --output-json "$OUT/vllm-bench-throughput.json" \
        > "$WORK/vllm-throughput.log" 2>&1
    rm -f "$OUT"/*.pytorch.json
    echo "vllm: $(ls "$OUT" | grep vllm | tr '\n' ' ')"
fi

if wants aiperf; then
    A="$(venv aiperf "$PYTHON311" "aiperf==$AIPERF_VERSION")"
    for load in "concurrency 4" "request-rate 4"; do
        set -- $load
        dir="$OUT/aiperf-$1"
        rm -rf "$dir" "$WORK/aiperf"
        "$A/bin/aiperf" profile --model "$MODEL_NAME" --url "$BASE" --endpoint-type completions --streaming \
            --tokenizer "$TOKENIZER" --prompt-input-tokens-mean 32 --prompt-input-tokens-stddev 0 \
            --prompt-output-tokens-mean 16 --prompt-output-tokens-stddev 0 --extra-inputs ignore_eos:true \
            --extra-inputs min_tokens:16 --request-count 8 --"$1" "$2" --random-seed 0 \
            --goodput "time_to_first_token:5000 inter_token_latency:1000" --output-artifact-dir "$WORK/aiperf" \
            --no-auto-plot > "$WORK/aiperf.log" 2>&1
        mkdir -p "$dir"
        cp "$WORK/aiperf/profile_export_aiperf.json" "$WORK/aiperf/profile_export_aiperf.csv" \
            "$WORK/aiperf/profile_export.jsonl" "$dir/"
    done
    echo "aiperf $AIPERF_VERSION: $(ls "$OUT" | grep aiperf | tr '\n' ' ')"
fi

if wants aiperf-telemetry; then  # no GPU here: AIPerf's own models build the GPU block its collectors would write
    A="$(venv aiperf "$PYTHON311" "aiperf==$AIPERF_VERSION")"
    mkdir -p "$OUT/aiperf-telemetry"
    "$A/bin/python" - "$OUT/aiperf-concurrency/profile_export_aiperf.json" \
        "$OUT/aiperf-telemetry/profile_export_aiperf.json" <<'PY'
import sys
from pathlib import Path

import orjson
from aiperf.common.models.export_models import (EndpointData, GpuSummary, JsonExportData, JsonMetricResult,
                                                TelemetryExportData)

export = JsonExportData.model_validate_json(Path(sys.argv[1]).read_text())
power, util = (312.5, 287.5), (71.0, 69.0)  # W and % of two H100s, as DCGM would report them
gpus = {f"gpu_{i}": GpuSummary(gpu_index=i, gpu_name="NVIDIA H100 80GB HBM3", gpu_uuid=f"GPU-0000000{i}",
                               platform="nvidia", hostname="node-1",
                               metrics={"nvidia_power_usage": JsonMetricResult(unit="W", avg=p, p50=p, max=p + 20),
                                        "nvidia_gpu_utilization": JsonMetricResult(unit="%", avg=u, p50=u)})
        for i, (p, u) in enumerate(zip(power, util))}
url = "http://node-1:9400/metrics"
export.telemetry_data = TelemetryExportData(
    summary=export.telemetry_data.summary.model_copy(update={"endpoints_configured": [url],
                                                              "endpoints_successful": [url]}),
    endpoints={url: EndpointData(gpus=gpus)})
payload = export.model_dump(mode="json", exclude_unset=True, exclude_none=True)  # as AIPerf's JSON exporter writes it
Path(sys.argv[2]).write_text(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode("utf-8"))
print("aiperf-telemetry: the concurrency profile with two H100s' telemetry built by AIPerf's own models")
PY
fi

if wants guidellm; then
    G="$(venv guidellm "$PYTHON311" "${TORCH_SPEC:-torch}" "guidellm==$GUIDELLM_VERSION")"
    rm -rf "$OUT/guidellm" && mkdir -p "$OUT/guidellm"
    (cd "$WORK" && "$G/bin/guidellm" run \
        --backend "kind=openai_http,target=$BASE,model=$MODEL_NAME,request_format=/v1/completions" \
        --profile kind=concurrent --override profile.streams 2,4 --constraint kind=max_requests,count=8 \
        --data kind=synthetic_text,prompt_tokens=32,output_tokens=16 \
        --tokenizer "kind=huggingface_auto,model=$TOKENIZER" --output "kind=json,path=$OUT/guidellm/benchmarks.json" \
        --disable-console-interactive > "$WORK/guidellm.log" 2>&1)
    echo "guidellm $GUIDELLM_VERSION: $(ls "$OUT/guidellm" | tr '\n' ' ')"
fi

if wants inference-perf; then
    I="$(venv inference-perf "$PYTHON312" "inference-perf==$INFERENCE_PERF_VERSION")"
    rm -rf "$OUT/inference-perf" "$WORK/ip" && mkdir -p "$OUT/inference-perf" "$WORK/ip"
    cat > "$WORK/ip/config.yml" <<EOF
api: {type: completion, streaming: true}
data:
  type: random
  input_distribution: {min: 32, max: 32, mean: 32, std_dev: 0, type: fixed}
  output_distribution: {min: 16, max: 16, mean: 16, std_dev: 0, type: fixed}
load:
  type: concurrent
  stages: [{num_requests: 8, concurrency_level: 2}, {num_requests: 8, concurrency_level: 4}]
  num_workers: 1
server: {type: vllm, model_name: $MODEL_NAME, base_url: "$BASE", ignore_eos: true}
tokenizer: {pretrained_model_name_or_path: "$TOKENIZER"}
storage: {local_storage: {path: "$WORK/ip/out"}}
EOF
    (cd "$WORK/ip" && "$I/bin/inference-perf" -c config.yml > "$WORK/inference-perf.log" 2>&1)
    cp "$WORK"/ip/out/inference-perf.partial.stage_*.yaml "$OUT/inference-perf/"
    echo "inference-perf $INFERENCE_PERF_VERSION: $(ls "$OUT/inference-perf" | tr '\n' ' ')"
fi

if wants export; then  # bench's own rows as Benchmark Report v0.2, checked by inference-perf's pydantic models
    I="$(venv inference-perf "$PYTHON312" "inference-perf==$INFERENCE_PERF_VERSION")"
    "$PY" -m bench run --engine sim --model qwen2.5-7b-instruct --hardware H100-SXM --max-num-seqs 1,16 \
        --out "$WORK/sim.csv" > /dev/null 2>&1
    "$PY" -m bench import "$OUT"/vllm-bench-serve-*.json "$OUT/aiperf-concurrency" "$OUT/inference-perf" \
        --gpus 1 --out "$WORK/imported.csv" > /dev/null 2>&1
    "$PY" -m bench export "$WORK/sim.csv" "$WORK/imported.csv" --format br0.2 --out "$WORK/br" > /dev/null
    "$I/bin/python" - "$WORK/br" "$OUT" <<'EOF'
import json
import sys
from pathlib import Path

import yaml
from inference_perf.reportgen.br.v0_2.schema_v0_2 import BenchmarkReportV02

docs = sorted(Path(sys.argv[1]).glob("*.yaml"))
for p in docs:
    BenchmarkReportV02.model_validate(yaml.safe_load(p.read_text()))
print(f"export: {len(docs)} row(s) as Benchmark Report v0.2, each valid under inference-perf's BenchmarkReportV02 "
      "(extra='forbid')")
# the schema's JSON Schema, which the unit tests check bench's exports against without inference-perf
(Path(sys.argv[2]) / "br0.2.schema.json").write_text(
    json.dumps(BenchmarkReportV02.model_json_schema(), indent=1, sort_keys=True) + "\n")
EOF
fi
