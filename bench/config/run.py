"""RunConfig: one benchmark case, as the user gave it and as resolved (CLI > models.yaml > defaults).

Field names are the `bench run` options with dashes as underscores, so a sweep file's
mappings validate against the same model.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from typing import Literal

from pydantic import ConfigDict, field_validator, model_validator

from bench.config import catalog
from bench.config.catalog import ResolvedModel
from bench.config.engines import check_engine_name, engines_help, is_predicted
from bench.config.files import validated
from bench.config.flags import option, spellings
from bench.config.pricing import RowPricing, changed
from bench.core.errors import BenchError
from bench.model import config_checks
from bench.workload.synthetic import length_bounds


KvCacheDtype = Literal["auto", "fp8", "fp8_e4m3", "fp8_e5m2"]
# Bounds on the workload, which is built in memory before it runs (a token id costs about 36 bytes in a Python
# list): 1e9 prompts ended in an empty MemoryError. Far above what a benchmark needs (vllm bench's examples use
# 1,000 prompts).
MAX_NUM_PROMPTS = 100_000
MAX_PROMPT_TOKENS = 20_000_000


MAX_REPEATS = 100


class RunConfig(RowPricing):
    """Each field is a `bench run` option (and a sweep file key): its help, default and choices live here only,
    or, for how the row is priced with --hardware, on RowPricing (bench.config.pricing)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = option(help="catalog name (see `bench models`) or a directory with a config.json")
    engine: str = option("vllm", engines_help())
    input_len: int = option(128, "prompt tokens per request (mean, if a distribution)", ge=1)
    output_len: int = option(64, "output tokens per request, exact (ignore_eos)", ge=1)
    num_prompts: int = option(16, "requests in the timed run", ge=1, le=MAX_NUM_PROMPTS)
    length_dist: Literal["fixed", "uniform", "normal"] = option("fixed", "how input/output lengths vary around the "
                                                                         "given means")
    range_ratio: float = option(0.0, "uniform: +-ratio x mean; normal: sigma = ratio x mean (clipped at 3 sigma)",
                                ge=0.0, le=1.0)
    seed: int = option(0, "workload and engine seed", ge=0, le=2**32 - 1)  # vLLM seeds numpy: 0 .. 2^32-1
    dataset: str = option("random", "the workload: random, shared-prefix, multi-turn, sharegpt:FILE, jsonl:FILE or "
                                    "trace:FILE (Mooncake JSONL or CSV); see docs/workloads.md", metavar="NAME[:FILE]")
    tokenizer: str | None = option(None, "text datasets: a directory with the model's tokenizer.json (default: the "
                                         "model's directory when it has one; never downloaded)", metavar="DIR")
    dataset_output: Literal["data", "fixed"] = option("data", "sharegpt/jsonl: output lengths from the data, or "
                                                              "--output-len for every request")
    prefix_len: int | None = option(None, "shared-prefix: tokens of each shared system prompt, part of --input-len "
                                          "(default half of it)", metavar="L", ge=1)
    num_prefixes: int = option(4, "shared-prefix: how many system prompts the requests share", metavar="N", ge=1)
    turns: int = option(4, "multi-turn: turns per session", metavar="T", ge=1)
    max_num_seqs: int | None = option(None, "batch size cap (vLLM max_num_seqs; hf: the static batch size); a comma "
                                            "list runs one case per value, e.g. 1,4,16",
                                      comma_list=True, local_only=True, ge=1)
    max_model_len: int | None = option(None, "context length; default from models.yaml", local_only=True, ge=1)
    dtype: Literal["auto", "bfloat16", "float16", "float32"] | None = option(
        None, "activation and weight dtype; default from models.yaml", local_only=True)
    kv_cache_dtype: KvCacheDtype = option("auto", "KV-cache format (auto: the model's dtype)", local_only=True)
    tensor_parallel_size: int | None = option(None, "GPUs per model (tensor parallel); default from models.yaml",
                                              flags=("--tensor-parallel-size", "-tp"), ge=1)
    pipeline_parallel_size: int = option(1, "pipeline stages", flags=("--pipeline-parallel-size", "-pp"), ge=1)
    distributed_executor_backend: Literal["mp", "ray"] | None = option(
        None, "mp: one node; ray: a Ray cluster (multi-node)", local_only=True)
    gpu_memory_utilization: float = option(0.9, "share of each GPU's memory vLLM may use", local_only=True,
                                           gt=0.0, le=1.0)
    cpu_kv_cache_gb: float | None = option(None, "CPU build only: KV-cache size in GiB (default 2)", local_only=True,
                                           gt=0.0, allow_inf_nan=False)
    device: Literal["auto", "cuda", "cpu"] = option("auto", "auto: whatever the installed vLLM build targets",
                                                    local_only=True)
    weights: str = option("auto", "auto (local real weights if present, else dummy), dummy, hub (download), or a "
                                  "directory", local_only=True)
    enforce_eager: bool | None = option(None, "default: eager on CPU, CUDA graphs on GPU", local_only=True)
    enable_prefix_caching: bool = option(False, "let vLLM reuse the KV cache of prompt prefixes it has seen (default "
                                                "off: random prompts measure compute, not cache hits); rows carry the "
                                                "hit rate and cached prompt tokens", local_only=True)
    warmup: bool = option(True, "skip the warm-up batch", flags=("--no-warmup",))
    timeout_s: float = option(3600.0, "seconds per case", flags=("--timeout",), gt=0.0, allow_inf_nan=False)
    repeats: int = option(1, "measure each case N times, interleaved across cases (A, B, A, B, ...) so drift hits "
                             "every case alike; one row per measurement, tied by repeat_index", metavar="N", ge=1,
                          le=MAX_REPEATS)
    until_ci: float | None = option(
        None, "repeat each case until the 95% t-interval of its output tok/s is within +-PCT% of its mean, at most "
              "--repeats N times (the cap, required); a case that meets it stops while the others go on, still "
              "interleaved", metavar="PCT", allow_inf_nan=False)
    # which of the repeats this case is (set by the command that repeats it; the row's repeat_index)
    repeat_index: int = option(0, "which repeat of the case this is", hidden=True, ge=0)
    hardware: str | None = option(None, "a GPU of hardware.yaml (case-insensitive), e.g. H100-SXM: what --engine sim "
                                        "predicts, and the roofline beside measured rows; prices the row in CNY per "
                                        "M tokens")
    quantization: Literal["fp8", "awq", "gptq"] | None = option(
        None, "weight format: fp8 (vLLM's online FP8, W8A8; works with dummy weights on a GPU), awq or gptq (int4 "
              "weight-only: a checkpoint quantised so); passed to vLLM, refused by its CPU build; sim and the "
              "prediction charge its bytes and FP8 GEMMs where the card has them")
    profile: str | None = option(None, "a calibration profile (`bench calibrate ... --out profile.yaml`) for the "
                                       "predicted_* columns and --engine sim; default the published fit",
                                 metavar="PROFILE.yaml")
    temperature: float = option(1.0, "sampling temperature of every request (1: vllm bench's default; 0: greedy, "
                                     "where a speculative draft is accepted most)", ge=0.0, le=2.0,
                                allow_inf_nan=False)
    speculative_config: str | None = option(
        None, "speculative decoding, passed to vLLM as its speculative_config (a JSON object): e.g. "
              "'{\"method\": \"ngram\", \"num_speculative_tokens\": 3, \"prompt_lookup_max\": 4}', "
              "'{\"method\": \"mtp\", \"num_speculative_tokens\": 1}' (DeepSeek-V3, GLM-4.5) or EAGLE with its draft "
              "\"model\"; rows record the method, draft length, acceptance rate and tokens per step from vLLM's "
              "counters (docs/engines.md)", metavar="JSON", local_only=True)
    spec_acceptance: float | None = option(
        None, "--engine sim with --speculative-config: the share of draft tokens the model accepts, an assumption the "
              "sim prices (1 + draft length x rate tokens a step, the draft's own cost added); rows label it assumed",
        metavar="RATE", ge=0.0, le=1.0)
    sim_timing: Literal["expected", "bound"] = option(
        "expected", "--engine sim: time steps as the engine is expected to (the efficiency model of --profile or "
                    "the published fit) or at the roofline bound")

    @field_validator("speculative_config")
    @classmethod
    def _speculative_config_is_an_object(cls, text: str | None) -> str | None:
        return None if text is None else json.dumps(speculative_config(text), sort_keys=True)

    @field_validator("repeats", mode="before")
    @classmethod
    def _repeats_at_least_one(cls, n):
        if isinstance(n, int) and not isinstance(n, bool) and n < 1:
            raise ValueError("N must be 1 or more to measure anything; give --repeats 1 (each case once) or more")
        return n

    @field_validator("until_ci")
    @classmethod
    def _until_ci_is_a_positive_percentage(cls, pct: float | None) -> float | None:
        return until_ci_target(pct)

    @model_validator(mode="after")
    def _until_ci_needs_a_cap(self):
        if self.until_ci is not None and self.repeats < 2:
            raise ValueError(f"--until-ci {self.until_ci:g} needs a cap on the repeats: add --repeats N (N >= 2, the "
                             "most times a case runs)")
        return self

    @model_validator(mode="after")
    def _range_needs_a_distribution(self):
        if self.length_dist == "fixed" and self.range_ratio:
            raise ValueError("range_ratio needs --length-dist uniform or normal")
        return self

    @model_validator(mode="after")
    def _pricing_needs_hardware(self):
        priced = changed(self, RowPricing)
        if priced and not self.hardware:  # nothing else prices the row: the option would do nothing
            flag = spellings(priced[0], RowPricing.model_fields[priced[0]])[0]
            raise ValueError(f"{flag} prices the row on --hardware; give --hardware NAME (a GPU of hardware.yaml)")
        return self

    @model_validator(mode="after")
    def _dataset_options_fit_the_dataset(self):
        kind = self.dataset.partition(":")[0].strip().lower()
        for name, kinds in DATASET_OPTIONS.items():
            if kind not in kinds and getattr(self, name) != type(self).model_fields[name].default:
                wanted = " or ".join(k + (":FILE" if k in ("sharegpt", "jsonl") else "") for k in kinds)
                raise ValueError(f"{name} is an option of --dataset {wanted}")
        return self


