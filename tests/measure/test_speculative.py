"""Speculative decoding's figures: vLLM's counters over a timed run, an assumed acceptance, and per-token timing of
the chunks that carry a step's several tokens (bench.measure.speculative, streaming)."""

import pytest

from bench.measure import speculative
from bench.measure.streaming import deliveries, itl_per_token_s


def test_vllm_counters_over_the_timed_run():
    """Before the run (the warm-up's): 10 drafts, 30 drafted, 12 accepted; after: 50, 150, 102. The run's: 40 drafts
    of 3 tokens, 90 accepted: acceptance 90 / 120 = 0.75, tokens per step 1 + 90 / 40 = 3.25."""
    s = speculative.measured("ngram", 3, {"drafts": 10, "draft_tokens": 30, "accepted": 12},
                             {"drafts": 50, "draft_tokens": 150, "accepted": 102})
    assert (s.drafts, s.draft_tokens, s.accepted) == (40, 120, 90)
    assert s.acceptance_rate == 0.75 and s.tokens_per_step == 3.25 and s.source == "measured"
    none = speculative.measured("ngram", 3, {}, {})
    assert none.acceptance_rate is None and none.tokens_per_step is None
    assumed = speculative.assumed("mtp", 1, 0.8)
    assert assumed.tokens_per_step == 1.8 and assumed.source == "assumed"

    class M:  # LLM.get_metrics()'s shape: name and value
        def __init__(self, name, value):
            self.name, self.value = name, value
    assert speculative.counters([M("vllm:spec_decode_num_drafts", 4), M("vllm:spec_decode_num_draft_tokens", 12),
                                 M("vllm:spec_decode_num_accepted_tokens", 7), M("vllm:other", 1)]) == {
        "drafts": 4, "draft_tokens": 12, "accepted": 7}


def test_a_chunk_of_a_speculative_step_is_timed_per_token():
    """A stream of 1 token at 0.10 s, then steps that verified 4, 4 and 3 tokens at 0.18, 0.26, 0.32 s: the 11 gaps
    after the first token are 0.02 each (0.08 / 4, 0.08 / 4, 0.06 / 3), their sum E2E - TTFT = 0.22 s, and TPOT over
    the 11 tokens after the first is 0.02."""
    delivered = deliveries([(0.10, 1), (0.18, 4), (0.26, 4), (0.32, 3)], 12)
    gaps = itl_per_token_s(delivered)
    assert gaps == pytest.approx([0.02] * 11) and sum(gaps) == pytest.approx(0.32 - 0.10)


def test_a_serve_level_from_the_servers_counters():
    """/metrics over a level (bench.serve.prometheus, differenced): 20 drafts of 2 tokens, 30 accepted: acceptance
    30 / 40 = 0.75, tokens per step 1 + 30 / 20 = 2.5; the row's columns carry them."""
    s = speculative.from_server({"server_spec_drafts": 20.0, "server_spec_draft_tokens": 40.0,
                                 "server_spec_accepted": 30.0}, "eagle", 2)
    assert (s.acceptance_rate, s.tokens_per_step, s.source) == (0.75, 2.5, "measured")
    assert speculative.columns(s.to_dict()) == {"spec_method": "eagle", "spec_draft_tokens": 2,
                                                "spec_acceptance_rate": 0.75, "spec_tokens_per_step": 2.5,
                                                "spec_source": "measured"}
    assert set(speculative.columns(None).values()) == {None}
