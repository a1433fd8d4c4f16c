"""The one workload source of bench run, bench sweep and bench serve: `--dataset NAME[:FILE]` -> requests.

random           seeded random token ids at --input-len/--output-len (--length-dist): the default
shared-prefix    --num-prefixes system prompts of --prefix-len tokens shared by groups of requests
multi-turn       sessions of --turns turns, each turn carrying the session's history
sharegpt:FILE    ShareGPT conversations: first user message -> prompt, the answer's length -> output
jsonl:FILE       one {"prompt" | "messages", "output_len"?} a line
trace:FILE       a Mooncake trace (JSONL) or a CSV of timestamp, input_len, output_len: lengths, shared
                 prefix blocks, and arrival times (bench serve replays them, --time-scale)

Text is tokenized with a local tokenizer (--tokenizer DIR, default the model's directory when it has a
tokenizer.json; never downloaded) and sent as token ids (run; serve's completions) or as text (serve with
--prompt-format text). Output lengths come from the data (--dataset-output data) or are --output-len for
every request (fixed); either way they are exact (ignore_eos). The same seed gives the same requests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from pathlib import Path

from bench.core.errors import BenchError
from bench.measure.metrics import percentile
from bench.workload import files, generators
from bench.workload.synthetic import Request, random_ids, sample_requests, special_token_ids

GENERATORS = ("random", "shared-prefix", "multi-turn")
FILE_KINDS = ("sharegpt", "jsonl", "trace")
TEXT_KINDS = ("sharegpt", "jsonl")
WARMUP_SEED_OFFSET = 1_000_003  # warm-up prompts differ from the measured ones (no cache hits)


@dataclass(frozen=True)
class DatasetSpec:
    kind: str
    path: Path | None = None

    @property
    def text(self) -> bool:
        return self.kind in TEXT_KINDS


def parse_dataset(value: str) -> DatasetSpec:
    """'random' | 'shared-prefix' | 'multi-turn' | 'sharegpt:FILE' | 'jsonl:FILE' | 'trace:FILE'; BenchError otherwise."""
    kind, sep, rest = value.partition(":")
    kind = kind.strip().lower()
    if kind in GENERATORS and not sep:
        return DatasetSpec(kind)
    if kind in FILE_KINDS:
        if not rest:
            raise BenchError(f"--dataset {value}: give the file, e.g. --dataset {kind}:data/{kind}.json")
        path = Path(rest).expanduser()
        if not path.is_file():
            raise BenchError(f"--dataset {value}: no file {rest}")
        return DatasetSpec(kind, path)
    if kind in GENERATORS:
        raise BenchError(f"--dataset {value}: {kind} is a generator and takes no file")
    from bench.core.errors import close_names

    names = [*GENERATORS, *(f"{k}:FILE" for k in FILE_KINDS)]
    hint = close_names(kind, list(GENERATORS + FILE_KINDS))
    dym = f" (did you mean {hint[0]}?)" if hint else ""
    raise BenchError(f"--dataset {value}: unknown workload{dym}; choose one of {', '.join(names)}")


@dataclass
class Workload:
    name: str  # the dataset kind
    requests: list[Request]
    file: str = ""  # the file's name (no directory)
    sha256: str = ""  # of the file (16 hex digits)
    skipped: int = 0  # entries of the file left out: too long for max_model_len, or empty
    notes: list[str] = field(default_factory=list)

    @property
    def replayable(self) -> bool:
        return any(r.arrival_s is not None for r in self.requests)

    def columns(self) -> dict:
        """The workload's results columns: its name, file, hash and length statistics (percentiles interpolate)."""
        ins = [r.prompt_len for r in self.requests]
        outs = [r.output_len for r in self.requests]
        means = dict(zip(("input_len", "output_len"), self.mean_lengths())) if self.name not in GENERATORS else {}
        return {
            **means, "num_prompts": len(self.requests),
            "dataset": self.name, "dataset_file": self.file or None, "dataset_sha256": self.sha256 or None,
            "dataset_skipped": self.skipped if self.file else None,
            "input_len_p50": percentile(ins, 50), "input_len_p99": percentile(ins, 99), "input_len_max": max(ins),
            "output_len_p50": percentile(outs, 50), "output_len_p99": percentile(outs, 99),
            "output_len_max": max(outs),
        }

    def max_lengths(self) -> tuple[int, int]:
        """The longest prompt and output, in tokens (engines that size a cache by them)."""
        return max(r.prompt_len for r in self.requests), max(r.output_len for r in self.requests)

    def to_dict(self) -> dict:
        """The workload as JSON data (how a case's requests reach its worker process); from_dict reads it back,
        request for request. A request's unset fields are left out."""
        return {"name": self.name, "file": self.file, "sha256": self.sha256, "skipped": self.skipped,
                "notes": list(self.notes),
                "requests": [{f.name: getattr(r, f.name) for f in fields(Request) if getattr(r, f.name) is not None}
                             for r in self.requests]}

    @classmethod
    def from_dict(cls, data: dict) -> Workload:
        return cls(**{**data, "requests": [Request(**r) for r in data["requests"]]})

    def mean_lengths(self) -> tuple[int, int]:
        """Mean input and output tokens, rounded: what a row's input_len/output_len say for a dataset."""
        n = len(self.requests)
        return (round(sum(r.prompt_len for r in self.requests) / n), round(sum(r.output_len for r in self.requests) / n))


