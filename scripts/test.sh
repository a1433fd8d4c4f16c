#!/usr/bin/env bash
# The test suite in two stages; the first failure stops it (its pytest exit code is this script's).
#   bash scripts/test.sh        # 1. unit tier in .venv-unit: bench's base dependencies + pytest only
#                               #    (no vLLM, torch, transformers or ray: proof the unit tier needs none)
#                               # 2. scripts/setup.sh, then the engine, gpu and ray tiers in .venv
#   bash scripts/test.sh unit   # stage 1 only
# Extra arguments after the stage go to pytest, e.g. `bash scripts/test.sh unit -x`.
set -uo pipefail
cd "$(dirname "$0")/.."
stage="${1:-all}"
case "$stage" in all|unit) shift $(( $# > 0 ? 1 : 0 )) ;; *) echo "usage: bash scripts/test.sh [all|unit] [pytest args]" >&2; exit 2 ;; esac
PY="${PYTHON:-python3}"
UNIT="not engine and not gpu and not ray"
REST="engine or gpu or ray"

tier() {  # PYTHON MARKERS [pytest args]: pytest's exit code, with "no tests collected" (5) a failure
  local py="$1" markers="$2"
  shift 2
  "$py" -m pytest -q -m "$markers" "$@"
  local rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests for -m \"$markers\": the suite is missing or mis-configured" >&2
    return 1
  fi
  return "$rc"
}

echo "== unit tier in .venv-unit (bench's base dependencies only) =="
{ [ -x .venv-unit/bin/python ] || "$PY" -m venv .venv-unit; } \
  && .venv-unit/bin/python -m pip --disable-pip-version-check -q install -e ".[test]" \
  || { echo "could not set up .venv-unit (python3 -m venv, pip install -e '.[test]')" >&2; exit 1; }
heavy=$(.venv-unit/bin/python -c "import importlib.util as u; print(' '.join(p for p in ('vllm', 'torch', 'transformers', 'ray') if u.find_spec(p)))")
if [ -n "$heavy" ]; then
  echo ".venv-unit has $heavy installed: the unit tier must run without them; rm -rf .venv-unit and run again" >&2
  exit 1
fi
tier .venv-unit/bin/python "$UNIT" "$@" || exit $?
[ "$stage" = unit ] && exit 0

echo "== engine, gpu and ray tiers in .venv (scripts/setup.sh) =="
bash scripts/setup.sh || exit $?
tier .venv/bin/python "$REST" "$@"
