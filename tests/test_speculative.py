"""Speculative decoding without an engine: the option, its mapping to vLLM, vLLM's counters read as figures, the
sim's pricing of an assumed acceptance, and per-token timing of chunks that carry a step's several tokens."""

import json

import pytest

from bench.cli import main
from bench.config import run as runconfig
from bench.engines.vllm_args import cli_args, engine_options
from bench.engines.vllm_offline import cpu_build_problem
from bench.execution.record import analytic_kv
from bench.measure import speculative
from bench.model import modelmath as mm
from bench.measure.streaming import deliveries, itl_per_token_s
from bench.config.catalog import resolve_model
from bench.roofline import batchsim, predict
from bench.roofline.speculation import Draft

NGRAM = '{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4}'


def test_the_config_reaches_vllm_offline_and_the_server_as_one_object():
    cfg, _ = runconfig.resolve(runconfig.parse({"model": "tiny-qwen3", "speculative_config": NGRAM}))
    options = engine_options(cfg.model_dump(), "/m", "dummy", "cpu")
    assert options["speculative_config"] == {"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4}
    flags = cli_args(options)
    given = flags[flags.index("--speculative-config") + 1]
    assert json.loads(given) == options["speculative_config"]


@pytest.mark.parametrize("value, says", [
    ("[1, 2]", "a JSON object is needed, not list"),
    ("{method: ngram}", "not JSON"),
    ('{"num_speculative_tokens": 2}', 'it names no "method"'),
    ('{"method": "ngram", "num_speculative_tokens": 0}', '"num_speculative_tokens" is 0, not a positive whole number'),
])
def test_a_config_that_is_no_speculative_config_is_one_line(capsys, value, says):
    assert main(["run", "--model", "tiny-qwen3", "--speculative-config", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--speculative-config" in err and says in err


@pytest.mark.parametrize("argv, says", [
    (["--model", "tiny-qwen3", "--speculative-config", '{"method": "mtp"}'],
     "method mtp drafts with the model's own MTP layers and tiny-qwen3's config.json has none"),
    (["--model", "tiny-qwen3", "--spec-acceptance", "0.5"], "--spec-acceptance is the sim's assumption"),
    (["--model", "tiny-qwen3", "--engine", "sim", "--hardware", "H100-SXM", "--speculative-config", NGRAM],
     "give --spec-acceptance RATE"),
    (["--model", "tiny-qwen2", "--engine", "hf", "--speculative-config", NGRAM], "the hf engine has no speculative"),
    (["--model", "tiny-qwen2", "--engine", "hf", "--temperature", "0"], "the hf engine samples at temperature 1"),
])
def test_speculation_the_case_cannot_have_is_one_line(capsys, argv, says):
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err


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


def test_the_sim_prices_an_assumed_acceptance(tmp_path, capsys):
    """qwen3-8b on H100, batch 1 (memory-bound: a step costs about the same for 1 or 4 verified tokens). An ngram
    draft of 3 accepted every time yields 4 tokens a step: between 2 and 4 times the rate without a draft; accepted
    never, it costs more than no draft. The row's engine info says the acceptance is assumed."""
    rows = tmp_path / "rows.csv"
    base = ["run", "--model", "qwen3-8b", "--engine", "sim", "--hardware", "H100-SXM", "--max-num-seqs", "1",
            "--num-prompts", "2", "--input-len", "256", "--output-len", "128", "--out", str(rows)]
    assert main(base) == 0
    for rate in ("1", "0"):
        assert main(base + ["--speculative-config", NGRAM, "--spec-acceptance", rate]) == 0
    capsys.readouterr()
    import pandas as pd

    tok_s = list(pd.read_csv(rows).output_tok_s)
    assert 2 < tok_s[1] / tok_s[0] <= 4 and tok_s[2] < tok_s[0]
    records = [json.loads(p.read_text()) for p in (tmp_path / "rows").glob("*.json")]
    spec = sorted((r["engine"]["spec_decode"] for r in records if "spec_decode" in r["engine"]),
                  key=lambda s: s["acceptance_rate"])
    assert [(s["source"], s["tokens_per_step"]) for s in spec] == [("assumed", 1.0), ("assumed", 4.0)]


def test_a_chunk_of_a_speculative_step_is_timed_per_token():
    """A stream of 1 token at 0.10 s, then steps that verified 4, 4 and 3 tokens at 0.18, 0.26, 0.32 s: the 11 gaps
    after the first token are 0.02 each (0.08 / 4, 0.08 / 4, 0.06 / 3), their sum E2E - TTFT = 0.22 s, and TPOT over
    the 11 tokens after the first is 0.02."""
    delivered = deliveries([(0.10, 1), (0.18, 4), (0.26, 4), (0.32, 3)], 12)
    gaps = itl_per_token_s(delivered)
    assert gaps == pytest.approx([0.02] * 11) and sum(gaps) == pytest.approx(0.32 - 0.10)


@pytest.mark.parametrize("model, says", [
    ("tiny-deepseek-v32", "DeepseekV32ForCausalLM: vLLM's CPU build cannot run it: DeepSeek-V3.2's sparse attention"),
    ("gpt-oss-20b", "MXFP4 weights (the config's quantization_config): vLLM's CPU build cannot run it"),
])
def test_what_the_cpu_build_cannot_run_is_one_line(model, says):
    problem = cpu_build_problem(resolve_model(model).config)
    assert problem.startswith(says) and "\n" not in problem and "--engine sim" in problem
    assert cpu_build_problem(resolve_model("tiny-gpt-oss").config) is None  # its experts are bf16


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