def until_ci_target(pct: float | None) -> float | None:
    """--until-ci's PCT as given; ValueError (one line naming the fix) unless it is above 0."""
    if pct is not None and pct <= 0:
        raise ValueError("the target must be a percentage above 0; give e.g. --until-ci 5 (the interval's "
                         "half-width under 5% of the mean)")
    return pct


def speculative_config(text: str) -> dict:
    """--speculative-config's JSON as a dict; ValueError (one line) unless it is an object naming a `method` and,
    when given, a positive whole `num_speculative_tokens`. vLLM checks the rest (bench.engines.vllm_offline)."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"not JSON ({getattr(e, 'msg', e)}); give an object such as "
                         '\'{"method": "ngram", "num_speculative_tokens": 3}\'') from None
    if not isinstance(value, dict):
        raise ValueError(f"a JSON object is needed, not {type(value).__name__}")
    if not isinstance(value.get("method"), str) or not value["method"]:
        raise ValueError('it names no "method" (ngram, mtp, eagle, eagle3, ...)')
    k = value.get("num_speculative_tokens")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ValueError(f'"num_speculative_tokens" is {k!r}, not a positive whole number')
    return value


def draft_tokens(spec: dict, model_config: dict) -> int:
    """Tokens the draft proposes a step: num_speculative_tokens, else (MTP) the model's MTP layers, else 1."""
    return int(spec.get("num_speculative_tokens") or model_config.get("num_nextn_predict_layers") or 1)


