"""Speculative decoding priced on the roofline and the efficiency model: what a step costs and yields. Pure.

With a draft of k tokens accepted at rate r (the share of draft tokens the model keeps; an assumption unless a
vLLM run measured it):
  yield      each decoding sequence emits 1 + k x r tokens a step on average (bench.measure.speculative), which the
             scheduler simulation (bench.roofline.batchsim tokens_per_step) turns into fewer steps and a shorter TPOT
  verify     the model runs k + 1 tokens of each decoding sequence through every layer (its own next token and the
             k drafted ones): k + 1 times the GEMM rows, logits and attention queries, one read of the sequence's
             cache, k + 1 tokens written (the rejected ones are overwritten later)
  draft      method ngram (and other lookups): nothing on the GPU (a search of the prompt on the CPU). A network draft
             (mtp, eagle, eagle3, draft_model...): k passes a step, each over the decoding sequences, costed as one
             average layer of the model (its blocks' weights touched / layers, its FLOPs / layers) plus the lm_head:
             an MTP module is one decoder layer and a head, EAGLE's draft one layer with the model's head
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.model import flops, modelmath

LOOKUP_METHODS = ("ngram", "suffix")  # drafts found by search, not computed


@dataclass(frozen=True)
class Draft:
    method: str
    draft_tokens: int  # k, num_speculative_tokens
    acceptance_rate: float

    @property
    def tokens_per_step(self) -> float:
        return 1 + self.draft_tokens * self.acceptance_rate

    @property
    def verified(self) -> int:
        """Tokens each decoding sequence runs through the model a step: its own and the k drafted ones."""
        return 1 + self.draft_tokens

    @property
    def computed(self) -> bool:
        return self.method not in LOOKUP_METHODS


def draft_pass(cfg: dict, weight_dtype: str, sequences: int, touched_bytes: float) -> tuple[float, float]:
    """(weight bytes, FLOPs) of one draft pass over `sequences` decoding sequences (module doc): one average layer
    of the model plus its lm_head. `touched_bytes`: the model's weight bytes a pass over that many tokens reads."""
    p = modelmath.param_counts(cfg)
    head = p.lm_head or p.embedding
    head_bytes = head * modelmath.format_bytes(weight_dtype).other
    layers = modelmath.num_layers(cfg)
    layer_bytes = (touched_bytes - head_bytes - p.norms * modelmath.format_bytes(weight_dtype).other) / layers
    layer_flops = flops.block_linear_flops_per_token(cfg) / layers
    return layer_bytes + head_bytes, sequences * (layer_flops + flops.lm_head_flops_per_row(cfg))
