"""Strict schemas for the YAML files users edit (a typo fails loudly, never silently)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench.errors import BenchError

DTYPES = ("auto", "bfloat16", "float16", "float32")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VendorMatch(Strict):
    """An API model an open model stands against by default (bench plan, bench cost), and on what basis."""

    api_model: str = Field(min_length=1, description="a model name of prices.yaml")
    basis: str = Field(min_length=1, description="why it is comparable: 'same model' or a stated quality tier")


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
        else:
            found.append((loc, e["msg"] + (f" (got {e['input']!r})" if with_input else "")))
    return found


def one_line(err: ValidationError, where: str) -> str:
    """Turn pydantic's multi-line report into one line naming each bad field."""
    parts = [f"{msg} '{loc}'" if msg in ("unknown field", "missing field") else f"'{loc}': {msg}"
             for loc, msg in field_errors(err)]
    return f"{where}: " + "; ".join(parts)


def validated(schema: type[BaseModel], data: Any, where: str) -> Any:
    """`data` validated against `schema`; BenchError (one line naming each bad field) if it fails."""
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        raise BenchError(one_line(e, where)) from None


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BenchError(f"{path}: file not found") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        raise BenchError(f"{path}{at}: not valid YAML ({getattr(e, 'problem', e)})") from None


def load_catalog(path: Path) -> Catalog:
    data = load_yaml(path)
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
    return _load_validated(str(path), mtime_ns, schema, hint)


@lru_cache(maxsize=16)
def _load_validated(path: str, mtime_ns: int, schema: type[BaseModel], hint: str) -> Any:
    data = load_yaml(Path(path))
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        raise BenchError(one_line(e, path) + f" ({hint})") from None
