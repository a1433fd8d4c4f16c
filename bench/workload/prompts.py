"""The prompts of a serving level: the workload's requests (bench.workload.source), as token ids or as text.

Token ids (the default, `/v1/completions`): exactly the request's tokens, the same prompts `bench run`
uses for the same --dataset and seed. Text (`--prompt-format text`, needed for chat APIs and vendors): a
text dataset's own prompt; for token workloads each token id picks one common English word, so a prompt
has as many words as tokens, about as many tokens for BPE vocabularies. The server's
`usage.prompt_tokens` gives the true count, which the request records keep.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.workload.source import Workload
from bench.workload.synthetic import Request


@dataclass(frozen=True)
class Prompt:
    prompt: list[int] | str  # token ids (completions) or text
    prompt_len: int  # tokens sent (text: an estimate until the server's usage says)
    output_len: int
    after: int | None = None  # the index of the prompt this one continues: sent once that one has ended


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


def prompts_of(requests: list[Request], text: bool) -> list[Prompt]:
    """A workload's requests as serving prompts: token ids, or text (the dataset's own, else one word per id)."""
    return [Prompt(prompt=(r.text or words_for(r.prompt_token_ids)) if text else r.prompt_token_ids,
                   prompt_len=r.prompt_len, output_len=r.output_len, after=r.after) for r in requests]


def workload_warmup(run: dict, model_config: dict, work: Workload, n: int, text: bool) -> list[Prompt]:
    """Full-length prompts (the workload's median), short outputs: opens the connections and warms the server."""
    from bench.workload import source

    warm = source.warmup(run["seed"], model_config, work, n, min(run["output_len"], WARMUP_MAX_OUTPUT))
    return prompts_of(warm, text)
