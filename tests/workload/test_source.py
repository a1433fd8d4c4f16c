"""--dataset: the generators, the file readers and the one builder, on the project's own small files
(tests/data/workloads, written by scripts/make_test_workloads.py) and its word-level tokenizer. No downloads."""

import csv
import json
from pathlib import Path

import pytest

from bench import cli
from bench.core.errors import BenchError
from bench.workload import files, generators, source
from bench.workload.tokenizer import load

DATA = Path(__file__).resolve().parents[1] / "data" / "workloads"
TOK = str(DATA / "tokenizer")
VOCAB = {"vocab_size": 1000, "eos_token_id": 1}


def run(**kw) -> dict:
    base = {"dataset": "random", "num_prompts": 4, "input_len": 16, "output_len": 8, "length_dist": "fixed",
            "range_ratio": 0.0, "seed": 0, "prefix_len": None, "num_prefixes": 4, "turns": 4, "tokenizer": TOK,
            "dataset_output": "data", "max_model_len": 2048}
    return {**base, **kw}


@pytest.mark.parametrize("value,needle", [
    ("sharegtp:x.json", "did you mean sharegpt?"),
    ("sharegpt", "give the file"),
    ("jsonl:/no/such/file.jsonl", "no file /no/such/file.jsonl"),
    ("random:x", "is a generator and takes no file"),
])
def test_bad_dataset_names(value, needle):
    with pytest.raises(BenchError, match=needle.replace("?", r"\?")):
        source.parse_dataset(value)


def test_word_level_tokenizer_reads_the_bundled_file():
    tok = load(TOK)
    ids = tok.encode("The cache, the CACHE?")
    # lowercased, split into words and punctuation: the, cache, ",", the, cache, "?"
    assert len(ids) == 6 and ids[0] == ids[3] and ids[1] == ids[4] and 0 not in ids
    assert tok.encode("zebra") == [0]  # not in the corpus: [UNK]
    assert tok.decode(tok.encode("the cache")) == "the cache"


def test_shared_prefix_groups_share_their_system_prompt():
    reqs = generators.shared_prefix(8, input_len=20, output_len=5, prefix_len=12, num_prefixes=2, vocab_size=1000,
                                    seed=3)
    assert [r.prompt_len for r in reqs] == [20] * 8 and [r.output_len for r in reqs] == [5] * 8
    heads = [tuple(r.prompt_token_ids[:12]) for r in reqs]
    assert heads[0] == heads[2] == heads[4] == heads[6] != heads[1] == heads[3] == heads[5] == heads[7]
    assert len({tuple(r.prompt_token_ids[12:]) for r in reqs}) == 8  # the rest is each request's own
    assert reqs == generators.shared_prefix(8, 20, 5, 12, 2, 1000, seed=3)
    with pytest.raises(ValueError, match="shorter than the prompt"):
        generators.shared_prefix(2, 10, 5, 10, 1, 1000)


def test_multi_turn_carries_the_history():
    reqs = generators.multi_turn(5, input_len=10, output_len=4, turns=3, vocab_size=1000, seed=1)
    # 2 sessions, turn by turn: s0t1, s1t1, s0t2, s1t2, s0t3 (cut at 5)
    # turn t prompt: t x 10 + (t - 1) x 4 tokens -> 10, 10, 24, 24, 38
    assert [r.prompt_len for r in reqs] == [10, 10, 24, 24, 38]
    s0t1, s1t1, s0t2, s1t2, s0t3 = (r.prompt_token_ids for r in reqs)
    assert s0t2[:10] == s0t1 and s1t2[:10] == s1t1 and s0t3[:24] == s0t2 and s0t2[:10] != s1t2[:10]
    assert generators.multi_turn_max_prompt(10, 4, 3) == 38
    assert [r.after for r in reqs] == [None, None, 0, 1, 2]  # each later turn continues the session's previous one


def test_sharegpt_lengths_come_from_the_tokenized_answers():
    tok = load(TOK)
    convs = json.loads((DATA / "sharegpt.json").read_text())
    work = source.build(run(dataset=f"sharegpt:{DATA / 'sharegpt.json'}", num_prompts=5), VOCAB)
    assert work.name == "sharegpt" and work.file == "sharegpt.json" and len(work.sha256) == 16
    answers = {c["conversations"][0]["value"]: c["conversations"][1]["value"] for c in convs[:-1]}
    for r in work.requests:
        assert r.prompt_token_ids == tok.encode(r.text)
        assert r.output_len == len(tok.encode(answers[r.text]))
    assert work.requests == source.build(run(dataset=f"sharegpt:{DATA / 'sharegpt.json'}", num_prompts=5), VOCAB).requests
    other = source.build(run(dataset=f"sharegpt:{DATA / 'sharegpt.json'}", num_prompts=5, seed=1), VOCAB)
    assert [r.text for r in other.requests] != [r.text for r in work.requests]
    fixed = source.build(run(dataset=f"sharegpt:{DATA / 'sharegpt.json'}", num_prompts=5, dataset_output="fixed"),
                         VOCAB)
    assert {r.output_len for r in fixed.requests} == {8}


