"""Harness overhead: bench's output tok/s against a bare LLM.generate that shares no code with bench
(scripts/bare_llm_generate.py: its own prompts, arguments and timing), and what telemetry sampling costs.

Each round runs three processes in a rotating order: the bare loop, `bench run` with telemetry on (the default:
the RSS/NVML sampler thread beside the engine) and `bench run` with it off (BENCH_TELEMETRY=off). Same engine
arguments (the bare loop is given them as flags), same workload shape, same warm-up batch. Printed: each round,
then the medians of harness(on)/bare and harness(off)/bare (targets >= 0.98) and telemetry's cost,
1 - on/off (target < 1%), and the samplers' own CPU seconds (time.thread_time in their threads, recorded in
each case's JSON as timings.telemetry_cpu_s) as a share of one core over the window they sampled: a figure a
busy neighbour cannot blur, unlike the on/off difference. Rotating the order spreads a busy neighbour over all
three; the medians over five rounds are what to quote.

    .venv/bin/python scripts/bench_overhead.py                   # Qwen2.5-0.5B architecture, 5 rounds
    .venv/bin/python scripts/bench_overhead.py --rounds 3 --model tiny-qwen2 --num-prompts 8
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KINDS = ("bare", "harness", "harness, telemetry off")


def bare(a, model_dir: str, dtype: str) -> float:
    cmd = [sys.executable, str(HERE / "bare_llm_generate.py"), "--model", model_dir, "--dtype", dtype,
           "--max-num-seqs", str(a.max_num_seqs), "--num-prompts", str(a.num_prompts), "--input-len",
           str(a.input_len), "--output-len", str(a.output_len), "--max-model-len", str(a.max_model_len),
           "--kv-cache-gb", str(a.cpu_kv_cache_gb), "--eager", "--dummy"]
    # its own session, as bench's worker has (start_new_session): with the kernel's autogroup scheduling a session
    # is a scheduling group, and a bare loop left in this script's session would share one group's CPU with
    # whatever else runs in it (a job beside it started from the same shell), the worker not: 1.23-1.39x in the
    # harness's favour under load, a scheduler artifact
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir(),  # no bench on its path
                          start_new_session=True)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BARE_RESULT ")), None)
    if proc.returncode != 0 or line is None:
        sys.exit(f"bare LLM.generate failed:\n{proc.stderr[-3000:]}")
    return json.loads(line.split(" ", 1)[1])["output_tok_s"]


def harness(a, dtype: str, out: Path, telemetry: bool) -> float:
    cmd = [sys.executable, "-m", "bench", "run", "--model", a.model, "--dtype", dtype, "--max-num-seqs",
           str(a.max_num_seqs), "--num-prompts", str(a.num_prompts), "--input-len", str(a.input_len), "--output-len",
           str(a.output_len), "--max-model-len", str(a.max_model_len), "--cpu-kv-cache-gb", str(a.cpu_kv_cache_gb),
           "--weights", "dummy", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_TELEMETRY": "on" if telemetry else "off"}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if proc.returncode != 0:
        sys.exit(f"bench run failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    import csv

    row = list(csv.DictReader(out.open()))[-1]
    t = json.loads((out.with_suffix("") / f"{row['run_id']}.json").read_text())["timings"]
    sampled_s = t["engine_start_s"] + t["warmup_s"] + t["generate_wall_s"]  # the samplers run start to stop
    return float(row["output_tok_s"]), t["telemetry_cpu_s"] / sampled_s





def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-0.5b-instruct", help="a catalog name (its config.json is used)")
    ap.add_argument("--num-prompts", type=int, default=16)
    ap.add_argument("--input-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=64)
    ap.add_argument("--max-num-seqs", type=int, default=16)
    ap.add_argument("--max-model-len", type=int, default=1024)
    ap.add_argument("--cpu-kv-cache-gb", type=float, default=2.0)
    ap.add_argument("--dtype", default=None, help="default: from the CPU's flags (bench.measure.cpu_features)")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.config import catalog
    from bench.measure.cpu_features import cpu_dtype, cpu_flags

    dtype = a.dtype or cpu_dtype(cpu_flags())
    model = catalog.resolve_model(a.model)
    model_dir = str(model.config_dir)
    print(f"{model.name} ({dtype}), {a.num_prompts} prompts x {a.input_len} in / {a.output_len} out, batch "
          f"{a.max_num_seqs}; {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}", flush=True)
    on_ratios, off_ratios, costs, shares = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.rounds):
            order = KINDS[rnd % 3:] + KINDS[:rnd % 3]
            got = {}
            for kind in order:
                if kind == "bare":
                    got[kind] = bare(a, model_dir, dtype)
                else:
                    got[kind], share = harness(a, dtype, Path(tmp) / f"r{rnd}.csv", telemetry=kind == "harness")
                    if kind == "harness":
                        shares.append(share)
            on, off, b = got["harness"], got["harness, telemetry off"], got["bare"]
            on_ratios.append(on / b)
            off_ratios.append(off / b)
            costs.append(1 - on / off)
            print(f"round {rnd + 1} ({' -> '.join(order)}): bare {b:.1f}, harness {on:.1f}, telemetry off {off:.1f} "
                  f"output tok/s; harness/bare {on / b:.3f}, off/bare {off / b:.3f}; sampler CPU "
                  f"{100 * shares[-1]:.3f}% of one core; load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"median over {a.rounds} rounds: harness/bare {statistics.median(on_ratios):.3f} (target >= 0.98), "
          f"telemetry off/bare {statistics.median(off_ratios):.3f}, telemetry cost 1 - on/off "
          f"{100 * statistics.median(costs):+.1f}% (target < 1%)")
    # The on/off difference is a ratio of two noisy throughputs; the samplers' own CPU time is not: at most
    # this share of one core was taken from the engine (of its time on 2 cores: half of it).
    print(f"telemetry's own CPU time (the samplers' threads, time.thread_time): max {100 * max(shares):.3f}% of one "
          f"core over the sampled window, median {100 * statistics.median(shares):.3f}% (target < 1%)")


if __name__ == "__main__":
    main()