# Speculative methods that draft with the model's own MTP layers (vLLM's names; "mtp" maps to the model's kind).
MTP_METHODS = ("mtp", "deepseek_mtp", "glm4_moe_mtp", "qwen3_next_mtp", "ernie_mtp", "mimo_mtp")


def mtp_draft_layers(cfg: dict, method: str | None) -> int:
    """Layers of KV cache a speculative draft adds: the model's MTP layers (num_nextn_predict_layers) when it
    drafts with them, else 0 (ngram keeps none; an EAGLE draft model's own cache is not sized here)."""
    return int(cfg.get("num_nextn_predict_layers") or 0) if method in MTP_METHODS else 0


def tp_refusal(model: ResolvedModel, tp: int, problem: str) -> str:
    sizes = ", ".join(map(str, config_checks.tensor_parallel_sizes(model.config)))
    return f"--tensor-parallel-size {tp}: {model.name}'s {problem}, which vLLM refuses; choose one of {sizes}"


# Options of one kind of --dataset (bench.workload.source): set to another value than their default with another
# kind, they are refused (a default value is not checked: a resolved config dumped and read again has them all).
DATASET_OPTIONS = {"prefix_len": ("shared-prefix",), "num_prefixes": ("shared-prefix",), "turns": ("multi-turn",),
                   "tokenizer": ("sharegpt", "jsonl"), "dataset_output": ("sharegpt", "jsonl")}


