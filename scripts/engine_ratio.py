"""vLLM's advantage, measured: vLLM against transformers on the same model, lengths and batch sizes, in one run.

For every batch size (vLLM's max_num_seqs = the hf engine's static batch size) each engine runs the same
seeded workload as one `bench run` case in its own process, the order alternating between batch sizes so
neither always goes first on a busy machine; rows land in --out like any `bench run`. Then a table:
output tok/s of each engine and the ratio vllm / engine, plus TPOT and TTFT medians.

    .venv/bin/python scripts/engine_ratio.py                       # tiny-qwen2, batch 1,4,16, vllm vs hf
    .venv/bin/python scripts/engine_ratio.py --model qwen2.5-0.5b-instruct --batch-sizes 1,8 \\
        --num-prompts 8 --input-len 64 --output-len 16 --engines vllm,hf,hf-cb
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.config import run as runconfig
from bench.cli.argtypes import int_list
from bench.core.errors import BenchError
from bench.execution.case import run_case


def ratio(a, b) -> float | None:
    return a / b if a and b else None


def fmt(v, digits: int = 1) -> str:
    return "-" if v is None or v == "" else f"{v:,.{digits}f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny-qwen2")
    ap.add_argument("--engines", default="vllm,hf", help="the first is the reference the others are divided into")
    ap.add_argument("--batch-sizes", type=int_list, default=[1, 4, 16])
    ap.add_argument("--input-len", type=int, default=64)
    ap.add_argument("--output-len", type=int, default=32)
    ap.add_argument("--num-prompts", type=int, default=16)
    ap.add_argument("--max-model-len", type=int, default=None)
    ap.add_argument("--dtype", default=None, choices=["auto", "bfloat16", "float16", "float32"])
    ap.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    ap.add_argument("--cpu-kv-cache-gb", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=Path("results") / "engine-ratio.csv")
    a = ap.parse_args()
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    if len(engines) < 2:
        sys.exit("--engines: name at least two, e.g. vllm,hf")

    try:
        cases = {}
        for b in a.batch_sizes:  # resolve everything first: bad input stops before any run
            for e in engines:
                cases[b, e] = runconfig.resolve(runconfig.parse({
                    "model": a.model, "engine": e, "input_len": a.input_len, "output_len": a.output_len,
                    "num_prompts": a.num_prompts, "max_num_seqs": b, "max_model_len": a.max_model_len,
                    "dtype": a.dtype, "device": a.device, "cpu_kv_cache_gb": a.cpu_kv_cache_gb}))
        rows = {}
        for i, b in enumerate(a.batch_sizes):
            order = engines if i % 2 == 0 else engines[::-1]
            for e in order:
                cfg, model = cases[b, e]
                rows[b, e] = run_case(cfg, model, a.out, label=f"{model.name} {e} batch {b}").row
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    ref = engines[0]
    some = rows[a.batch_sizes[0], ref]
    print(f"\n{a.model}: {a.num_prompts} prompts x {a.input_len} in / {a.output_len} out, "
          f"{some['weights']} weights, {some['dtype']}, on {some['device_name'] or some['device']}")
    head = ["batch"] + [f"{e} out tok/s" for e in engines] + [f"{ref}/{e}" for e in engines[1:]] \
        + [f"{e} TPOT p50 ms" for e in engines] + [f"{e} TTFT p50 ms" for e in engines]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    failed = False
    for b in a.batch_sizes:
        r = {e: rows[b, e] for e in engines}
        failed |= any(x["status"] != "ok" for x in r.values())
        cells = [str(b)] + [fmt(r[e]["output_tok_s"]) if r[e]["status"] == "ok" else r[e]["status"] for e in engines]
        ratios = [ratio(r[ref]["output_tok_s"], r[e]["output_tok_s"]) for e in engines[1:]]
        cells += [f"{x:.2f}x" if x else "-" for x in ratios]
        cells += [fmt(r[e]["tpot_p50_ms"]) for e in engines] + [fmt(r[e]["ttft_p50_ms"]) for e in engines]
        print("| " + " | ".join(cells) + " |")
    print(f"rows: {a.out}")
    return 3 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
