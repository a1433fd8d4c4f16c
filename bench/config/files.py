"""Strict schemas for the YAML files users edit (a typo fails loudly, never silently)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench.core.errors import BenchError

DTYPES = ("auto", "bfloat16", "float16", "float32")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VendorMatch(Strict):
    """An API model an open model stands against by default (bench plan, bench cost), and on what basis."""

    api_model: str = Field(min_length=1, description="a model name of prices.yaml")
    basis: str = Field(min_length=1, description="why it is comparable: 'same model' or a stated quality tier")


CARD_UNITS = {"M": 1e6, "B": 1e9, "T": 1e12}


class ModelCard(Strict):
    """Parameter counts as the model's card prints them ('37B', '116.83B', '1T'), and what its active count counts."""

    total: str = Field(pattern=r"^\d+(\.\d+)?[MBT]$", description="total parameters, e.g. 32.8B")
    active: str | None = Field(None, pattern=r"^\d+(\.\d+)?[MBT]$", description="active parameters per token")
    active_counts: Literal["bench", "with embeddings", "without embeddings"] = Field(
        "bench", description="bench: all a token multiplies but the input embedding; with embeddings: total minus "
                             "the experts a token skips; without embeddings: bench's minus the lm_head")
    source: str = Field(min_length=1, description="where the figures are printed")


class ModelEntry(Strict):
    """One catalog model: where its architecture lives and how to serve it by default."""

    hub_id: str | None = Field(None, description="Hugging Face id; used to find real weights in the local HF cache")
    family: str = Field(description="architecture family, e.g. qwen2, deepseek_v2, glm")
    config: str = Field(description="path of the bundled config.json, relative to the catalog file")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "bfloat16"
    max_model_len: int = Field(gt=0)
    tensor_parallel_size: int = Field(1, ge=1)
    weights: str | None = Field(None, description="local directory of real weights (optional)")
    tiny: bool = Field(False, description="a test-sized variant with the family's real attention/MoE layout")
    notes: str = ""
    compare_with: list[VendorMatch] = Field(default_factory=list, description="like-for-like API models")
    card: ModelCard | None = Field(None, description="the model card's parameter counts (scripts/models_2026.py)")


class Catalog(Strict):
    schema_version: Literal[1] = 1
    models: dict[str, ModelEntry]


def field_errors(err: ValidationError, with_input: bool = False) -> list[tuple[str, str]]:
    """(field, problem) for each error pydantic found; the field dotted, e.g. 'models.x.dtype'.
    `with_input`: the problem ends with the value given, e.g. "(got 'int4')"."""
    found = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            found.append((loc, "unknown field"))
        elif e["type"] == "missing":
            found.append((loc, "missing field"))
        else:  # pydantic's "Value error, " prefix is its own wording, not the problem
            msg = e["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            shown = (with_input and loc and not isinstance(e.get("input"), dict)  # not a whole model's fields
                     and f"got {e.get('input')!r}" not in msg)  # a message that already says it
            found.append((loc, msg + (f" (got {e['input']!r})" if shown else "")))
    return found


def one_line(err: ValidationError, where: str) -> str:
    """Turn pydantic's multi-line report into one line naming each bad field."""
    parts = [f"{msg} '{loc}'" if msg in ("unknown field", "missing field") else f"'{loc}': {msg}" if loc else msg
             for loc, msg in field_errors(err)]
    return f"{where}: " + "; ".join(parts)


def validated(schema: type[BaseModel], data: Any, where: str) -> Any:
    """`data` validated against `schema`; BenchError (one line naming each bad field) if it fails."""
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        raise BenchError(one_line(e, where)) from None


# libyaml's parser where PyYAML has it (about 9x faster: models.yaml 0.36 s -> 0.04 s on this 2-core machine,
# and every command reads models.yaml, hardware.yaml and prices.yaml); the same checks run on its nodes.
_SAFE_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SAFE_BASE):
    """PyYAML's safe loader, refusing what it would otherwise take silently or crash on: a key written twice
    in one mapping (PyYAML keeps the last), two keys equal but for case (names are looked up
    case-insensitively, so one would shadow the other), and an impossible date such as 2024-13-01."""


