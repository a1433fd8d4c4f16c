"""Speculative decoding through the command line: what the case cannot have is one line, and the sim prices an
assumed acceptance (no engine)."""

import json

import pytest

from bench.cli import main

NGRAM = '{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4}'


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


def test_the_sim_prices_an_assumed_acceptance(tmp_path, capsys):
    """qwen3-8b on H100, batch 1 (memory-bound: a step costs about the same for 1 or 4 verified tokens). An ngram
    draft of 3 accepted every time yields 4 tokens a step: between 2 and 4 times the rate without a draft; accepted
    never, it costs more than no draft. The rows' spec_* columns and engine info say the acceptance is assumed."""
    rows = tmp_path / "rows.csv"
    base = ["run", "--model", "qwen3-8b", "--engine", "sim", "--hardware", "H100-SXM", "--max-num-seqs", "1",
            "--num-prompts", "2", "--input-len", "256", "--output-len", "128", "--out", str(rows)]
    assert main(base) == 0
    for rate in ("1", "0"):
        assert main(base + ["--speculative-config", NGRAM, "--spec-acceptance", rate]) == 0
    capsys.readouterr()
    import pandas as pd

    df = pd.read_csv(rows)
    tok_s = list(df.output_tok_s)
    assert 2 < tok_s[1] / tok_s[0] <= 4 and tok_s[2] < tok_s[0]
    cols = ["spec_method", "spec_draft_tokens", "spec_acceptance_rate", "spec_tokens_per_step", "spec_source"]
    assert df[cols].iloc[0].isna().all()  # no draft: the columns stay empty
    assert df[cols].iloc[1:].values.tolist() == [["ngram", 3, 1.0, 4.0, "assumed"], ["ngram", 3, 0.0, 1.0, "assumed"]]
    records = [json.loads(p.read_text()) for p in (tmp_path / "rows").glob("*.json")]
    spec = sorted((r["engine"]["spec_decode"] for r in records if "spec_decode" in r["engine"]),
                  key=lambda s: s["acceptance_rate"])
    assert [(s["source"], s["tokens_per_step"]) for s in spec] == [("assumed", 1.0), ("assumed", 4.0)]