def test_sharegpt_too_long_for_the_context_is_skipped_and_a_small_file_repeats():
    # 12 usable conversations (the 13th has no answer); a 64-token context leaves out the long ones
    work = source.build(run(dataset=f"sharegpt:{DATA / 'sharegpt.json'}", num_prompts=30, max_model_len=64), VOCAB)
    assert all(r.prompt_len + r.output_len <= 64 for r in work.requests) and len(work.requests) == 30
    kept = len({r.text for r in work.requests})
    assert work.skipped == 12 - kept and kept < 12 and "repeat" in work.notes[0]
    with pytest.raises(BenchError, match="none of its 12 prompts fits max_model_len 8"):
        source.build(run(dataset=f"sharegpt:{DATA / 'sharegpt.json'}", max_model_len=8), VOCAB)


def test_jsonl_prompts_messages_and_output_lengths():
    tok = load(TOK)
    work = source.build(run(dataset=f"jsonl:{DATA / 'prompts.jsonl'}", num_prompts=5, output_len=7), VOCAB)
    by_text = {r.text: r for r in work.requests}
    lines = [json.loads(x) for x in (DATA / "prompts.jsonl").read_text().splitlines()]
    assert by_text[lines[0]["prompt"]].output_len == 24
    assert by_text[lines[1]["prompt"]].output_len == 7  # no output_len: --output-len
    chat = files.render_messages(lines[2]["messages"])
    assert chat.startswith("system: A benchmark") and "\nuser: Write a short poem" in chat
    assert by_text[chat].output_len == 16 and by_text[chat].prompt_token_ids == tok.encode(chat)


def test_bad_jsonl_names_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"prompt": \n')
    with pytest.raises(BenchError, match=r"line 2: not JSON"):
        files.read_jsonl(bad)
    bad.write_text('{"prompt": "ok", "output_len": 0}\n')
    with pytest.raises(BenchError, match=r"line 1: output_len must be a positive integer"):
        files.read_jsonl(bad)


def test_mooncake_trace_shares_blocks_and_keeps_arrival_times():
    work = source.build(run(dataset=f"trace:{DATA / 'mooncake.jsonl'}", num_prompts=10, max_model_len=4096), VOCAB)
    reqs = work.requests
    # the 90000-token request does not fit 4096 tokens; the other five keep their lengths and times (ms -> s)
    assert work.skipped == 1 and len(reqs) == 5 and work.notes
    assert [r.prompt_len for r in reqs] == [600, 700, 530, 512, 1100]
    assert [r.output_len for r in reqs] == [20, 30, 10, 40, 25]
    assert [r.arrival_s for r in reqs] == [0.0, 0.25, 0.3, 1.0, 1.75]
    ids = [r.prompt_token_ids for r in reqs]
    # hash id 7 opens requests 0, 2, 4 and 9 opens 1, 3: the same 512 tokens each
    assert ids[0][:512] == ids[2][:512] == ids[4][:512] and ids[1][:512] == ids[3][:512] != ids[0][:512]
    assert ids[0][512:] != ids[2][512:530]  # the next blocks differ (hash 1 vs 3)
    assert work.replayable and work.columns()["dataset_skipped"] == 1


def test_csv_trace_with_a_header():
    work = source.build(run(dataset=f"trace:{DATA / 'trace.csv'}", num_prompts=10), VOCAB)
    # the row with 0 output tokens is skipped; times from the first (10.0 s)
    assert [(r.arrival_s, r.prompt_len, r.output_len) for r in work.requests] == [
        (0.0, 40, 8), (0.5, 64, 16), (0.5, 32, 4), (3.25, 48, 12)]


def test_csv_trace_without_a_length_column(tmp_path):
    bad = tmp_path / "t.csv"
    bad.write_text("timestamp,tokens\n1,2\n")
    with pytest.raises(BenchError, match="no input length column"):
        files.read_trace(bad)


def test_length_statistics_by_hand():
    work = source.build(run(dataset=f"trace:{DATA / 'trace.csv'}", num_prompts=10), VOCAB)
    c = work.columns()
    # inputs [40, 64, 32, 48] sorted [32, 40, 48, 64]: p50 at rank 1.5 = 44; p99 at 2.97 = 48 + 0.97 x 16 = 63.52
    assert c["input_len_p50"] == pytest.approx(44.0) and c["input_len_p99"] == pytest.approx(63.52)
    assert c["input_len_max"] == 64
    # outputs sorted [4, 8, 12, 16]: p50 10, p99 12 + 0.97 x 4 = 15.88
    assert c["output_len_p50"] == pytest.approx(10.0) and c["output_len_p99"] == pytest.approx(15.88)
    # the row's input_len/output_len: the means, (40 + 64 + 32 + 48) / 4 = 46 and (8 + 16 + 4 + 12) / 4 = 10
    assert (c["input_len"], c["output_len"]) == (46, 10)
    assert c["dataset"] == "trace" and c["dataset_file"] == "trace.csv" and c["dataset_skipped"] == 1


