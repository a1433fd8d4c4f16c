"""Speculative decoding on the roofline: the scheduler emits a step's tokens, a draft makes each decoding sequence
verify k + 1 tokens, an MTP draft caches its layers (bench.roofline.speculation, batchsim, kvcache)."""

import pytest

from bench.config import run as runconfig
from bench.config.catalog import resolve_model
from bench.execution.record import analytic_kv
from bench.model import modelmath as mm
from bench.roofline import batchsim, predict
from bench.roofline.speculation import Draft

NGRAM = '{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4}'


def test_the_scheduler_emits_the_tokens_a_step_yields():
    """One request, 8 in / 10 out, 2.5 tokens a decode step: the prefill step emits the first token, then each step
    the whole tokens accumulated (2.5 -> 2, carry 0.5; 3.0 -> 3; 2.5 -> 2, carry 0.5; then the 2 left): 5 steps."""
    out = batchsim.simulate([(8, 10)], lambda n, c, chunks: 1.0, 10_000, 4, 64, tokens_per_step=2.5)
    assert out.steps == 5 and out.requests[0].generated == 10 and out.output_tokens == 10
    one = batchsim.simulate([(8, 10)], lambda n, c, chunks: 1.0, 10_000, 4, 64)
    assert one.steps == 10  # a token a step: prefill + 9 decodes


def test_a_draft_makes_each_decoding_sequence_verify_k_plus_one_tokens():
    """qwen3-8b on H100, 4 sequences at 1,000 tokens of context. An ngram draft of 3 (no draft compute): the step's
    GEMMs and logits run 4 x 4 tokens, attention 4 queries a sequence, 4 tokens written a sequence; the weights are
    read once as without a draft."""
    cfg = resolve_model("qwen3-8b").config
    gpu = predict.require_gpu("H100-SXM")
    plain = predict.deployment({}, cfg, gpu)
    drafted = predict.deployment({"speculative_config": NGRAM, "spec_acceptance": 0.5}, cfg, gpu)
    assert drafted.draft == Draft("ngram", 3, 0.5) and drafted.tokens_per_step == 2.5
    a, b = plain.step(4, 4000), drafted.step(4, 4000)
    assert b.tokens == 16 and a.tokens == 4
    assert b.flops == pytest.approx(4 * a.flops)  # dense: every FLOP of a decode is per verified token
    per_token = plain.kv_bytes_per_token
    assert b.bytes - a.bytes == pytest.approx(4 * 3 * per_token)  # 3 more tokens written a sequence
    mtp = predict.deployment({"speculative_config": '{"method": "mtp"}', "spec_acceptance": 0.5},
                             resolve_model("deepseek-v3.1").config, predict.require_gpu("H200-SXM"))
    assert mtp.draft.draft_tokens == 1  # num_speculative_tokens defaults to the model's MTP layers


def test_an_mtp_draft_caches_its_layers_too():
    """vLLM builds the MTP layer as the draft and gives it a KV cache like the model's layers: tiny-deepseek-v3's
    3 layers + 1, x (512 + 64) x 2 bytes; DeepSeek-V3.1 on 8 GPUs, 62 layers x 576 x 2 on each. ngram caches none."""
    tiny = resolve_model("tiny-deepseek-v3").config
    assert runconfig.mtp_draft_layers(tiny, "mtp") == 1 and runconfig.mtp_draft_layers(tiny, "ngram") == 0
    assert mm.kv_bytes_per_token(tiny, draft_layers=1) == 4 * 576 * 2 == 4608
    cfg, model = runconfig.resolve(runconfig.parse({"model": "tiny-deepseek-v3",
                                                    "speculative_config": '{"method": "mtp"}'}))
    assert analytic_kv(cfg, model) == 4608
    v31 = resolve_model("deepseek-v3.1").config
    dep = predict.deployment({"tensor_parallel_size": 8, "speculative_config": '{"method": "mtp"}',
                              "spec_acceptance": 0.8}, v31, predict.require_gpu("H200-SXM"))
    assert dep.kv_bytes_per_token == 8 * 62 * 576 * 2
