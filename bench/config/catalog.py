"""Model lookups: a catalog name or a directory with a config.json -> a resolved model."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from bench import REPO_ROOT
from bench.config.files import CARD_UNITS, Catalog, ModelEntry, load_catalog
from bench.core.errors import BenchError, close_names
from bench.model.config_checks import config_problems

DEFAULT_CATALOG = REPO_ROOT / "models.yaml"
# A directory given as --model has no catalog entry; its default context is capped here
# (vLLM would take max_position_embeddings, which for some models needs tens of GB of KV cache).
DIR_MODEL_MAX_LEN_CAP = 32768
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # catalog name, or the directory's name
    hub_id: str | None
    family: str
    config_dir: Path  # directory holding the architecture's config.json
    config: dict
    config_sha: str  # sha256 of config.json: which architecture exactly was run
    dtype: str
    max_model_len: int
    tensor_parallel_size: int
    weights_dir: Path | None  # real weights from models.yaml, if any
    tiny: bool
    # like-for-like API models (models.yaml compare_with): ((prices.yaml model name, basis), ...)
    compare_with: tuple[tuple[str, str], ...] = ()

    @property
    def architecture(self) -> str:
        archs = self.config.get("architectures") or ["?"]
        return archs[0]


def catalog_path() -> Path:
    return Path(os.environ.get("BENCH_CATALOG", DEFAULT_CATALOG))


def read_config(config_file: Path) -> tuple[dict, str]:
    try:
        raw = config_file.read_bytes()
    except FileNotFoundError:
        raise BenchError(f"{config_file}: config.json not found") from None
    except OSError as e:  # a directory, no permission
        raise BenchError(f"{config_file}: cannot read it ({e.strerror or e})") from None
    try:
        cfg = json.loads(raw)
    except json.JSONDecodeError as e:
        raise BenchError(f"{config_file}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except UnicodeDecodeError as e:
        raise BenchError(f"{config_file}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
                         "save it as UTF-8") from None
    except RecursionError:
        raise BenchError(f"{config_file}: nested too deeply to read") from None
    archs = cfg.get("architectures") if isinstance(cfg, dict) else None
    if not isinstance(archs, list) or not archs or not all(isinstance(a, str) and a for a in archs):
        raise BenchError(f"{config_file}: no 'architectures' list; is this a Hugging Face config.json?")
    problems = config_problems(cfg)
    if problems:  # every row's derived columns need them: refuse now, not after the case ran
        raise BenchError(f"{config_file}: bench's model arithmetic cannot read it: {'; '.join(problems)}; fix the "
                         "config (Hugging Face, Llama-style field names) or choose another model")
    return cfg, hashlib.sha256(raw).hexdigest()


def load(path: Path | None = None) -> Catalog:
    return load_catalog(path or catalog_path())


def resolve_model(name_or_dir: str, catalog: Catalog | None = None, catalog_file: Path | None = None) -> ResolvedModel:
    """A catalog name (case-insensitive) or a directory holding a config.json."""
    catalog_file = catalog_file or catalog_path()
    if not name_or_dir.strip():  # '' is the current directory to Path
        raise BenchError("--model is empty; give a catalog name (`bench models` lists them) or a directory with a "
                         "config.json")
    as_path = Path(name_or_dir).expanduser()
    looks_like_path = os.sep in name_or_dir or name_or_dir.startswith(".") or as_path.is_dir()
    if looks_like_path:
        if as_path.exists() and not as_path.is_dir():
            raise BenchError(f"--model {name_or_dir} is a file; give the directory holding its config.json, or a "
                             "catalog name (see `bench models`)")
        if not as_path.is_dir():
            raise BenchError(f"--model {name_or_dir}: no such directory")
        if not (as_path / "config.json").is_file():
            raise BenchError(
                f"--model {name_or_dir}: the directory has no config.json "
                "(give a catalog name, see `bench models`, or a directory with a Hugging Face config.json)"
            )
        cfg, sha = read_config(as_path / "config.json")
        has_weights = any(p.suffix in WEIGHT_SUFFIXES for p in as_path.iterdir())
        return ResolvedModel(
            name=as_path.resolve().name,
            hub_id=None,
            family=str(cfg.get("model_type", "?")),
            config_dir=as_path.resolve(),
            config=cfg,
            config_sha=sha,
            dtype=_dtype_of(cfg),
            max_model_len=min(int(cfg.get("max_position_embeddings") or DIR_MODEL_MAX_LEN_CAP), DIR_MODEL_MAX_LEN_CAP),
            tensor_parallel_size=1,
            weights_dir=as_path.resolve() if has_weights else None,
            tiny=False,
        )

    catalog = catalog or load(catalog_file)
    by_lower = {k.lower(): k for k in catalog.models}
    key = by_lower.get(name_or_dir.lower())
    if key is None:
        hint = close_names(name_or_dir, list(catalog.models))
        did_you_mean = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise BenchError(
            f"unknown model '{name_or_dir}'{did_you_mean} (`bench models` lists the catalog; "
            "a directory with a config.json also works)"
        )
    return from_entry(key, catalog.models[key], catalog_file.resolve().parent, catalog_file)


def from_entry(name: str, entry: ModelEntry, base: Path, catalog_file: Path | None = None) -> ResolvedModel:
    """The model of catalog entry `name`, its paths relative to `base`; messages name `catalog_file` (default: the
    catalog in use, $BENCH_CATALOG or models.yaml)."""
    where = catalog_file or catalog_path()
    config_file = (base / entry.config).resolve()
    if not config_file.is_file():
        raise BenchError(f"{where}: model '{name}': config file {entry.config} not found")
    cfg, sha = read_config(config_file)
    weights_dir = None
    if entry.weights:
        weights_dir = (base / Path(entry.weights).expanduser()).resolve()
        if not weights_dir.is_dir():
            raise BenchError(f"{where}: model '{name}': weights directory {entry.weights} does not exist")
    return ResolvedModel(
        name=name,
        hub_id=entry.hub_id,
        family=entry.family,
        config_dir=config_file.parent,
        config=cfg,
        config_sha=sha,
        dtype=entry.dtype,
        max_model_len=entry.max_model_len,
        tensor_parallel_size=entry.tensor_parallel_size,
        weights_dir=weights_dir,
        tiny=entry.tiny,
        compare_with=tuple((m.api_model, m.basis) for m in entry.compare_with),
    )


def _dtype_of(cfg: dict) -> str:
    d = str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16")
    return d if d in ("bfloat16", "float16", "float32") else "bfloat16"


def hf_cache_snapshot(hub_id: str | None) -> Path | None:
    """A local snapshot of hub_id holding weights, if the HF cache has one (never downloads)."""
    if not hub_id:
        return None
    hub = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME", os.path.join(os.path.expanduser("~"), ".cache", "huggingface")), "hub"
    )
    snapshots = Path(hub) / ("models--" + hub_id.replace("/", "--")) / "snapshots"
    if not snapshots.is_dir():
        return None
    for snap in sorted(snapshots.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
        if (snap / "config.json").is_file() and any(p.suffix in WEIGHT_SUFFIXES for p in snap.iterdir()):
            return snap
    return None


@dataclass(frozen=True)
class WeightsChoice:
    kind: str  # "real" or "dummy"
    load_path: str  # what vLLM's `model=` gets: a directory, or a hub id when downloading was asked for
    load_format: str  # "auto" or "dummy"
    source: str  # where real weights came from: models.yaml, --weights, hf-cache, hub, or "" for dummy


def choose_weights(model: ResolvedModel, weights_opt: str = "auto") -> WeightsChoice:
    """Real weights when present locally, else vLLM's dummy weights from the bundled config.

    auto: models.yaml `weights`, then the local HF cache; dummy: always dummy;
    hub: let vLLM download `hub_id` (the only option that touches the network); PATH: that directory.
    """
    if weights_opt == "dummy":
        return WeightsChoice("dummy", str(model.config_dir), "dummy", "")
    if weights_opt == "hub":
        return WeightsChoice("real", str(model.hub_id), "auto", "hub")
    if weights_opt != "auto":
        return WeightsChoice("real", str(Path(weights_opt).expanduser().resolve()), "auto", "--weights")
    if model.weights_dir is not None:
        return WeightsChoice("real", str(model.weights_dir), "auto", "models.yaml")
    snap = hf_cache_snapshot(model.hub_id)
    if snap is not None:
        return WeightsChoice("real", str(snap), "auto", "hf-cache")
    return WeightsChoice("dummy", str(model.config_dir), "dummy", "")


def card_figure(text: str) -> tuple[float, float]:
    """A card's figure ('37B') -> (37e9, 0.5e9): the number and half a unit of its last digit, the rounding the
    digits it prints allow ('3.3B': 3.25-3.35)."""
    number, unit = text[:-1], CARD_UNITS[text[-1]]
    decimals = len(number.split(".")[1]) if "." in number else 0
    return float(number) * unit, 0.5 * 10 ** -decimals * unit


def card_agrees(count: float, text: str) -> tuple[bool, float]:
    """Whether bench's `count` agrees with a card's printed figure, and its deviation (count / figure - 1): within
    1%, or within the digits the card prints, rounded, or truncated by at most 2% (DeepSeek-V2-Lite's 2.45B
    printed as 2.4B, Qwen3-30B-A3B's 3.35B as 3.3B)."""
    figure, half = card_figure(text)
    truncated = figure <= count < min(figure + 2 * half, 1.02 * figure)
    ok = abs(count - figure) <= max(0.01 * figure, half) or truncated
    return ok, count / figure - 1
