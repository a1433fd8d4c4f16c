"""Harness overhead: bench's output_tok_s versus a bare LLM.generate, side by side in one run.

Default case (the core issue's benchmark): CPU build of vLLM, the Qwen2.5-0.5B architecture
with dummy weights, 16 prompts x 128 in / 64 out, three repetitions, alternating order.
Prints each pair and the median ratio (target >= 0.98).

    .venv/bin/python scripts/bench_overhead.py [--model qwen2.5-0.5b-instruct] [--reps 3]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.config import run as runconfig
from bench.engines.base import EngineSpec
from bench.execution.case import prepare_case, run_case

HERE = Path(__file__).resolve().parent


def bare(spec: EngineSpec) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec.__dict__, f)
    proc = subprocess.run([sys.executable, str(HERE / "bare_generate.py"), f.name], capture_output=True, text=True)
    Path(f.name).unlink()
    if proc.returncode != 0:
        sys.exit(f"bare LLM.generate failed:\n{proc.stderr[-3000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("BARE_RESULT "))
    return json.loads(line.split(" ", 1)[1])["output_tok_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-0.5b-instruct")
    ap.add_argument("--num-prompts", type=int, default=16)
    ap.add_argument("--input-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=64)
    ap.add_argument("--max-model-len", type=int, default=1024)
    ap.add_argument("--cpu-kv-cache-gb", type=float, default=2)
    ap.add_argument("--dtype", default=None, help="default: the catalog's (bfloat16); float32 is ~5x faster on "
                    "CPUs without AVX-512 BF16")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    cfg, model = runconfig.resolve(runconfig.parse({
        "model": a.model, "num_prompts": a.num_prompts, "input_len": a.input_len, "output_len": a.output_len,
        "max_model_len": a.max_model_len, "cpu_kv_cache_gb": a.cpu_kv_cache_gb, "dtype": a.dtype}))
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        spec = prepare_case(cfg, model, Path(tmp) / "overhead.csv").spec  # what bench's worker gets
        for rep in range(a.reps):
            order = ("harness", "bare") if rep % 2 == 0 else ("bare", "harness")
            got = {}
            for who in order:
                if who == "bare":
                    got[who] = bare(spec)
                else:
                    row = run_case(cfg, model, Path(tmp) / "overhead.csv").row
                    if row["status"] != "ok":
                        sys.exit(f"harness run failed: {row['error']}")
                    got[who] = row["output_tok_s"]
            ratios.append(got["harness"] / got["bare"])
            print(f"rep {rep + 1}: harness {got['harness']:.1f} output tok/s, bare {got['bare']:.1f} -> "
                  f"ratio {ratios[-1]:.3f}", flush=True)
    print(f"{model.name} ({cfg.dtype}), {a.num_prompts} prompts x {a.input_len} in / {a.output_len} out, {a.reps} reps: "
          f"median ratio harness/bare = {statistics.median(ratios):.3f} (target >= 0.98)")


if __name__ == "__main__":
    main()
