"""Seeded synthetic workloads: token-id prompts and exact output lengths (no tokenizer needed)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

LENGTH_DISTS = ("fixed", "uniform", "normal")


@dataclass(frozen=True)
class Request:
    prompt_token_ids: list[int]
    output_len: int
    arrival_s: float | None = None  # a trace's recorded arrival, from its first request
    text: str | None = None  # the prompt as text, for text APIs (datasets of text; else built from the ids)

    @property
    def prompt_len(self) -> int:
        return len(self.prompt_token_ids)


def length_bounds(mean: int, dist: str, range_ratio: float) -> tuple[int, int]:
    """Smallest and largest length `sample_lengths` can return.

    uniform: integers in [mean x (1 - r), mean x (1 + r)];
    normal: N(mean, (r x mean)^2) rounded and clipped to mean +- 3 sigma, never below 1.
    """
    if dist == "fixed" or range_ratio == 0:
        return mean, mean
    width = range_ratio * mean if dist == "uniform" else 3 * range_ratio * mean
    return max(1, math.floor(mean - width)), math.ceil(mean + width)


def sample_lengths(rng: random.Random, n: int, mean: int, dist: str, range_ratio: float) -> list[int]:
    lo, hi = length_bounds(mean, dist, range_ratio)
    if lo == hi:
        return [mean] * n
    if dist == "uniform":
        return [rng.randint(lo, hi) for _ in range(n)]
    sigma = range_ratio * mean
    return [min(hi, max(lo, round(rng.gauss(mean, sigma)))) for _ in range(n)]


def sample_requests(num_prompts: int, input_len: int, output_len: int, vocab_size: int, seed: int = 0,
                    dist: str = "fixed", range_ratio: float = 0.0,
                    avoid_token_ids: frozenset[int] = frozenset()) -> list[Request]:
    """The same arguments always give the same requests (Python's Mersenne Twister, seeded).

    Token ids are drawn uniformly from the vocabulary, skipping special ids such as EOS,
    so every prompt is distinct and prefix caching cannot help (it is off anyway).
    """
    if dist not in LENGTH_DISTS:
        raise ValueError(f"unknown length distribution {dist!r}; choose one of {', '.join(LENGTH_DISTS)}")
    rng = random.Random(seed)
    in_lens = sample_lengths(rng, num_prompts, input_len, dist, range_ratio)
    out_lens = sample_lengths(rng, num_prompts, output_len, dist, range_ratio)
    return [Request(random_ids(rng, n_in, vocab_size, avoid_token_ids), n_out) for n_in, n_out in zip(in_lens, out_lens)]


def random_ids(rng: random.Random, n: int, vocab_size: int, avoid_token_ids: frozenset[int] = frozenset()) -> list[int]:
    """n token ids drawn uniformly from the vocabulary, skipping `avoid_token_ids`."""
    ids: list[int] = []
    while len(ids) < n:
        t = rng.randrange(vocab_size)
        if t not in avoid_token_ids:
            ids.append(t)
    return ids


def special_token_ids(cfg: dict) -> frozenset[int]:
    ids: set[int] = set()
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        v = cfg.get(key)
        if isinstance(v, int):
            ids.add(v)
        elif isinstance(v, list):
            ids.update(x for x in v if isinstance(x, int))
    return frozenset(ids)