# Options that do not change what is measured (the time limits, the verdict's rule, which repeat, how the row is
# priced); left out of the case key.
NOT_IN_KEY = ("timeout_s", "stall_timeout_s", "max_failure_rate", "repeats", "until_ci", "repeat_index", *RowPricing.model_fields)
# Options only a predicted engine's (sim's) figures depend on (a measured case's predicted_* columns follow
# --profile, its measurement does not); and options left out of the key at their default, so keys of cases recorded
# before them still match.
SIM_ONLY_IN_KEY = ("profile", "sim_timing")
OMITTED_AT_DEFAULT = {"quantization": None, "speculative_config": None, "spec_acceptance": None, "temperature": 1.0}


def parse(fields: dict, where: str = "bench run") -> RunConfig:
    return validated(RunConfig, fields, where)


def default(name: str):
    """RunConfig's default for option `name` (for code outside the model that needs it)."""
    return RunConfig.model_fields[name].default


class FieldError(BenchError):
    """Bad input traced to one option of the case (`field`), for reports that name it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@contextmanager
def _about(field: str):
    """A BenchError raised inside is about `field`."""
    try:
        yield
    except FieldError:
        raise
    except BenchError as e:
        raise FieldError(field, str(e)) from None


def resolve(cfg: RunConfig, models_catalog=None, model: ResolvedModel | None = None) -> tuple[RunConfig, ResolvedModel]:
    """Fill every default from the catalog (or `model`, already known) and check the case is possible.
    Raises FieldError (a BenchError)."""
    if model is None:
        with _about("model"):
            model = catalog.resolve_model(cfg.model, models_catalog)
    with _about("engine"):
        check_engine_name(cfg.engine)
    hardware_name = cfg.hardware
    if hardware_name:
        from bench.config.hardware import canonical_name

        with _about("hardware"):
            hardware_name = canonical_name(hardware_name)
    elif is_predicted(cfg.engine):
        raise FieldError("hardware", f"--engine {cfg.engine} needs --hardware NAME (a GPU of hardware.yaml, e.g. "
                         "H100-SXM)")
    resolved = cfg.model_copy(update={
        "hardware": hardware_name,
        "model": model.name,
        "dtype": cfg.dtype or model.dtype,
        "max_model_len": cfg.max_model_len or model.max_model_len,
        "tensor_parallel_size": cfg.tensor_parallel_size or model.tensor_parallel_size,
    })
    _, max_in = length_bounds(resolved.input_len, resolved.length_dist, resolved.range_ratio)
    if resolved.num_prompts * max_in > MAX_PROMPT_TOKENS:
        raise FieldError("num_prompts", f"{resolved.num_prompts} prompts x up to {max_in} tokens is more than "
                         f"{MAX_PROMPT_TOKENS:,} prompt tokens, which would not fit in memory; use fewer prompts")
    with _about("dataset"):
        resolved = _resolve_workload(resolved, model)
    limit = model.config.get("max_position_embeddings")
    if limit and resolved.max_model_len > int(limit):
        raise FieldError("max_model_len", f"--max-model-len {resolved.max_model_len} exceeds the model's "
                         f"max_position_embeddings {limit}")
    split = config_checks.tensor_parallel_problem(model.config, resolved.tensor_parallel_size)
    if split:
        raise FieldError("tensor_parallel_size", tp_refusal(model, resolved.tensor_parallel_size, split))
    if resolved.weights not in ("auto", "dummy", "hub"):
        from pathlib import Path

        w = Path(resolved.weights).expanduser()
        if not (w / "config.json").is_file():
            raise FieldError("weights", f"--weights {resolved.weights}: not a directory with a config.json and weights")
    if resolved.quantization and resolved.engine in ("hf", "hf-cb"):
        raise FieldError("quantization", f"--quantization {resolved.quantization}: the {resolved.engine} engine "
                         "runs the model's own dtype; use --engine vllm or sim")
    if resolved.quantization in ("awq", "gptq") and resolved.engine == "vllm" and \
            "quantization_config" not in model.config:
        raise FieldError("quantization", f"--quantization {resolved.quantization} needs a checkpoint quantised with "
                         f"{resolved.quantization.upper()} (a --model directory whose config.json has "
                         "quantization_config); dummy weights of the bundled config cannot be; fp8 can")
    with _about("speculative_config"):
        _check_speculation(resolved, model)
    if resolved.temperature != 1.0 and resolved.engine in ("hf", "hf-cb"):
        raise FieldError("temperature", f"--temperature {resolved.temperature}: the {resolved.engine} engine samples at "
                         "temperature 1 (as vLLM's default); use --engine vllm")
    if resolved.weights == "hub" and not model.hub_id:
        raise FieldError("weights", f"--weights hub: model {model.name} has no hub_id in models.yaml")
    return resolved, model


def _check_speculation(cfg: RunConfig, model: ResolvedModel) -> None:
    """--speculative-config runs on vLLM (and is priced by the sim with an assumed --spec-acceptance); MTP needs the
    model's MTP layers."""
    predicted = is_predicted(cfg.engine)
    if cfg.spec_acceptance is not None and not (predicted and cfg.speculative_config):
        raise FieldError("spec_acceptance", "--spec-acceptance is the sim's assumption for --engine sim with "
                         "--speculative-config; a vLLM run measures the acceptance itself")
    if not cfg.speculative_config:
        return
    spec = json.loads(cfg.speculative_config)
    if cfg.engine in ("hf", "hf-cb"):
        raise BenchError(f"--speculative-config: the {cfg.engine} engine has no speculative decoding; use --engine "
                         "vllm, or sim with --spec-acceptance")
    if spec["method"] in MTP_METHODS and not model.config.get("num_nextn_predict_layers"):
        raise BenchError(f"--speculative-config: method {spec['method']} drafts with the model's own MTP layers and "
                         f"{model.name}'s config.json has none (num_nextn_predict_layers); use ngram, or EAGLE with a "
                         "draft model")
    if predicted and cfg.spec_acceptance is None:
        raise BenchError("--speculative-config with --engine sim: give --spec-acceptance RATE, the share of draft "
                         "tokens accepted (an assumption; measure it with a vLLM run)")