def test_bench_run_sim_with_a_sharegpt_dataset(tmp_path):
    out = tmp_path / "runs.csv"
    rc = cli.main(["run", "--model", "qwen2.5-7b-instruct", "--engine", "sim", "--hardware", "h20",
                   "--dataset", f"sharegpt:{DATA / 'sharegpt.json'}", "--tokenizer", TOK, "--num-prompts", "6",
                   "--out", str(out)])
    assert rc == 0
    row = next(csv.DictReader(out.open()))
    assert row["status"] == "ok" and row["dataset"] == "sharegpt" and row["dataset_file"] == "sharegpt.json"
    work = source.build(run(dataset=f"sharegpt:{DATA / 'sharegpt.json'}", num_prompts=6, max_model_len=32768),
                        {"vocab_size": 152064})
    assert row["dataset_sha256"] == work.sha256
    assert int(row["input_tokens"]) == sum(r.prompt_len for r in work.requests)
    assert int(row["output_tokens"]) == sum(r.output_len for r in work.requests)
    assert int(row["input_len"]) == work.mean_lengths()[0]


@pytest.mark.parametrize("args,needle", [
    (["--dataset", "sharegpt:nope.json"], "no file nope.json"),
    (["--dataset", f"sharegpt:{DATA / 'sharegpt.json'}"], "has no local tokenizer.json; give --tokenizer DIR"),
    (["--dataset", f"jsonl:{DATA / 'prompts.jsonl'}", "--tokenizer", str(DATA)], "no tokenizer.json there"),
    (["--dataset", "shared-prefix", "--prefix-len", "200"], "--prefix-len 200 must be shorter than --input-len 128"),
    (["--prefix-len", "20"], "prefix_len is an option of --dataset shared-prefix"),
    (["--dataset", "multi-turn", "--turns", "20", "--input-len", "64"], "exceeds max_model_len"),
])
def test_bad_workload_input_is_one_line(capsys, tmp_path, args, needle):
    out = tmp_path / "runs.csv"
    code = cli.main(["run", "--model", "tiny-qwen2", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1 and not out.exists()


def test_bench_run_sim_with_multi_turn_sessions(tmp_path):
    out = tmp_path / "runs.csv"
    rc = cli.main(["run", "--model", "qwen2.5-7b-instruct", "--engine", "sim", "--hardware", "h20", "--dataset",
                   "multi-turn", "--turns", "3", "--input-len", "100", "--output-len", "20", "--num-prompts", "6",
                   "--out", str(out)])
    assert rc == 0
    row = next(csv.DictReader(out.open()))
    # 2 sessions x 3 turns: prompts 100, 220, 340 tokens (t x 100 + (t - 1) x 20), twice -> 1,320 input tokens
    assert row["dataset"] == "multi-turn" and int(row["input_tokens"]) == 2 * (100 + 220 + 340)
    assert float(row["input_len_max"]) == 340 and float(row["input_len_p50"]) == 220
    assert int(row["output_tokens"]) == 6 * 20


@pytest.mark.parametrize("args,needle", [
    (["--tokenizer", TOK], "tokenizer is an option of --dataset sharegpt:FILE or jsonl:FILE"),
    (["--dataset", "shared-prefix", "--turns", "2"], "turns is an option of --dataset multi-turn"),
])
def test_options_of_another_dataset_are_refused(capsys, tmp_path, args, needle):
    code = cli.main(["run", "--model", "tiny-qwen2", *args, "--out", str(tmp_path / "runs.csv")])
    assert code == 2 and needle in capsys.readouterr().err


def test_time_scale_needs_a_trace(capsys, tmp_path):
    code = cli.main(["serve", "--model", "tiny-qwen2", "--endpoint", "http://127.0.0.1:9", "--time-scale", "0.5",
                     "--out", str(tmp_path / "s.csv")])
    assert code == 2 and "time_scale is an option of --dataset trace:FILE" in capsys.readouterr().err


def test_a_workload_round_trips_request_for_request():
    """How a case's requests reach its worker: Workload.to_dict, read back by from_dict."""
    from bench.workload.synthetic import Request

    work = source.Workload("trace", [Request([5, 6, 7], 3, arrival_s=0.5), Request([8], 1, text="hi", after=0)],
                           file="t.jsonl", sha256="ab" * 8, skipped=2, notes=["n"])
    assert source.Workload.from_dict(work.to_dict()) == work
    assert work.max_lengths() == (3, 3)  # the longest prompt (3 ids), the longest output (3)
