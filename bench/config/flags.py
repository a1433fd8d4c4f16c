"""An option declared once, on its config model: `option(default, help, **cli facts, **constraints)`.

The field gives the option's name (--input-len for input_len), type, choices (a Literal), default and
help (its description); the few facts only the command line needs ride in json_schema_extra["cli"].
bench.cli.options builds the argparse arguments from both; nothing here imports argparse.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


@dataclass(frozen=True)
class Flag:
    """How a field is spelled and read on the command line. Defaults: --field-name, in the main group."""

    flags: tuple[str, ...] = ()  # replaces --field-name, e.g. ("--timeout",) or ("--tensor-parallel-size", "-tp")
    metavar: str | None = None
    group: str | None = None  # a key of the model's cli_groups
    positional: bool = False
    hidden: bool = False  # parsed, not shown in --help
    comma_list: bool = False  # a scalar field the command takes as a comma list (one case per value)
    single: tuple[str, str, str] | None = None  # a list field's one-value form: (flag, metavar, help)
    nargs: str | None = None  # "?" with `const`: the flag alone means `const`
    const: Any = None
    local_only: bool = False  # an option of the engine bench starts itself: meaningless against bench serve --endpoint


class Group(NamedTuple):
    title: str
    exclusive: bool = False  # at most one of its options may be given


def option(default: Any = PydanticUndefined, help: str = "", *, flags: tuple[str, ...] = (),
           metavar: str | None = None, group: str | None = None, positional: bool = False, hidden: bool = False,
           comma_list: bool = False, single: tuple[str, str, str] | None = None, nargs: str | None = None,
           const: Any = None, local_only: bool = False, **constraints) -> Any:
    """A pydantic Field with `help` as its description and the CLI facts beside it; `constraints`
    (ge, gt, le, ...) go to the Field. No default: the option is required."""
    facts = Flag(tuple(flags), metavar, group, positional, hidden, comma_list, single, nargs, const, local_only)
    return Field(default, description=help, json_schema_extra={"cli": _jsonable(facts)}, **constraints)


def reworded(model: type[BaseModel], name: str, help: str | None = None, *, default: Any = PydanticUndefined,
             **facts) -> Any:
    """`model`'s field `name` (default, constraints) as another command reads it: new help, CLI facts or,
    for an option of another command, its own default. For a subclass that re-reads a field, or a command
    that takes the same option."""
    base = model.model_fields[name]
    merged = {**asdict(flag_of(base)), **facts}
    changes: dict[str, Any] = {"json_schema_extra": {"cli": _jsonable(Flag(**merged))}}
    if help is not None:
        changes["description"] = help
    if default is not PydanticUndefined:
        changes["default"] = default
    return FieldInfo.merge_field_infos(base, **changes)


def _jsonable(facts: Flag) -> dict:
    """Only the facts that differ from Flag's defaults, lists for tuples (the JSON schema stays valid)."""
    plain = {f.name: getattr(facts, f.name) for f in fields(Flag) if getattr(facts, f.name) != f.default}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in plain.items()}


def flag_of(field: FieldInfo) -> Flag:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    facts = dict(extra.get("cli", {}))
    return Flag(**{k: tuple(v) if isinstance(v, list) else v for k, v in facts.items()})


def spellings(name: str, field: FieldInfo) -> tuple[str, ...]:
    """The option's flags, the first being how messages name it: --input-len for input_len."""
    return flag_of(field).flags or ("--" + name.replace("_", "-"),)


def local_only_given(cfg: BaseModel) -> list[str]:
    """Flags of the local-only options the user set (typed, even if equal to the default)."""
    return [spellings(name, f)[0] for name, f in type(cfg).model_fields.items()
            if name in cfg.model_fields_set and flag_of(f).local_only]