def build(run: dict, model_config: dict) -> Workload:
    """The requests of a resolved case (`run`: RunConfig.model_dump() after resolve). BenchError on bad data."""
    spec = parse_dataset(run.get("dataset") or "random")
    vocab = int(model_config["vocab_size"])
    avoid = special_token_ids(model_config)
    n, seed = run["num_prompts"], run["seed"]
    if spec.kind == "random":
        reqs = sample_requests(n, run["input_len"], run["output_len"], vocab, seed=seed, dist=run["length_dist"],
                               range_ratio=run["range_ratio"], avoid_token_ids=avoid)
        return Workload("random", reqs)
    if spec.kind == "shared-prefix":
        reqs = generators.shared_prefix(n, run["input_len"], run["output_len"], run["prefix_len"],
                                        run["num_prefixes"], vocab, seed, run["length_dist"], run["range_ratio"], avoid)
        return Workload("shared-prefix", reqs)
    if spec.kind == "multi-turn":
        return Workload("multi-turn", generators.multi_turn(n, run["input_len"], run["output_len"], run["turns"], vocab,
                                                            seed, avoid))
    work = Workload(spec.kind, [], file=spec.path.name, sha256=files.file_sha256(spec.path))
    if spec.kind == "trace":
        _from_trace(work, files.read_trace(spec.path), run, vocab, avoid)
    else:
        entries = files.read_sharegpt(spec.path) if spec.kind == "sharegpt" else files.read_jsonl(spec.path)
        _from_text(work, entries, run, vocab, spec)
    return work


def _fits(n_in: int, n_out: int, run: dict) -> bool:
    return n_in >= 1 and n_out >= 1 and n_in + n_out <= run["max_model_len"]


def _from_text(work: Workload, entries: list[files.TextEntry], run: dict, vocab: int, spec: DatasetSpec) -> None:
    """Entries in a seeded random order, tokenized, those that fit kept until num_prompts; a file with fewer
    is used again from its start (repeats can hit the prefix cache: said in the notes)."""
    from bench.workload.tokenizer import load

    if not entries:
        raise BenchError(f"--dataset {spec.kind}:{spec.path}: no prompts in the file")
    tok = load(run["tokenizer"])
    order = list(range(len(entries)))
    random.Random(run["seed"]).shuffle(order)
    kept: list[Request] = []
    fixed = run.get("dataset_output") == "fixed"
    for i in order:
        e = entries[i]
        ids = tok.encode(e.prompt)
        if fixed or (e.output_len is None and e.answer is None):
            n_out = run["output_len"]
        else:
            n_out = e.output_len if e.output_len is not None else len(tok.encode(e.answer or ""))
        if not _fits(len(ids), n_out, run):
            work.skipped += 1
            continue
        if ids and max(ids) >= vocab:
            raise BenchError(f"--tokenizer {run['tokenizer']}: token id {max(ids)} is outside the model's vocabulary "
                             f"({vocab}); use the model's own tokenizer")
        kept.append(Request(ids, n_out, text=e.prompt))
        if len(kept) == run["num_prompts"]:
            break
    if not kept:
        raise BenchError(f"--dataset {spec.kind}:{spec.path}: none of its {len(entries)} prompts fits max_model_len "
                         f"{run['max_model_len']} (prompt + output tokens); raise --max-model-len")
    if len(kept) < run["num_prompts"]:
        work.notes.append(f"{spec.path.name} has {len(kept)} usable prompts for {run['num_prompts']} requests: "
                          "they repeat (repeats can hit the prefix cache)")
        kept = [kept[i % len(kept)] for i in range(run["num_prompts"])]
    work.requests = kept


def _from_trace(work: Workload, entries: list[files.TraceEntry], run: dict, vocab: int, avoid: frozenset[int]) -> None:
    """The first num_prompts requests of the trace that fit, at their recorded times; prompt tokens are seeded per
    hash id (a block of 512), so requests that share a hash id share those tokens, and per request after them."""
    kept: list[Request] = []
    for i, e in enumerate(entries):
        if not _fits(e.input_len, e.output_len, run):
            work.skipped += 1
            continue
        ids: list[int] = []
        for h in e.hash_ids:
            if len(ids) >= e.input_len:
                break
            ids += random_ids(random.Random(f"{run['seed']}:block:{h}"), files.MOONCAKE_BLOCK_TOKENS, vocab, avoid)
        ids = ids[:e.input_len]
        ids += random_ids(random.Random(f"{run['seed']}:request:{i}"), e.input_len - len(ids), vocab, avoid)
        kept.append(Request(ids, e.output_len, arrival_s=e.arrival_s))
        if len(kept) == run["num_prompts"]:
            break
    if not kept:
        raise BenchError(f"--dataset trace:{work.file}: none of its {len(entries)} requests fits max_model_len "
                         f"{run['max_model_len']} (input + output tokens); raise --max-model-len")
    if len(kept) < run["num_prompts"]:
        work.notes.append(f"{work.file} has {len(kept)} usable requests; the run has those, not {run['num_prompts']}")
    t0 = kept[0].arrival_s or 0.0
    work.requests = [Request(r.prompt_token_ids, r.output_len, arrival_s=r.arrival_s - t0) for r in kept]


def warmup(seed: int, model_config: dict, work: Workload, n: int, max_output: int) -> list[Request]:
    """n random-token prompts at the workload's median prompt length, short outputs, another seed than the case's
    `seed`: they warm the engine without sharing a prefix with the measured requests."""
    median_in = int(percentile([r.prompt_len for r in work.requests], 50))
    return sample_requests(n, max(1, median_in), max_output, int(model_config["vocab_size"]),
                           seed=seed + WARMUP_SEED_OFFSET, avoid_token_ids=special_token_ids(model_config))
