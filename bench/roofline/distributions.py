"""Measured against predicted latency distributions, for the CPU calibrate-then-predict check
(scripts/validate_prediction.py --cpu-only). Pure functions.

DISTRIBUTION names the percentiles a measured row carries (bench/results/schema.py): TTFT p50, p90 and p99,
TPOT p50 and p99. The prediction's are computed the way the measured ones are (bench.measure.metrics:
per-request seconds -> ms, linear interpolation between closest ranks; a request with one output token has
no TPOT) from the traced schedule's per-request times (bench.roofline.trace.timings), so a ratio of 1 means
the scheduler simulation put each request's first token and its decode pace where the engine did.

Repeats. Timings on a shared machine are noisy, so each point is measured more than once; `medians` groups
the rows of one case (same model, batch limit, dtype, lengths, prompts) and takes the median of each figure
(of 2 repeats: their mean) and the spread (largest / smallest) of the throughput.
"""

from __future__ import annotations

import statistics

from bench.measure.metrics import ms_summary, named_ms

DISTRIBUTION = ("ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p99_ms")
CASE_KEY = ("model", "max_num_seqs", "dtype", "input_len", "output_len", "num_prompts")
FIGURES = ("output_tok_s",) + DISTRIBUTION


def predicted_distribution_ms(ttft_s, tpot_s) -> dict[str, float | None]:
    """The DISTRIBUTION columns of per-request predicted TTFT and TPOT seconds (NaN TPOT: no TPOT)."""
    ttft = named_ms("ttft", ms_summary([float(x) for x in ttft_s], (50, 90, 99)))
    tpot = named_ms("tpot", ms_summary([float(x) for x in tpot_s if x == x], (50, 99)))
    return {k: {**ttft, **tpot}[k] for k in DISTRIBUTION}


def medians(rows: list[dict]) -> list[dict]:
    """One dict per case (CASE_KEY, in first-seen order): the case's key columns, `repeats`, `run_ids`, the
    median of each of FIGURES over the rows that have it (None when none has), and `spread`: the largest /
    smallest output_tok_s of the repeats (1.0 for one row)."""
    cases: dict[tuple, list[dict]] = {}
    for r in rows:
        cases.setdefault(tuple(str(r.get(k, "")) for k in CASE_KEY), []).append(r)
    out = []
    for key, group in cases.items():
        case = dict(zip(CASE_KEY, key), repeats=len(group), run_ids=[r.get("run_id", "") for r in group])
        for f in FIGURES:
            xs = [float(r[f]) for r in group if r.get(f) not in (None, "")]
            case[f] = statistics.median(xs) if xs else None
        tok = [float(r["output_tok_s"]) for r in group if r.get("output_tok_s") not in (None, "")]
        case["spread"] = max(tok) / min(tok) if tok else None
        out.append(case)
    return out


def ratio(measured: float | None, predicted: float | None) -> float | None:
    """predicted / measured, None where either is missing or measured is 0."""
    if measured in (None, 0) or predicted is None:
        return None
    return predicted / measured
