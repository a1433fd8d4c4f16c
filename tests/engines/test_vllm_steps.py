"""bench.engines.vllm_steps: vLLM's per-step log records -> the prefill/decode split (no vllm needed)."""

import logging

import pytest

from bench.engines import vllm_steps

FMT = ("%sIteration(%d): %d context requests, %d context tokens, %d generation requests, %d generation tokens, "
       "iteration elapsed time: %.2f ms%s, %s KV cache usage: %.1f%%%s")


def record(created: float, ctx_tokens: int, gen_tokens: int, dummy: str = "") -> logging.LogRecord:
    r = logging.LogRecord(vllm_steps.LOGGER, logging.INFO, "loggers.py", 1, FMT,
                          ("Engine 000: ", 0, 1, ctx_tokens, 1, gen_tokens, 0.1, dummy, "GPU", 1.0, ""), None)
    r.created = created
    return r


def test_steps_split_by_token_count_and_scaled_to_the_run():
    rec = vllm_steps.StepRecorder()
    rec.start()
    rec.t0 = 100.0
    # step 1 ends at +0.30 s: 2,048 prompt tokens; step 2 at +0.50: 1,024 prompt + 16 decode; step 3 at +0.60: 16 decode
    for t, p, d in [(100.3, 2048, 0), (100.5, 1024, 16), (100.6, 0, 16)]:
        assert rec.filter(record(t, p, d)) is False  # the per-step line is kept out of the log
    assert rec.filter(record(100.7, 0, 0, dummy=" (dummy)")) is False  # a dummy step is not a step
    steps = rec.step_seconds()
    assert [s for s, _, _ in steps] == pytest.approx([0.3, 0.2, 0.1])
    assert [(p, d) for _, p, d in steps] == [(2048, 0), (1024, 16), (0, 16)]
    # prefill 0.3 + 0.2 x 1024/1040 = 0.496923; decode 0.2 x 16/1040 + 0.1 = 0.103077; sum 0.6 s.
    # The timed generate took 0.66 s: both x 1.1 -> 0.546615 and 0.113385
    out = rec.split(0.66)
    assert out["prefill_s"] == pytest.approx(0.546615, abs=1e-6)
    assert out["decode_s"] == pytest.approx(0.113385, abs=1e-6)
    assert out["split_method"] == "steps-tokens" and out["steps"] == 3


def test_other_lines_pass_and_no_steps_means_no_split():
    rec = vllm_steps.StepRecorder()
    other = logging.LogRecord(vllm_steps.LOGGER, logging.INFO, "x", 1, "Avg prompt throughput: %.1f", (1.0,), None)
    assert rec.filter(other) is True
    assert rec.split(1.0) == {}  # an older vLLM logs no step: the row falls back to the TPOT split


def test_attach_reaches_the_logger_and_detach_leaves_it():
    log = logging.getLogger(vllm_steps.LOGGER)
    rec = vllm_steps.StepRecorder().attach()
    try:
        rec.start()
        log.info(FMT, "Engine 000: ", 0, 1, 128, 0, 0, 0.1, "", "GPU", 1.0, "")
        assert [(p, d) for _, p, d in rec.steps] == [(128, 0)]
    finally:
        rec.detach()
    assert rec not in log.filters
