"""Seeded synthetic workloads that look like chat traffic: shared system prompts and multi-turn sessions.
Token ids only (no tokenizer); the same arguments always give the same requests."""

from __future__ import annotations

import math
import random

from bench.workload.synthetic import Request, random_ids, sample_lengths


def shared_prefix(num_prompts: int, input_len: int, output_len: int, prefix_len: int, num_prefixes: int,
                  vocab_size: int, seed: int = 0, dist: str = "fixed", range_ratio: float = 0.0,
                  avoid_token_ids: frozenset[int] = frozenset()) -> list[Request]:
    """`num_prefixes` system prompts of `prefix_len` tokens; request i starts with prompt i mod num_prefixes
    and goes on with tokens of its own up to its input length (mean `input_len`, which includes the prefix).

    The own part's length (mean input_len - prefix_len) and the output length vary by `dist` as
    sample_requests does; the groups interleave (request 0 uses prefix 0, request 1 prefix 1, ...).
    """
    if not 0 < prefix_len < input_len:
        raise ValueError(f"the shared prefix ({prefix_len} tokens) must be shorter than the prompt ({input_len})")
    rng = random.Random(seed)
    prefixes = [random_ids(rng, prefix_len, vocab_size, avoid_token_ids) for _ in range(num_prefixes)]
    own = sample_lengths(rng, num_prompts, input_len - prefix_len, dist, range_ratio)
    out = sample_lengths(rng, num_prompts, output_len, dist, range_ratio)
    return [Request(prefixes[i % num_prefixes] + random_ids(rng, n_own, vocab_size, avoid_token_ids), n_out)
            for i, (n_own, n_out) in enumerate(zip(own, out))]


def multi_turn(num_prompts: int, input_len: int, output_len: int, turns: int, vocab_size: int, seed: int = 0,
               avoid_token_ids: frozenset[int] = frozenset()) -> list[Request]:
    """Sessions of `turns` turns; turn t (1-based) sends the whole history (the session's earlier user messages
    and, standing in for the answers, `output_len` seeded tokens each) then a new user message of `input_len`
    tokens: t x input_len + (t - 1) x output_len prompt tokens, the first (t - 1) x (input_len + output_len)
    of them the previous turn's prompt and answer.

    ceil(num_prompts / turns) sessions, listed turn by turn (every session's turn 1, then every turn 2, ...)
    and cut at num_prompts, so a session's next turn is sent after its previous one.
    """
    rng = random.Random(seed)
    sessions = math.ceil(num_prompts / turns)
    history: list[list[int]] = [[] for _ in range(sessions)]
    requests: list[Request] = []
    for _ in range(turns):
        for s in range(sessions):
            prompt = history[s] + random_ids(rng, input_len, vocab_size, avoid_token_ids)
            requests.append(Request(prompt, output_len))
            history[s] = prompt + random_ids(rng, output_len, vocab_size, avoid_token_ids)
    return requests[:num_prompts]


def multi_turn_max_prompt(input_len: int, output_len: int, turns: int) -> int:
    """The last turn's prompt: turns x input_len + (turns - 1) x output_len tokens."""
    return turns * input_len + (turns - 1) * output_len