def _resolve_workload(cfg: RunConfig, model: ResolvedModel) -> RunConfig:
    """The workload's own checks (lengths within max_model_len, the file readable, a local tokenizer for text),
    the tokenizer directory and the shared-prefix length resolved; the workload is built once here to check it."""
    from bench.workload import generators, source

    spec = source.parse_dataset(cfg.dataset)
    update: dict = {}
    if spec.kind in source.GENERATORS:
        own = cfg.input_len
        prefix = 0
        if spec.kind == "shared-prefix":
            prefix = cfg.prefix_len or cfg.input_len // 2
            if not 0 < prefix < cfg.input_len:
                raise FieldError("prefix_len", f"--prefix-len {prefix} must be shorter than --input-len "
                                 f"{cfg.input_len} (the prompt includes the prefix)")
            own = cfg.input_len - prefix
            update["prefix_len"] = prefix
        _, max_in = length_bounds(own, cfg.length_dist, cfg.range_ratio)
        max_in += prefix
        _, max_out = length_bounds(cfg.output_len, cfg.length_dist, cfg.range_ratio)
        if spec.kind == "multi-turn":
            max_in = generators.multi_turn_max_prompt(cfg.input_len, cfg.output_len, cfg.turns)
            if cfg.length_dist != "fixed":
                raise FieldError("length_dist", "--dataset multi-turn uses fixed lengths per turn")
        if max_in + max_out > cfg.max_model_len:
            raise FieldError("input_len", f"input {max_in} + output {max_out} tokens = {max_in + max_out} exceeds "
                             f"max_model_len {cfg.max_model_len} of {model.name}; shorten the lengths"
                             f"{' or the turns' if spec.kind == 'multi-turn' else ''} or raise --max-model-len")
    if spec.text:
        update["tokenizer"] = tokenizer_dir(cfg, model)
    resolved = cfg.model_copy(update=update)
    if spec.kind not in source.GENERATORS:
        source.build(resolved.model_dump(), model.config)  # a bad file fails here, before anything runs
    return resolved


