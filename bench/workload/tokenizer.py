"""A local tokenizer for text workloads: a directory's `tokenizer.json` (Hugging Face `tokenizers` format),
never downloaded.

A word-level `tokenizer.json` (model type WordLevel, a Whitespace or WhitespaceSplit pre-tokenizer, an
optional Lowercase normalizer) is read here in plain Python, so the text path runs without the
`tokenizers` package (the unit tests use one built by scripts/make_test_workloads.py). Any other model
(BPE, Unigram, WordPiece: every real LLM's) is loaded with the `tokenizers` package, which vLLM and
transformers install.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Protocol

from bench.core.errors import BenchError

TOKENIZER_FILE = "tokenizer.json"
# Hugging Face tokenizers' pre-tokenizers, as regular expressions over the text
PRE_TOKENIZERS = {"Whitespace": re.compile(r"\w+|[^\w\s]+"), "WhitespaceSplit": re.compile(r"\S+")}


class Tokenizer(Protocol):
    name: str  # the directory it was read from (its name only)

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


def has_tokenizer(directory: Path | str | None) -> bool:
    return directory is not None and (Path(directory) / TOKENIZER_FILE).is_file()


def load(directory: Path | str) -> Tokenizer:
    """The tokenizer of `directory` (its tokenizer.json); BenchError when there is none or it cannot be read."""
    path = Path(directory).expanduser() / TOKENIZER_FILE
    if not path.is_file():
        raise BenchError(f"--tokenizer {directory}: no {TOKENIZER_FILE} there; give a directory holding the model's "
                         f"{TOKENIZER_FILE} (bench never downloads one)")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BenchError(f"--tokenizer {directory}: {TOKENIZER_FILE} is not readable JSON ({e})") from None
    word = WordLevel.from_spec(spec, path.parent.name)
    if word is not None:
        return word
    return _hf_tokenizer(path)


class WordLevel:
    """A WordLevel tokenizer.json in plain Python: normalise, split into words, look each up (else the unknown id)."""

    def __init__(self, vocab: dict[str, int], unk_id: int, pattern: re.Pattern, lowercase: bool, name: str) -> None:
        self.vocab, self.unk_id, self.pattern, self.lowercase, self.name = vocab, unk_id, pattern, lowercase, name
        self.words = {i: w for w, i in vocab.items()}

    @classmethod
    def from_spec(cls, spec: dict, name: str) -> "WordLevel | None":
        """None when the file is not a word-level tokenizer this class reads exactly as `tokenizers` does."""
        model = spec.get("model") or {}
        pre = (spec.get("pre_tokenizer") or {}).get("type")
        norm = spec.get("normalizer")
        if model.get("type") != "WordLevel" or pre not in PRE_TOKENIZERS:
            return None
        if norm is not None and norm.get("type") != "Lowercase":
            return None
        vocab = model.get("vocab") or {}
        unk = model.get("unk_token")
        if unk not in vocab:
            return None
        return cls(vocab, vocab[unk], PRE_TOKENIZERS[pre], norm is not None, name)

    def encode(self, text: str) -> list[int]:
        if self.lowercase:
            text = text.lower()
        return [self.vocab.get(w, self.unk_id) for w in self.pattern.findall(text)]

    def decode(self, ids: list[int]) -> str:
        return " ".join(self.words.get(i, "") for i in ids)


class _HF:
    def __init__(self, tok, name: str) -> None:
        self.tok, self.name = tok, name

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids)


def _hf_tokenizer(path: Path) -> Tokenizer:
    try:
        from tokenizers import Tokenizer as HFTokenizer
    except ImportError:
        raise BenchError(f"{path} needs the `tokenizers` package (installed with vLLM: use .venv/bin/bench, or "
                         "pip install tokenizers)") from None
    try:
        return _HF(HFTokenizer.from_file(str(path)), path.parent.name)
    except Exception as e:  # the package's own parse errors
        raise BenchError(f"{path}: not a tokenizer the `tokenizers` package reads ({e})") from None
