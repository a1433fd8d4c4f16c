"""Continuous batching, step by step, with a given step-time function: pure, no I/O.

What a vLLM-style scheduler does with a list of requests that all arrive at t=0 (offline
throughput), in the order vLLM's V1 scheduler decides it:
  each step has a token budget (max_num_batched_tokens); running requests go first, one
  token each when decoding, the next chunk of their prompt when still prefilling (chunked
  prefill); then waiting requests are admitted first-come first-served while there is budget,
  a free sequence slot (max_num_seqs) and KV-cache room for the chunk.
  A decode that finds the KV cache full preempts the most recently admitted request: its
  cache is freed and it waits at the front of the queue to recompute prompt + output so far.
  The step that completes a request's prefill yields its first output token; each later step
  yields one more. KV is counted in tokens (vLLM rounds each sequence up to 16-token blocks); a model
  whose cache is not one unit per token (sliding windows, a linear layer's constant state) gives
  `kv_units`: the cache a sequence of n tokens holds, in the capacity's unit.

`step_time_s(n_decode, decode_context_tokens, prefill_chunks)` prices one step: how many
sequences decode, the sum of their context lengths, and (new tokens, cached tokens) of each
prefill chunk. bench.roofline.bound supplies the hardware's lower bound on that time. It may
return (seconds, prefill cost, decode cost) instead of seconds: the outcome then also says how
much of the run's time its prefill chunks and its decodes took (bench.cost.formulas.step_share_seconds).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from bench.cost.formulas import step_share_seconds

StepTime = Callable[[int, int, list], "float | tuple[float, float, float]"]


@dataclass
class SimRequest:
    prompt_len: int
    output_len: int
    # state
    computed: int = 0  # tokens whose KV is cached (prompt, then outputs), reset by preemption
    generated: int = 0  # output tokens produced so far
    credit: float = 0.0  # speculative decoding: the fraction of a token carried to the next step
    pending: int = 0  # tokens this step's decode will emit
    first_token_s: float | None = None
    finish_s: float | None = None

    @property
    def target_prefill(self) -> int:
        """Tokens to compute before the next output token: the prompt, plus outputs after a preemption."""
        return self.prompt_len + max(0, self.generated - 1) if self.generated else self.prompt_len

    @property
    def prefilling(self) -> bool:
        return self.computed < self.target_prefill


@dataclass
class SimOutcome:
    elapsed_s: float
    requests: list[SimRequest]
    steps: int
    preemptions: int
    max_running: int
    step_log: list = field(default_factory=list)  # (time_s, n_decode, prefill tokens), when asked for
    prefill_s: float | None = None  # the steps' time split by their parts' cost, when step_time_s tells it
    decode_s: float | None = None

    @property
    def output_tokens(self) -> int:
        return sum(r.generated for r in self.requests)

    @property
    def input_tokens(self) -> int:
        return sum(r.prompt_len for r in self.requests)


class SimError(ValueError):
    """A request the cache can never hold (its prompt + output exceeds the KV capacity)."""


def simulate(lengths: list[tuple[int, int]], step_time_s: StepTime, kv_capacity_tokens: int, max_num_seqs: int,
             max_num_batched_tokens: int, max_steps: int = 10_000_000, log_steps: bool = False,
             kv_units: Callable[[int], float] | None = None, tokens_per_step: float = 1.0) -> SimOutcome:
    """Run every (prompt_len, output_len) request to completion; return per-request times. tokens_per_step:
    what a decoding sequence emits a step on average (speculative decoding: 1 + draft tokens x acceptance), each
    step emitting the whole tokens of what it has accumulated (at least one), the rest carried."""
    if max_num_seqs < 1 or max_num_batched_tokens < 1:
        raise ValueError("max_num_seqs and max_num_batched_tokens must be positive")
    held = kv_units or (lambda n: n)  # the cache a sequence of n computed tokens holds

    def grow(r: SimRequest, n: int):  # what computing n more tokens of r adds to the cache
        return held(r.computed + n) - held(r.computed) if kv_units else n

    reqs = [SimRequest(p, o) for p, o in lengths]
    for r in reqs:
        if held(r.prompt_len + r.output_len) > kv_capacity_tokens:
            raise SimError(f"a request of {r.prompt_len} + {r.output_len} tokens does not fit a KV cache of "
                           f"{kv_capacity_tokens} tokens")
        if r.output_len < 1 or r.prompt_len < 1:
            raise ValueError("prompt and output lengths must be at least 1")
    waiting: deque[SimRequest] = deque(reqs)
    running: list[SimRequest] = []
    used = 0  # KV tokens held
    now = 0.0
    steps = preemptions = max_running = 0
    log = []
    prefill_s = decode_s = 0.0
    split = True
    while waiting or running:
        steps += 1
        if steps > max_steps:
            raise RuntimeError(f"simulation did not finish in {max_steps} steps")
        budget = max_num_batched_tokens
        decoders: list[SimRequest] = []
        chunks: list[tuple[SimRequest, int]] = []
        # 1. running requests, oldest first
        i = 0
        while i < len(running) and budget > 0:
            r = running[i]
            if r.prefilling:
                need = min(r.target_prefill - r.computed, budget)
            else:
                need = r.pending = min(max(1, int(r.credit + tokens_per_step)), r.output_len - r.generated)
            while used + grow(r, need) > kv_capacity_tokens and running[-1] is not r:  # preempt the newest
                victim = running.pop()
                used -= held(victim.computed)
                victim.computed = 0
                waiting.appendleft(victim)
                preemptions += 1
            if used + grow(r, need) > kv_capacity_tokens:  # r itself is the newest and still does not fit
                running.pop(i)
                used -= held(r.computed)
                r.computed = 0
                waiting.appendleft(r)
                preemptions += 1
                continue
            used += grow(r, need)
            budget -= need
            (chunks.append((r, need)) if r.prefilling else decoders.append(r))
            i += 1
        # 2. admit waiting requests, first come first served
        while waiting and budget > 0 and len(running) < max_num_seqs:
            r = waiting[0]
            need = min(r.target_prefill - r.computed, budget)
            if used + grow(r, need) > kv_capacity_tokens:
                break
            waiting.popleft()
            running.append(r)
            used += grow(r, need)
            budget -= need
            chunks.append((r, need))
        max_running = max(max_running, len(running))
        if not decoders and not chunks:
            raise RuntimeError("scheduler made no progress (KV cache too small for any chunk)")
        dt = step_time_s(len(decoders), sum(r.prompt_len + r.generated for r in decoders),
                         [(n, r.computed) for r, n in chunks])
        if isinstance(dt, tuple):
            dt, prefill_cost, decode_cost = dt
            p, d = step_share_seconds(dt, prefill_cost, decode_cost)
            prefill_s += p
            decode_s += d
        else:
            split = False
        now += dt
        if log_steps:
            log.append((now, len(decoders), sum(n for _, n in chunks)))
        # 3. advance: a finished prefill and every decode yield one output token
        for r, n in chunks:
            r.computed += n
            if not r.prefilling:
                _emit(r, now)
        for r in decoders:
            r.credit += tokens_per_step - r.pending
            r.computed += r.pending
            for _ in range(r.pending):
                _emit(r, now)
        still = []
        for r in running:
            if r.finish_s is not None:
                used -= held(r.computed)
            else:
                still.append(r)
        running = still
    return SimOutcome(elapsed_s=now, requests=reqs, steps=steps, preemptions=preemptions, max_running=max_running,
                      step_log=log, prefill_s=prefill_s if split else None, decode_s=decode_s if split else None)


def _emit(r: SimRequest, now: float) -> None:
    r.generated += 1
    if r.first_token_s is None:
        r.first_token_s = now
    if r.generated >= r.output_len:
        r.finish_s = now