class _Refused(yaml.YAMLError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, tuple[Any, int]] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`: a key written beside it overrides, as YAML says
            continue
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        folded = key.lower() if isinstance(key, str) else key
        try:
            first = seen.get(folded)
        except TypeError:  # an unhashable key (a list): construct_mapping below refuses it with its own message
            continue
        if first is not None:
            same = "written twice" if first[0] == key else f"equal, but for case, to {first[0]!r}"
            raise _Refused(f"key {key!r} is {same} (line {first[1]}); keep one", line)
        seen[folded] = (key, line)
    return loader.construct_mapping(node, deep=deep)


def _checked_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode):
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as e:
        raise _Refused(f"{node.value!r} is not a real date ({e}); write it as YYYY-MM-DD",
                            node.start_mark.line + 1) from None


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _checked_timestamp)


def read_text_file(path: Path, what: str = "file") -> str:
    """The UTF-8 text of a file the user named; BenchError (one line) if it is missing, a directory,
    unreadable or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BenchError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise BenchError(f"{path}: is a directory; give the {what} itself") from None
    except UnicodeDecodeError as e:
        raise BenchError(f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
                         "save it as UTF-8") from None
    except OSError as e:
        raise BenchError(f"{path}: cannot read it ({e.strerror or e})") from None


def parse_yaml(text: str) -> Any:
    """YAML text -> data, refusing duplicate and case-insensitively equal keys and impossible dates
    (yaml.YAMLError; `line`/`problem_mark` say where)."""
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)


def load_yaml(path: Path) -> Any:
    text = read_text_file(path, "YAML file")
    try:
        return parse_yaml(text)
    except _Refused as e:
        raise BenchError(f"{path} line {e.line}: {e.message}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        position = getattr(e, "position", None)  # a reader error (a control character) has a position only
        at = (f" line {mark.line + 1}" if mark else
              f" line {text.count(chr(10), 0, position) + 1}" if isinstance(position, int) else "")
        problem = " ".join(str(getattr(e, "problem", None) or e).split())
        raise BenchError(f"{path}{at}: not valid YAML ({problem})") from None
    except RecursionError:
        raise BenchError(f"{path}: nested too deeply to read") from None


def top_mapping(data: Any, path: Path | str, hint: str) -> Any:
    """`data` if it is a mapping (what every bench YAML file is at its top); BenchError naming what it is else."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}" if not isinstance(data, list) else "a list"
        raise BenchError(f"{path}: the file is {kind}, not a mapping of fields ({hint})")
    return data


def load_catalog(path: Path) -> Catalog:
    """models.yaml (or the file given), validated. Cached per path, modification time and size: a command that
    resolves many models (a sweep, the plan) reads the file once. Callers never modify the Catalog."""
    try:
        st = path.stat()
    except OSError:
        return _load_catalog(path)  # its own one-line error
    return _cached_catalog(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _cached_catalog(path: str, mtime_ns: int, size: int) -> Catalog:
    return _load_catalog(Path(path))


def _load_catalog(path: Path) -> Catalog:
    data = top_mapping(load_yaml(path), path, "see the field list at the top of models.yaml")
    try:
        return Catalog.model_validate(data)
    except ValidationError as e:
        raise BenchError(one_line(e, str(path)) + " (fix the entry; see the README's 'Adding a model')") from None


def load_validated(path: Path, schema: type[BaseModel], hint: str) -> Any:
    """Parse `path` and validate it against `schema`; BenchError (one line, with `hint`) if it fails.
    Cached per file path and modification time, so repeated look-ups parse the file once."""
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise BenchError(f"{path}: file not found") from None
    except OSError as e:
        raise BenchError(f"{path}: cannot read it ({e.strerror or e})") from None
    if path.is_dir():
        raise BenchError(f"{path}: is a directory; give the YAML file itself") from None
    return _load_validated(str(path), mtime_ns, schema, hint)


@lru_cache(maxsize=16)
def _load_validated(path: str, mtime_ns: int, schema: type[BaseModel], hint: str) -> Any:
    data = top_mapping(load_yaml(Path(path)), path, hint)
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        raise BenchError(one_line(e, path) + f" ({hint})") from None
