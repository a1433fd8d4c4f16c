"""Cost method checks: each section prints one table (a script, not a test; docs/cost.md has the figures).

Section `split`: the input/output split of a run's time.
  sim   the issue's workloads on the roofline simulation of qwen2.5-7b on H100-SXM (vLLM's scheduler, step by
        step). truth: every step's roofline time split by its parts' FLOPs (compute-bound step) or bytes
        (memory-bound), summed. Beside it: what a `--engine sim` row reports (prefill_s), the method measured
        vLLM rows get (each step's time split by its token counts), and the old TPOT split. Each prefill time
        is also shown over the compute floor of the prompts (2 x params x input tokens / peak). Target: the
        row and the token method within 2% of the truth.
  vllm  real vLLM CPU runs (--vllm): the row's attributed prefill_s against the elapsed time of a separate
        prefill-only run of the same prompts (output length 1). Target: within 15%.
Section `tco`: bench.cost.tco fed SemiAnalysis' own H100 inputs against their all-in
  figure (about 1.30 USD per GPU-hour). Target: within 15%.

    python scripts/validate_cost.py [--section split|tco] [--vllm] [--format table|markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.config.catalog import resolve_model  # noqa: E402
from bench.cost import formulas as cost  # noqa: E402
from bench.cost import tco, tco_sources as src  # noqa: E402
from bench.cost.pricing import CostOptions, self_cost  # noqa: E402
from bench.cost.pricing import split_seconds  # noqa: E402
from bench.roofline import batchsim, predict  # noqa: E402
from bench.model import flops

# (model, hardware, max_num_seqs, input_len, output_len, num_prompts): the four workloads.
SIM_WORKLOADS = [
    ("qwen2.5-7b-instruct", "H100-SXM", 64, 128, 64, 64),
    ("qwen2.5-7b-instruct", "H100-SXM", 64, 1024, 256, 64),
    ("qwen2.5-7b-instruct", "H100-SXM", 64, 1024, 256, 256),
    ("qwen2.5-7b-instruct", "H100-SXM", 64, 4096, 256, 256),
]
# (model, dtype, input_len, output_len, num_prompts, max_num_seqs): small enough for a 2-core machine.
VLLM_WORKLOADS = [
    ("tiny-qwen2", "float32", 128, 64, 16, 16),
    ("tiny-qwen2", "float32", 1024, 64, 16, 16),
    ("qwen2.5-0.5b-instruct", "float32", 128, 64, 8, 8),
    ("qwen2.5-0.5b-instruct", "float32", 1024, 64, 4, 4),
]


def sim_split(model: str, hardware: str, seqs: int, inp: int, out: int, n: int) -> dict:
    m = resolve_model(model)
    dep = predict.deployment({}, m.config, predict.require_gpu(hardware))
    _, tokens = predict.vllm_default_limits(dep.gpu)
    steps = []  # (seconds, prefill cost, decode cost, prefill tokens, decode tokens)

    def step_time_s(n_decode: int, ctx: int, chunks: list) -> float:
        s = dep.step(n_decode, ctx, chunks)
        decode_flops = dep.step(n_decode, ctx).flops if n_decode else 0.0
        if s.bound == "compute":
            p_cost, d_cost = s.flops - decode_flops, decode_flops
        else:  # weights read once, shared by token count; KV by its owner
            new = sum(k for k, _ in chunks)
            weights = dep.weight_bytes_touched(s.tokens) + dep.replicated_weight_bytes
            p_cost = weights * new / s.tokens + sum(k + c for k, c in chunks) * dep.kv_bytes_per_token
            d_cost = s.bytes - p_cost
        steps.append((s.time_s, p_cost, d_cost, sum(k for k, _ in chunks), n_decode))
        return s.time_s

    lengths = [(inp, out)] * n
    run = batchsim.simulate(lengths, step_time_s, dep.kv_capacity_tokens, seqs, tokens)
    truth_p, truth_d = cost.prefill_decode_seconds_by_steps([(t, p, d) for t, p, d, _, _ in steps])
    tok_p, _ = cost.prefill_decode_seconds_by_steps([(t, a, b) for t, _, _, a, b in steps])
    pred = predict.predict_lengths(dep, lengths, seqs, tokens)  # what the sim engine puts in its row
    tpots = [x for x in pred.tpot_s if x is not None]
    row = {"elapsed_s": pred.elapsed_s, "output_tokens": pred.output_tokens, "num_prompts": n, "max_num_seqs": seqs,
           "tpot_mean_ms": 1000 * sum(tpots) / len(tpots), "input_len": inp, "output_len": out,
           "kv_capacity_tokens": dep.kv_capacity_tokens}
    old_p, _ = split_seconds(row)
    # the prompts' linear FLOPs: every token through the blocks, one logits row per prompt (flops.prefill_flops)
    floor_s = (flops.block_linear_flops_per_token(m.config) * n * inp
               + flops.lm_head_flops_per_row(m.config) * n) / dep.peak_flops
    return {"workload": f"{inp}/{out} x {n}, seqs {seqs}", "elapsed_s": run.elapsed_s, "truth_prefill_s": truth_p,
            "truth_decode_s": truth_d, "row_prefill_s": pred.prefill_s, "token_prefill_s": tok_p,
            "tpot_prefill_s": old_p, "floor_s": floor_s, "input_tokens": n * inp, "output_tokens": n * out}


def blend(r: dict, prefill_s: float) -> float:
    """The 3:1 blended price of a split, per CNY of hourly cost (the hourly cost cancels in a ratio)."""
    p_in = cost.cny_per_m_input(1.0, prefill_s, r["input_tokens"])
    p_out = cost.cny_per_m_output(1.0, r["elapsed_s"] - prefill_s, r["output_tokens"])
    return cost.cny_per_m_blended(p_in, p_out)


def sim_section() -> tuple[list[str], list[list[str]]]:
    head = ["workload (qwen2.5-7b, H100-SXM)", "elapsed s", "truth prefill s", "row / truth", "token / truth",
            "TPOT / truth", "truth / floor", "TPOT / floor", "decode s: row / truth", "3:1 blend: TPOT / row"]
    rows = []
    for w in SIM_WORKLOADS:
        r = sim_split(*w)
        t = r["truth_prefill_s"]
        rows.append([r["workload"], f"{r['elapsed_s']:.3f}", f"{t:.3f}", f"{r['row_prefill_s'] / t:.4f}",
                     f"{r['token_prefill_s'] / t:.4f}", f"{r['tpot_prefill_s'] / t:.3f}",
                     f"{t / r['floor_s']:.2f}", f"{r['tpot_prefill_s'] / r['floor_s']:.2f}",
                     f"{(r['elapsed_s'] - r['row_prefill_s']) / r['truth_decode_s']:.4f}",
                     f"{blend(r, r['tpot_prefill_s']) / blend(r, r['row_prefill_s']):.2f}"])
    return head, rows


def probe(model: str, dtype: str, inp: int, out: int, n: int, seqs: int, repeats: int) -> dict:
    """Inside one process (`--probe`): one vLLM engine, as `bench run`'s worker drives it, times the run and a
    prefill-only run (the same prompts, output length 1) in turn, `repeats` times each: alternating keeps a
    busy machine's drift out of their ratio. Returns each pass's elapsed_s and the engine's split."""
    from bench.config.catalog import choose_weights
    from bench.config.run import parse, resolve
    from bench.engines.base import EngineSpec
    from bench.engines.vllm_offline import VllmOfflineEngine
    from bench.workload.synthetic import sample_requests

    cfg, m = resolve(parse({"model": model, "dtype": dtype, "input_len": inp, "output_len": out, "num_prompts": n,
                            "max_num_seqs": seqs}))
    choice = choose_weights(m, "auto")
    engine = VllmOfflineEngine(EngineSpec(run=cfg, load_path=choice.load_path,
                                          load_format=choice.load_format, model_config=m.config))
    engine.check()
    engine.start()
    vocab = int(m.config["vocab_size"])
    engine.generate(sample_requests(n, inp, min(out, 8), vocab, seed=1_000_003))  # warm-up, as bench run
    passes = {"full": [], "prefill_only": []}
    for _ in range(repeats):
        for kind, out_len in (("full", out), ("prefill_only", 1)):
            results, elapsed_s = engine.generate(sample_requests(n, inp, out_len, vocab, seed=0))
            tpots = [r.tpot_s for r in results if r.tpot_s is not None]
            tokens = sum(r.output_len for r in results)
            tpot_s = sum(tpots) / len(tpots) if tpots else 0.0  # bench cost's fallback uses the mean TPOT
            tpot_prefill_s = cost.prefill_decode_seconds(elapsed_s, tokens, n, min(seqs, n), tpot_s)[0]
            passes[kind].append({"elapsed_s": elapsed_s, "tpot_prefill_s": tpot_prefill_s, **engine.split})
    engine.stop()
    return passes


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    return (xs[len(xs) // 2] + xs[(len(xs) - 1) // 2]) / 2


def vllm_section(repeats: int) -> tuple[list[str], list[list[str]]]:
    head = ["model (float32)", "workload", "elapsed s", "split method", "prefill s (row)", "prefill-only run s",
            "row / prefill-only", "TPOT split / prefill-only"]
    rows = []
    for model, dtype, inp, out, n, seqs in VLLM_WORKLOADS:
        cmd = [sys.executable, __file__, "--probe", json.dumps([model, dtype, inp, out, n, seqs, repeats])]
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        if done.returncode != 0:
            raise SystemExit(f"probe {model} {inp}/{out} failed:\n{done.stderr[-3000:]}")
        passes = json.loads(done.stdout.strip().splitlines()[-1])
        full, only = passes["full"], passes["prefill_only"]
        row_p = median([f["prefill_s"] for f in full])
        only_p = median([o["elapsed_s"] for o in only])
        # the TPOT split of the same run needs its TPOT: elapsed - decode steps x TPOT, as bench cost computes it
        tpot_p = median([f["tpot_prefill_s"] for f in full])
        rows.append([model, f"{inp}/{out} x {n}, seqs {seqs}", f"{median([f['elapsed_s'] for f in full]):.2f}",
                     full[0].get("split_method", ""), f"{row_p:.3f}", f"{only_p:.3f}", f"{row_p / only_p:.3f}",
                     f"{tpot_p / only_p:.3f}"])
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return head, rows


def show(title: str, head: list[str], rows: list[list[str]], fmt: str) -> None:
    print(f"\n## {title}\n")
    if fmt == "markdown":
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


TOLERANCE = 0.15  # the all-in TCO must land within 15% of SemiAnalysis' H100 figure


def semianalysis_check() -> bool:
    """bench.cost.tco fed SemiAnalysis' own H100 inputs vs their 1.30 USD per GPU-hour."""
    print("== SemiAnalysis H100 TCO check (bench.cost.tco) ==")
    for s in (src.SEMIANALYSIS_DGX_H100_USD, src.SEMIANALYSIS_LIFE_YEARS, src.SEMIANALYSIS_ALL_IN_KW_PER_GPU,
              src.CHECK_ELECTRICITY_USD_PER_KWH):
        print(f"  input  {s.value:>10,.3f} {s.unit}  [{s.source}, {s.date}]")
    capital = tco.capital_per_gpu(src.SEMIANALYSIS_DGX_H100_USD.value, 8, src.HOST_USD_PER_GPU["hgx"].value)
    life, kw = src.SEMIANALYSIS_LIFE_YEARS.value, src.SEMIANALYSIS_ALL_IN_KW_PER_GPU.value
    base = tco.tco_per_gpu_hour(capital, life, kw, 1.0, src.CHECK_ELECTRICITY_USD_PER_KWH.value)
    target = src.SEMIANALYSIS_H100_TCO_USD_PER_GPU_HOUR.value
    print(f"  capital {capital:,.0f} USD per GPU (server / 8) x 1/{life:g} / 8760 h = {base.capital_per_gpu_hour:.4f}")
    print(f"  energy  {kw} kW all-in x {src.CHECK_ELECTRICITY_USD_PER_KWH.value} USD/kWh = {base.energy_per_gpu_hour:.4f}")
    gap = base.total_per_gpu_hour / target - 1
    ok = abs(gap) < TOLERANCE
    print(f"  TCO {base.total_per_gpu_hour:.4f} USD per GPU-hour vs SemiAnalysis {target} "
          f"[{src.SEMIANALYSIS_H100_TCO_USD_PER_GPU_HOUR.source}]: {gap:+.1%} -> {'PASS' if ok else 'FAIL'} (+-15%)")
    # Sensitivities: what the check leaves out (their cost of capital and colocation are not held).
    for label, kwargs in (("+ colocation USD 150/kW-month on 1.73 kW", {"colocation_per_kw_month": 150.0}),
                          ("+ cost of capital 10%/year", {"cost_of_capital_per_year": 0.10})):
        t = tco.tco_per_gpu_hour(capital, life, kw, 1.0, src.CHECK_ELECTRICITY_USD_PER_KWH.value, **kwargs)
        print(f"  sensitivity {label}: {t.total_per_gpu_hour:.4f} ({t.total_per_gpu_hour / target - 1:+.1%})")
    # The harness' own --basis tco for H100-SXM (bare card + host share + networking, CNY at 7.2), in USD.
    row = {"run_id": "check", "model": "-", "status": "ok", "hardware": "H100-SXM", "total_tok_s": 1.0}
    for years in (3.0, 4.0):
        mine = self_cost(row, CostOptions(basis="tco", amortization_years=years))
        print(f"  bench --basis tco H100-SXM, --years {years:g}: {mine.gpu_cny_per_hour:.2f} CNY = "
              f"{mine.gpu_cny_per_hour / mine.fx_cny_per_usd:.3f} USD per GPU-hour ({mine.provenance})")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--section", choices=["split", "tco"], action="append", help="sections to run (default: all)")
    ap.add_argument("--vllm", action="store_true", help="also run the real vLLM CPU cases (minutes)")
    ap.add_argument("--repeats", type=int, default=2, help="vLLM: passes of each kind, alternated (median)")
    ap.add_argument("--format", choices=["table", "markdown"], default="table")
    ap.add_argument("--probe", help=argparse.SUPPRESS)  # internal: one vLLM case in this process
    args = ap.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(*json.loads(args.probe))))
        return 0
    sections = args.section or ["split", "tco"]
    ok = True
    if "split" in sections:
        show("split: sim rows against the step-by-step truth", *sim_section(), args.format)
        if args.vllm:
            show("split: vLLM CPU rows against a prefill-only run", *vllm_section(args.repeats), args.format)
    if "tco" in sections:
        ok = semianalysis_check()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
