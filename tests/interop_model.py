"""A model directory other benchmark tools can load: tiny-qwen2's config.json (run with dummy weights) and a
word-level tokenizer covering its whole vocabulary (4,096 words, one per token id), so that any id the dummy
weights generate detokenizes, and a prompt of N random words is N tokens again.

vLLM's server, `vllm bench serve/throughput`, AIPerf, GuideLLM and inference-perf all load a tokenizer with
Hugging Face's AutoTokenizer from a directory; bench's own engine tests start servers without one
(token-id prompts). Used by tests/test_serve_engine.py and scripts/make_interop_files.sh:

    python tests/interop_model.py DIR     # writes DIR/model/config.json, DIR/tokenizer/tokenizer*.json
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "model_configs" / "tiny-qwen2" / "config.json"
SPECIAL = ("<unk>", "<s>", "</s>")  # ids 0, 1, 2: tiny-qwen2's bos_token_id 1 and eos_token_id 2


def tokenizer_spec(vocab_size: int) -> dict:
    """A WordLevel tokenizer.json (Hugging Face `tokenizers` format) of `vocab_size` entries: the special tokens,
    then the words t3, t4, ... split on whitespace."""
    vocab = {tok: i for i, tok in enumerate(SPECIAL)}
    vocab.update({f"t{i}": i for i in range(len(SPECIAL), vocab_size)})
    # <unk> is an ordinary word here: a tool that decodes with skip_special_tokens (GuideLLM's synthetic prompts,
    # made of English words this vocabulary lacks) keeps it, so a prompt of N unknown words stays N tokens
    added = [{"id": i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": tok != "<unk>"} for i, tok in enumerate(SPECIAL)]
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
            "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": None,
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": False},  # joins the words with spaces
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"}}


def write_model_dir(directory: Path) -> tuple[Path, Path]:
    """(DIR/model holding config.json, DIR/tokenizer holding the tokenizer). Apart, because AutoTokenizer reads a
    config.json beside the tokenizer and then builds Qwen2's byte-level tokenizer instead of this one."""
    model, tokenizer = directory / "model", directory / "tokenizer"
    model.mkdir(parents=True, exist_ok=True)
    tokenizer.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIG, model / "config.json")
    vocab_size = json.loads(CONFIG.read_text())["vocab_size"]
    (tokenizer / "tokenizer.json").write_text(json.dumps(tokenizer_spec(vocab_size)))
    (tokenizer / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
        "model_max_length": 4096, "clean_up_tokenization_spaces": False}))
    return model, tokenizer


if __name__ == "__main__":
    print(*write_model_dir(Path(sys.argv[1])))
