"""A workload scheduled once, timed under any efficiency: the prediction's batch simulation.

All requests arrive at t=0, so what the scheduler does at each step (bench.roofline.batchsim: who
decodes, which prompt chunks run, preemptions) depends on token budgets, sequence slots and KV room,
never on how long steps take. `schedule` therefore runs the scheduler once, with every step lasting
one unit, and keeps each step's cost by kind (bench.roofline.efficiency.StepCost, as arrays) and the
step at which each request produced its first and its last token. `timings` then prices those steps
for any Efficiency: elapsed time = sum of step times, TTFT = time at the end of the first-token step,
TPOT = (finish - first token) / (output - 1). The fit (bench.roofline.fit) evaluates thousands of
parameter sets on one schedule; the sim engine and `expected` evaluate one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.roofline import batchsim, efficiency
from bench.roofline.bound import Deployment, TokenRates


@dataclass(frozen=True)
class ScheduleTrace:
    costs: efficiency.StepCost  # fields are arrays with one element per step
    machine: efficiency.Machine
    roofline_s: np.ndarray  # each step's roofline time (the bound)
    prefill_share: np.ndarray  # each step's prefill part of the binding resource (roofline split), 0..1
    first_step: np.ndarray  # per request: index of the step that produced its first token
    finish_step: np.ndarray  # per request: index of the step that produced its last token
    input_lens: np.ndarray
    output_lens: np.ndarray
    preemptions: int
    max_running: int
    cached_tokens: tuple = ()  # per request: prompt tokens from the prefix cache (None each when caching is off)

    @property
    def steps(self) -> int:
        return len(self.roofline_s)


@dataclass(frozen=True)
class Timings(TokenRates):
    elapsed_s: float
    ttft_s: np.ndarray
    tpot_s: np.ndarray  # nan where a request has a single output token
    e2e_s: np.ndarray
    input_tokens: int
    output_tokens: int
    prefill_s: float
    decode_s: float

    @property
    def requests_s(self) -> float:
        return len(self.e2e_s) / self.elapsed_s


def schedule(dep: Deployment, lengths: list[tuple[int, int]], max_num_seqs: int,
             max_num_batched_tokens: int, kv_capacity_tokens: int | None = None,
             prefix_blocks: list | None = None) -> ScheduleTrace:
    """Run the scheduler once over (prompt_len, output_len) requests (SimError if one cannot fit the cache).
    kv_capacity_tokens: the cache an engine reported (default: the deployment's analytic one); prefix_blocks
    (batchsim.prefix_hashes of the prompts): with prefix caching."""
    rows = []

    def unit_step(n_decode: int, ctx: int, chunks: list) -> float:
        c = dep.step_cost(n_decode, ctx, chunks)
        t, prefill, decode = dep.step_split(n_decode, ctx, chunks)
        share = prefill / (prefill + decode) if prefill + decode > 0 else 0.0
        rows.append((c.dense_weight_bytes, c.expert_weight_bytes, c.kv_bytes, c.gemm_flops, c.attention_flops,
                     c.sequences, c.tokens, c.allreduce_bytes, t, share, c.expert_matrices, c.launch_s))
        return 1.0

    out = batchsim.simulate(lengths, unit_step, kv_capacity_tokens or dep.kv_capacity_tokens, max_num_seqs,
                            max_num_batched_tokens, prefix_blocks=prefix_blocks,
                            kv_units=dep.kv_units_or_none, tokens_per_step=dep.tokens_per_step)
    a = np.array(rows, dtype=float)
    allreduces = dep.step_cost(1, 1).allreduces
    costs = efficiency.StepCost(*(a[:, i] for i in range(8)), allreduces=allreduces, expert_matrices=a[:, 10],
                                launch_s=a[:, 11])
    # with unit steps, a request's first/finish time is the 1-based number of the step that emitted it
    first = np.array([r.first_token_s for r in out.requests], dtype=float).astype(int) - 1
    finish = np.array([r.finish_s for r in out.requests], dtype=float).astype(int) - 1
    return ScheduleTrace(costs=costs, machine=dep.machine, roofline_s=a[:, 8], prefill_share=a[:, 9],
                         first_step=first, finish_step=finish,
                         input_lens=np.array([p for p, _ in lengths]), output_lens=np.array([o for _, o in lengths]),
                         preemptions=out.preemptions, max_running=out.max_running,
                         cached_tokens=tuple(r.cached_tokens for r in out.requests))


def step_times_s(trace: ScheduleTrace, eff: efficiency.Efficiency | None) -> np.ndarray:
    """Each step's seconds: the roofline's when eff is None, else the efficiency model's."""
    if eff is None:
        return trace.roofline_s
    return np.asarray(efficiency.step_time_s(trace.costs, trace.machine, eff), dtype=float)


def timings(trace: ScheduleTrace, eff: efficiency.Efficiency | None) -> Timings:
    """Per-request times and totals of the traced schedule under `eff` (None: the roofline bound)."""
    dt = step_times_s(trace, eff)
    end = np.cumsum(dt)
    ttft = end[trace.first_step]
    e2e = end[trace.finish_step]
    multi = trace.output_lens > 1
    tpot = np.full(len(ttft), np.nan)
    tpot[multi] = (e2e[multi] - ttft[multi]) / (trace.output_lens[multi] - 1)
    prefill = float(np.sum(dt * trace.prefill_share))
    return Timings(elapsed_s=float(end[-1]), ttft_s=ttft, tpot_s=tpot, e2e_s=e2e,
                   input_tokens=int(trace.input_lens.sum()), output_tokens=int(trace.output_lens.sum()),
                   prefill_s=prefill, decode_s=float(end[-1]) - prefill)
