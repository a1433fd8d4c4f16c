"""Speculative decoding's figures from vLLM's own counters, and the expected figures of an assumed acceptance. Pure.

vLLM counts, per run (Prometheus vllm:spec_decode_*; LLM.get_metrics() offline):
  drafts          verification steps that carried a draft (one per sequence and step)
  draft_tokens    tokens the drafts proposed (drafts x num_speculative_tokens)
  accepted        draft tokens the target model accepted
and defines (vllm/v1/spec_decode/metrics.py, its log line "Mean acceptance length"):
  acceptance rate        accepted / draft_tokens
  tokens per step        1 + accepted / drafts: the accepted draft tokens plus the one the target always adds
An assumed per-token acceptance rate r with k draft tokens gives 1 + k x r tokens a step (the same definition, with
accepted = r x drafts x k): what the sim prices when nothing was measured.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

COUNTERS = {"drafts": "vllm:spec_decode_num_drafts", "draft_tokens": "vllm:spec_decode_num_draft_tokens",
            "accepted": "vllm:spec_decode_num_accepted_tokens"}


@dataclass(frozen=True)
class SpecDecode:
    method: str
    draft_tokens_per_step: int  # num_speculative_tokens
    acceptance_rate: float | None
    tokens_per_step: float | None
    source: str  # measured (vLLM's counters) | assumed (--spec-acceptance)
    drafts: int | None = None
    draft_tokens: int | None = None
    accepted: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def counters(metrics) -> dict[str, int]:
    """vLLM's spec-decode counters from LLM.get_metrics() (objects with .name and .value), by COUNTERS' keys."""
    names = {v: k for k, v in COUNTERS.items()}
    return {names[m.name]: int(m.value) for m in metrics if m.name in names and hasattr(m, "value")}


def measured(method: str, k: int, before: dict[str, int], after: dict[str, int]) -> SpecDecode:
    """The figures of a timed run from the counters before and after it (the warm-up's drafts are not in them)."""
    d = {key: after.get(key, 0) - before.get(key, 0) for key in COUNTERS}
    rate = d["accepted"] / d["draft_tokens"] if d["draft_tokens"] else None
    per_step = 1 + d["accepted"] / d["drafts"] if d["drafts"] else None
    return SpecDecode(method, k, rate, per_step, "measured", d["drafts"], d["draft_tokens"], d["accepted"])


def assumed(method: str, k: int, acceptance_rate: float) -> SpecDecode:
    """An assumed acceptance: 1 + k x rate tokens a step (module doc)."""
    return SpecDecode(method, k, acceptance_rate, 1 + k * acceptance_rate, "assumed")


# The row's columns (bench.results.schema, group "speculative"), from a SpecDecode's to_dict().
COLUMN_FIELDS = {"spec_method": "method", "spec_draft_tokens": "draft_tokens_per_step",
                 "spec_acceptance_rate": "acceptance_rate", "spec_tokens_per_step": "tokens_per_step",
                 "spec_source": "source"}


def columns(spec: dict | None) -> dict:
    """A row's speculative columns from its engine's spec_decode record (all empty without one)."""
    return {col: (spec or {}).get(field) for col, field in COLUMN_FIELDS.items()}


def from_server(server: dict, method: str, k: int) -> SpecDecode:
    """A serve level's figures from the server's /metrics counters over the level (bench.serve.prometheus:
    server_spec_drafts, _draft_tokens, _accepted)."""
    before = dict.fromkeys(COUNTERS, 0)
    after = {key: int(server.get(f"server_spec_{key}") or 0) for key in COUNTERS}
    return measured(method, k, before, after)