def tokenizer_dir(cfg: RunConfig, model: ResolvedModel) -> str:
    """--tokenizer, else the directory of the weights or of the bundled config when it has a tokenizer.json."""
    from pathlib import Path

    from bench.workload.tokenizer import has_tokenizer

    if cfg.tokenizer:
        d = Path(cfg.tokenizer).expanduser()
        if not has_tokenizer(d):
            raise FieldError("tokenizer", f"--tokenizer {cfg.tokenizer}: no tokenizer.json there; give the directory "
                             "of the model's tokenizer (bench never downloads one)")
        return str(d.resolve())
    candidates = [model.weights_dir, model.config_dir if model.config_sha else None]  # a stand-in has no directory
    if cfg.weights == "auto":
        candidates.insert(1, catalog.hf_cache_snapshot(model.hub_id))
    elif cfg.weights not in ("dummy", "hub"):
        candidates.insert(0, Path(cfg.weights).expanduser())
    for d in candidates:
        if has_tokenizer(d):
            return str(Path(d).resolve())
    raise FieldError("tokenizer", f"--dataset {cfg.dataset} is text and {model.name} has no local tokenizer.json; "
                     "give --tokenizer DIR (a directory with the model's tokenizer.json; never downloaded)")


def case_key(cfg: RunConfig, model: ResolvedModel) -> str:
    """A stable hash of what is measured: resolved options plus the exact architecture."""
    fields = {k: v for k, v in cfg.model_dump().items() if k not in NOT_IN_KEY}
    predicted = is_predicted(cfg.engine)
    if not predicted or not cfg.hardware:  # a measured case is the same case whatever GPU it is priced as
        fields.pop("hardware", None)
    if not predicted:
        for k in SIM_ONLY_IN_KEY:
            fields.pop(k, None)
    for k, default in OMITTED_AT_DEFAULT.items():
        if fields.get(k, default) == default:
            fields.pop(k, None)
    fields["config_sha"] = model.config_sha
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]

