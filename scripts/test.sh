#!/usr/bin/env bash
# The test suite in two stages; the first failure stops it (its pytest exit code is this script's).
#   bash scripts/test.sh        # 1. unit tier in .venv-unit: bench's base dependencies + pytest only
#                               #    (no vLLM, torch, transformers or ray: proof the unit tier needs none)
#                               # 2. the engine, gpu and ray tiers in .venv (scripts/setup.sh, then the tiers,
#                               #    in the background while stage 1 runs; their output after stage 1's)
#   bash scripts/test.sh unit   # stage 1 only
# Extra arguments after the stage go to pytest, e.g. `bash scripts/test.sh unit -x`.
set -uo pipefail
cd "$(dirname "$0")/.."
stage="${1:-all}"
case "$stage" in all|unit) shift $(( $# > 0 ? 1 : 0 )) ;; *) echo "usage: bash scripts/test.sh [all|unit] [pytest args]" >&2; exit 2 ;; esac
PY="${PYTHON:-python3}"
# Keep the byte-code a process compiles (scripts/setup.sh installs without compiling all 27,450 files: each module
# is compiled when first imported and kept for the 30-odd processes after it).
unset PYTHONDONTWRITEBYTECODE
UNIT="not engine and not gpu and not ray"
REST="engine or gpu or ray"

# Tests run on WORKERS processes (pytest-xdist, in the `test` extra): on 2 cores two workers overlap one test's
# waiting (an engine's single-threaded start-up, a server's health poll, a signal test's sleep) with another's
# work. Each file runs whole on one worker (--dist loadfile), so a module fixture that starts engines for several
# of its tests (the dry GPU reference run) starts them once. BENCH_TEST_WORKERS=0 runs serially.
WORKERS="${BENCH_TEST_WORKERS:-2}"

tier() {  # PYTHON MARKERS [pytest args]: pytest's exit code, with "no tests collected" (5) a failure
  local py="$1" markers="$2" par=()
  shift 2
  if [ "$WORKERS" != 0 ] && "$py" -c "import xdist" 2>/dev/null; then par=(-n "$WORKERS" --dist loadfile); fi
  "$py" -m pytest -q -m "$markers" "${par[@]}" "$@"
  local rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests for -m \"$markers\": the suite is missing or mis-configured" >&2
    return 1
  fi
  return "$rc"
}

# Stage 2 does not wait for stage 1: .venv's set-up (minutes of unpacking and compiling) starts first, before
# chromium's and .venv-unit's installs, and the engine tier as soon as the set-up is done, while the unit tier is still
# running (each tier on its WORKERS). The unit tier's tests wait much of their time (signal tests' sleeps, subprocess
# starts), so the two tiers share the cores instead of taking turns. The engine tier's output goes to a file, printed
# (then followed) once the unit tier has finished.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
stage2=""
stop_stage2() {  # a failing stage 1: no engine tier (a set-up under way finishes first: never a half-installed .venv)
  [ -n "$stage2" ] || return 0
  touch "$tmp/stop"
  if [ -e "$tmp/setup.rc" ]; then kill -TERM -- "-$stage2" 2>/dev/null; fi
  wait "$stage2"
}
if [ "$stage" = all ]; then
  set -m  # the background stage is its own process group: stopping it reaches pytest's workers
  (
    bash scripts/setup.sh > "$tmp/setup.log" 2>&1
    rc=$?
    echo "$rc" > "$tmp/setup.rc"
    [ "$rc" -eq 0 ] || exit "$rc"
    [ -e "$tmp/stop" ] && exit 1
    echo "== engine, gpu and ray tiers in .venv (scripts/setup.sh, run beside the unit tier) =="
    tier .venv/bin/python "$REST" "$@"
  ) > "$tmp/engine.log" 2>&1 &
  stage2=$!
  set +m
  trap 'kill -TERM -- "-$stage2" 2>/dev/null; exit 130' INT TERM  # Ctrl-C reaches the foreground group only
fi
# The report's browser check (tests/analysis/test_report_chromium.py, test_verdict.py) needs Debian's chromium; as
# root (CI) it is installed when missing, so the check runs rather than skips. Best effort: a failure is one line.
chromium_install() {
  command -v apt-get >/dev/null || return 1
  export DEBIAN_FRONTEND=noninteractive
  for _ in 1 2; do
    apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1 && return 0
    sleep 5
  done
  return 1
}
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "== installing chromium for the report's browser check (apt-get install chromium) =="
  chromium_install || echo "could not install chromium (apt-get install chromium): the report's browser tests will skip" >&2
fi

echo "== unit tier in .venv-unit (bench's base dependencies only) =="
{ [ -x .venv-unit/bin/python ] || "$PY" -m venv .venv-unit; } \
  && .venv-unit/bin/python -m pip --disable-pip-version-check -q install --no-compile -e ".[test]" \
  || { echo "could not set up .venv-unit (python3 -m venv, pip install -e '.[test]')" >&2; stop_stage2; exit 1; }
heavy=$(.venv-unit/bin/python -c "import importlib.util as u; print(' '.join(p for p in ('vllm', 'torch', 'transformers', 'ray') if u.find_spec(p)))")
if [ -n "$heavy" ]; then
  echo ".venv-unit has $heavy installed: the unit tier must run without them; rm -rf .venv-unit and run again" >&2
  stop_stage2
  exit 1
fi
tier .venv-unit/bin/python "$UNIT" "$@"
rc=$?
if [ "$rc" -ne 0 ]; then
  stop_stage2
  exit "$rc"
fi
[ "$stage" = unit ] && exit 0
echo "== scripts/setup.sh (beside the unit tier) =="
while [ ! -e "$tmp/setup.rc" ] && kill -0 "$stage2" 2>/dev/null; do sleep 1; done
cat "$tmp/setup.log"
tail -n +1 --pid="$stage2" -f "$tmp/engine.log"
wait "$stage2"
