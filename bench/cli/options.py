"""argparse options generated from pydantic models: each field is one option, declared once on its model
(bench.config.flags.option). Type from the annotation, choices from a Literal, help from the description,
the default shown from the field; argparse itself keeps no default (SUPPRESS), so the namespace holds only
what the user typed and the model fills the rest (its model_fields_set tells what was given).

A command composes models: its own, and the shared ones of bench.config.pricing (listed after its own), each
parsed from the same namespace with `parsed`. A value argparse cannot read itself (a day, an IN:OUT mix, a
hardware.yaml card) is passed on as text and read by its field type.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from bench.cli.argtypes import COMMA_LISTS, one_of
from bench.config.files import field_errors
from bench.config.flags import Flag, Group, flag_of, spellings
from bench.config.pricing import SHARED_MODELS
from bench.core.errors import BenchError

RESULTS_DIR = Path("results")
EXIT_SOME_FAILED = 3  # a command ran, and some case or level failed


def add_command(sub, name: str, help: str, func, models: tuple[type[BaseModel], ...],
                local_only_note: str | None = None) -> argparse.ArgumentParser:
    """Subcommand `name` whose options are the fields of `models`, run by `func(args)`."""
    p = sub.add_parser(name, help=help)
    add_options(p, *models, local_only_note=local_only_note)
    p.set_defaults(func=func)
    return p


def add_options(parser: argparse.ArgumentParser, *models: type[BaseModel], local_only_note: str | None = None) -> None:
    """One argument per field of `models`, in field order, the shared options (bench.config.pricing) after the
    others; `local_only_note` is added to the help of the local-only options."""
    groups: dict[str, Any] = {}
    titles: dict[str, Group] = {}
    for model in models:
        for cls in reversed(model.__mro__):  # a subclass may retitle a group of its bases
            titles.update(vars(cls).get("cli_groups", {}))
    fields = [(name, field, name in shared_fields(model)) for model in models
              for name, field in model.model_fields.items()]
    for name, field, _ in sorted(fields, key=lambda f: f[2]):
        facts = flag_of(field)
        where = parser
        if facts.group is not None:
            if facts.group not in groups:
                group = parser.add_argument_group(titles[facts.group].title)
                groups[facts.group] = (group.add_mutually_exclusive_group() if titles[facts.group].exclusive
                                       else group)
            where = groups[facts.group]
        kwargs = _argument(name, field, facts, local_only_note if facts.local_only else None)
        if facts.single is not None:  # first: --request-rate R before --rates R1,R2
            flag, metavar, text = facts.single
            where.add_argument(flag, dest=name, default=argparse.SUPPRESS, metavar=metavar, help=_escaped(text),
                               type=one_of(kwargs["type"], spellings(name, field)[0]))
        if facts.positional:
            where.add_argument(name, **kwargs)
        else:
            where.add_argument(*spellings(name, field), dest=name, **kwargs)


def shared_fields(model: type[BaseModel]) -> set[str]:
    """The fields `model` has from the shared option models (bench.config.pricing.SHARED_MODELS)."""
    return {name for cls in model.__mro__ if cls in SHARED_MODELS for name in cls.model_fields}


# Types argparse reads itself; a field of another type (a day, an IN:OUT mix) is given to its model as text.
ARGPARSE_TYPES = (int, float, str, Path)


def _argument(name: str, field: FieldInfo, facts: Flag, note: str | None) -> dict:
    kind, optional = _unwrap(field.annotation)
    kwargs: dict[str, Any] = {"default": argparse.SUPPRESS}
    if not facts.positional and field.is_required():
        kwargs["required"] = True
    if kind is bool:
        if spellings(name, field)[0].startswith("--no-"):
            kwargs["action"] = "store_false"
        elif optional or field.default is True:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["action"] = "store_true"
    elif typing.get_origin(kind) is Literal:
        choices = typing.get_args(kind)
        kwargs.update(type=type(choices[0]), choices=list(choices))
    elif typing.get_origin(kind) is list:  # a comma list, or one word per value with nargs "*" / "+"
        element = typing.get_args(kind)[0]
        kwargs["type"] = element if facts.nargs in ("*", "+") else COMMA_LISTS[element]
    elif facts.comma_list:
        kwargs["type"] = COMMA_LISTS[kind]
    else:
        kwargs["type"] = kind if kind in ARGPARSE_TYPES else str
    for key in ("metavar", "nargs", "const"):
        if getattr(facts, key) is not None:
            kwargs[key] = getattr(facts, key)
    kwargs["help"] = argparse.SUPPRESS if facts.hidden else _help(name, field, note)
    return kwargs


def _unwrap(annotation) -> tuple[Any, bool]:
    """(the type without None and its validators, whether None was allowed): int | None -> (int, True)."""
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation, optional = args[0], len(args) < len(typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation, optional


def _help(name: str, field: FieldInfo, note: str | None) -> str:
    extras = []
    default, flag = field.default, spellings(name, field)[0]
    if _unwrap(field.annotation)[0] is bool:  # a switch shows its default only where both spellings exist
        if default is True and not flag.startswith("--no-"):
            extras.append(f"default {flag}")
    elif default is not None and not field.is_required():
        extras.append(f"default {shown(default)}")
    if note:
        extras.append(note)
    text = field.description or ""
    return _escaped(text + (f" ({'; '.join(extras)})" if extras else ""))


def shown(value: Any) -> str:
    """A default as the user would type it: 3600.0 -> 3600, [1, 8] -> 1,8; a value of its own type (a mix) as
    it writes itself: 3:1."""
    if isinstance(value, float):
        return f"{value:g}"
    if type(value) in (list, tuple):
        return ",".join(shown(v) for v in value)
    return str(value)


def _escaped(text: str) -> str:
    return text.replace("%", "%%")  # argparse formats help with %


def given(args: argparse.Namespace, model: type[BaseModel]) -> dict:
    """The options of `model` the user typed (argparse kept no defaults)."""
    return {k: v for k, v in vars(args).items() if k in model.model_fields}


def parsed(args: argparse.Namespace, model: type[BaseModel], where: str) -> Any:
    """`model` from what the user typed, its defaults filling the rest; BenchError (one line naming each
    bad option by its flag) if invalid."""
    try:
        return model.model_validate(given(args, model))
    except ValidationError as e:
        problems = []
        for loc, msg in field_errors(e, with_input=True):
            name = loc.split(".")[0]
            flag = spellings(name, model.model_fields[name])[0] if name in model.model_fields else loc
            problems.append(f"{flag}: {msg}" if flag else msg)
        raise BenchError(f"{where}: " + "; ".join(problems)) from None
