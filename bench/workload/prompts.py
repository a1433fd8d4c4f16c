"""The prompts of a serving level: bench's seeded synthetic workload, as token ids or as text.

Token ids (the default, `/v1/completions`): exactly `input_len` tokens, no tokenizer needed, the
same prompts `bench run` uses for the same seed. Text (`--prompt-format text`, needed for chat
APIs and vendors): each token id picks one common English word, so a prompt has `input_len` words,
about as many tokens for BPE vocabularies; the server's `usage.prompt_tokens` gives the true count,
which the request records keep.
"""

from __future__ import annotations

from bench.serve.load import Prompt
from bench.workload.synthetic import sample_requests, special_token_ids

WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there one all we their has been if more when will would who so no time out up about into "
    "than its only other some could them what these two may then do first any my now such like our over man me "
    "even most made after also did many before must through back years where much your way well down should "
    "because each just those people how too little state good very make world still own see men work long get "
    "here between both life being under never day same another know while last might us great old year off come "
    "since against go came right used take three place small found city water house light river stone market"
).split()
WARMUP_SEED_OFFSET = 1_000_003  # warm-up prompts differ from the measured ones (no cache hits)
WARMUP_MAX_OUTPUT = 16


def words_for(ids: list[int]) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in ids)


def build_prompts(n: int, input_len: int, output_len: int, model_config: dict, seed: int, text: bool,
                  length_dist: str = "fixed", range_ratio: float = 0.0) -> list[Prompt]:
    reqs = sample_requests(n, input_len, output_len, int(model_config["vocab_size"]), seed=seed, dist=length_dist,
                           range_ratio=range_ratio, avoid_token_ids=special_token_ids(model_config))
    return [Prompt(prompt=words_for(r.prompt_token_ids) if text else r.prompt_token_ids, prompt_len=r.prompt_len,
                   output_len=r.output_len) for r in reqs]


def warmup_prompts(n: int, input_len: int, output_len: int, model_config: dict, seed: int, text: bool) -> list[Prompt]:
    """Full-length prompts, short outputs: opens the connections and warms the server's kernels."""
    return build_prompts(n, input_len, min(output_len, WARMUP_MAX_OUTPUT), model_config, seed + WARMUP_SEED_OFFSET,
                         text)
