"""Writes the small workload files the tests use, from tests/data/workloads/corpus.txt (text written for
this project): a word-level tokenizer.json (Hugging Face `tokenizers` format: WordLevel model, Whitespace
pre-tokenizer, Lowercase normalizer), a ShareGPT-format JSON, a prompt JSONL, a Mooncake-format trace and
a CSV trace. Deterministic: running it again rewrites the same bytes.

    python scripts/make_test_workloads.py [OUT_DIR]   # default tests/data/workloads
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = re.compile(r"\w+|[^\w\s]+")  # tokenizers' Whitespace pre-tokenizer
UNK = "[UNK]"


def tokenizer_json(text: str) -> dict:
    vocab = {UNK: 0}
    for w in sorted(set(WORDS.findall(text.lower()))):
        vocab[w] = len(vocab)
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 0, "content": UNK, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None, "decoder": None,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": UNK},
    }


def main(out: Path) -> None:
    corpus = (out / "corpus.txt").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in corpus.splitlines() if ln.strip()]
    words = corpus.split()
    rng = random.Random(15)
    (out / "tokenizer").mkdir(parents=True, exist_ok=True)
    (out / "tokenizer" / "tokenizer.json").write_text(json.dumps(tokenizer_json(corpus), indent=1) + "\n")

    def passage(n_words: int) -> str:
        start = rng.randrange(len(words))
        return " ".join(words[(start + i) % len(words)] for i in range(n_words))

    # ShareGPT: long-tailed prompt and answer lengths (lognormal word counts), one conversation without an answer
    convs = []
    for i in range(12):
        q = passage(max(3, min(120, int(rng.lognormvariate(2.8, 0.8)))))
        a = passage(max(3, min(150, int(rng.lognormvariate(3.2, 0.7)))))
        convs.append({"id": f"c{i}", "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a},
                                                         {"from": "human", "value": "thanks"}]})
    convs.append({"id": "no-answer", "conversations": [{"from": "human", "value": "hello"}]})
    (out / "sharegpt.json").write_text(json.dumps(convs, indent=1) + "\n")

    prompts = [{"prompt": lines[12], "output_len": 24}, {"prompt": lines[13]},
               {"messages": [{"role": "system", "content": lines[0]}, {"role": "user", "content": lines[14]}],
                "output_len": 16},
               {"prompt": lines[15], "output_len": 8}, {"prompt": lines[16], "output_len": 12}]
    (out / "prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))

    # Mooncake: timestamps in ms, 512-token blocks; requests 0, 2, 4 share block 7, requests 1, 3 share block 9
    trace = [{"timestamp": 0, "input_length": 600, "output_length": 20, "hash_ids": [7, 1]},
             {"timestamp": 250, "input_length": 700, "output_length": 30, "hash_ids": [9, 2]},
             {"timestamp": 300, "input_length": 530, "output_length": 10, "hash_ids": [7, 3]},
             {"timestamp": 1000, "input_length": 512, "output_length": 40, "hash_ids": [9]},
             {"timestamp": 1750, "input_length": 1100, "output_length": 25, "hash_ids": [7, 4, 5]},
             {"timestamp": 2000, "input_length": 90000, "output_length": 100, "hash_ids": list(range(100, 276))}]
    (out / "mooncake.jsonl").write_text("".join(json.dumps(t) + "\n" for t in trace))
    rows = ["timestamp,input_len,output_len", "10.0,40,8", "10.5,64,16", "10.5,32,4", "12.0,100,0", "13.25,48,12"]
    (out / "trace.csv").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data" / "workloads")
