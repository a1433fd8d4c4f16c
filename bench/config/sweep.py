"""A sweep file -> the list of resolved cases, with every problem in it found before anything runs.

    base:  {model: qwen2.5-0.5b-instruct, input_len: 128, output_len: 64, device: cpu}   # bench run options
    grid:  {max_num_seqs: [1, 4, 16]}        # lists expand to their product, each merged over base
    cases: [{model: tiny-glm, max_num_seqs: 2}]   # optional explicit cases, each merged over base

Keys are `bench run` options with dashes written as underscores (RunConfig's fields). Each case
gets a stable key (runconfig.case_key of its resolved config): how --resume knows what is done.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bench.config import catalog

from bench.config import run as runconfig
from bench.config.catalog import ResolvedModel
from bench.core.errors import close_names
from bench.config.files import field_errors, load_yaml
from bench.core.errors import BenchError
from bench.config.run import FieldError, RunConfig


class SweepFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: dict[str, Any] = {}
    grid: dict[str, list[Any]] = {}
    cases: list[dict[str, Any]] = []


@dataclass(frozen=True)
class CaseSpec:
    """One case as the file writes it."""

    index: int  # 1-based, in sweep order: the grid's product first, then `cases`
    origin: str  # "grid", "cases[2]" or "base"
    fields: dict  # base merged with the case's own values
    own: dict  # what the case sets beyond base (names it in messages and progress)

    @property
    def label(self) -> str:
        shown = " ".join(f"{k}={v}" for k, v in self.own.items()) or "base"
        return f"#{self.index} {shown}"


@dataclass(frozen=True)
class PlannedCase:
    spec: CaseSpec
    cfg: RunConfig  # resolved
    model: ResolvedModel
    key: str  # runconfig.case_key: the config_hash column of its row

    @property
    def label(self) -> str:
        return self.spec.label


@dataclass(frozen=True)
class Problem:
    field: str | None  # the option at fault, or None for the whole sweep
    message: str
    cases: tuple[int, ...] = ()  # case numbers; () for the file itself


@dataclass
class Plan:
    cases: list[PlannedCase] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    total: int = 0  # cases the file describes


class SweepInputError(BenchError):
    """Everything wrong with a sweep, one problem a line."""


OPTIONS = tuple(RunConfig.model_fields)
MAX_CASES = 10_000  # a campaign of minutes-long cases; far beyond it is a typo in a grid


def read_sweep(path: Path) -> SweepFile:
    data = load_yaml(path)
    if data is None:
        raise BenchError(f"{path}: empty sweep file (it needs base, and grid or cases)")
    if not isinstance(data, dict):
        raise BenchError(f"{path}: a sweep file is a mapping with keys base, grid, cases")
    try:
        sweep = SweepFile.model_validate(data)
    except ValidationError as e:
        problems = [Problem(loc.split(".")[0], _structure_hint(loc, msg)) for loc, msg in field_errors(e)]
        raise SweepInputError(format_problems(path, problems, [])) from None
    count = math.prod(len(v) for v in sweep.grid.values()) * bool(sweep.grid) + len(sweep.cases)
    if count > MAX_CASES:  # counted before the grid is expanded: a product of long lists fills memory
        raise BenchError(f"{path}: {count:,} cases (the grid's product of list lengths, plus cases); at most "
                         f"{MAX_CASES:,} in one sweep: split it into several files")
    return sweep


def _structure_hint(loc: str, msg: str) -> str:
    top = loc.split(".")[0]
    if msg == "unknown field":
        hint = close_names(top, list(SweepFile.model_fields))
        return f"unknown key '{top}'" + (f"; did you mean {hint[0]}?" if hint else " (keys: base, grid, cases)")
    if top == "grid":
        return f"'{loc}': {msg}; every grid option takes a list of values, e.g. max_num_seqs: [1, 4, 16]"
    if top == "cases":
        return f"'{loc}': {msg}; cases is a list of mappings of bench run options"
    return f"'{loc}': {msg}; base is a mapping of bench run options"


def expand(sweep: SweepFile) -> list[CaseSpec]:
    """The grid's product (in the file's key order, the last key varying fastest), then each explicit
    case; each merged over base. No grid and no cases: base alone is the one case."""
    own: list[tuple[str, dict]] = []
    if sweep.grid:
        keys = list(sweep.grid)
        own += [("grid", dict(zip(keys, values))) for values in itertools.product(*sweep.grid.values())]
    own += [(f"cases[{i}]", dict(c)) for i, c in enumerate(sweep.cases)]
    if not own:
        own = [("base", {})]
    return [CaseSpec(i, origin, {**sweep.base, **values}, values) for i, (origin, values) in enumerate(own, 1)]


def _key_problems(sweep: SweepFile) -> list[Problem]:
    """Unknown option names and empty grid lists, reported once where they are written."""
    problems = []
    places = [("base", sweep.base), ("grid", sweep.grid)] + [(f"cases[{i}]", c) for i, c in enumerate(sweep.cases)]
    for where, mapping in places:
        for name in mapping:
            if name not in OPTIONS:
                hint = close_names(str(name).replace("-", "_"), list(OPTIONS))
                dym = f"; did you mean {hint[0]}?" if hint else ""
                problems.append(Problem(f"{where}.{name}", f"not a bench run option{dym}"))
    for name, values in sweep.grid.items():
        if not values:
            problems.append(Problem(f"grid.{name}", "an empty list makes no cases"))
    return problems


def check_case(spec: CaseSpec, overrides: dict, models) -> tuple[PlannedCase | None, list[Problem]]:
    """Validate and resolve one case; its problems, each naming the field."""
    fields = {k: v for k, v in {**spec.fields, **overrides}.items() if k in OPTIONS}
    try:
        cfg = RunConfig.model_validate(fields)
    except ValidationError as e:
        return None, [Problem(loc, msg, (spec.index,)) for loc, msg in field_errors(e, with_input=True)]
    try:
        resolved, model = runconfig.resolve(cfg, models)
    except FieldError as e:
        return None, [Problem(e.field, str(e), (spec.index,))]
    except BenchError as e:
        return None, [Problem(None, str(e), (spec.index,))]
    return PlannedCase(spec, resolved, model, runconfig.case_key(resolved, model)), []


def plan(sweep: SweepFile, overrides: dict | None = None, models=None) -> Plan:
    """Every case resolved and checked; all problems collected (none raised)."""
    specs = expand(sweep)
    result = Plan(total=len(specs), problems=_key_problems(sweep))
    if models is None:
        try:
            models = catalog.load()
        except BenchError as e:
            result.problems.append(Problem(None, str(e)))
            return result
    first_of: dict[str, int] = {}
    for spec in specs:
        case, problems = check_case(spec, overrides or {}, models)
        result.problems += problems
        if case is None:
            continue
        if case.key in first_of:
            result.problems.append(Problem(None, f"the same case as #{first_of[case.key]} (key {case.key}); "
                                                 "remove one", (spec.index,)))
            continue
        first_of[case.key] = spec.index
        result.cases.append(case)
    result.cases = interleaved(result.cases)
    return result


def interleaved(cases: list[PlannedCase]) -> list[PlannedCase]:
    """Each case as many times as its `repeats`, interleaved (A r0, B r0, A r1, B r1, ...): drift over the
    sweep hits every case alike. The repeats share the case key; their rows differ in repeat_index."""
    rounds = max((c.cfg.repeats for c in cases), default=1)
    return [PlannedCase(c.spec, c.cfg.model_copy(update={"repeat_index": r}), c.model, c.key)
            for r in range(rounds) for c in cases if r < c.cfg.repeats]


def _grouped(problems: list[Problem]) -> list[Problem]:
    """One problem shared by many cases (a bad value in base) is reported once, naming them all."""
    merged: dict[tuple, list[int]] = {}
    for p in problems:
        merged.setdefault((p.field, p.message), []).extend(p.cases)
    return [Problem(f, m, tuple(c)) for (f, m), c in merged.items()]


def _case_names(numbers: tuple[int, ...], specs: dict[int, CaseSpec], total: int) -> str:
    if not numbers:
        return ""
    if len(numbers) == total and total > 1:
        return f"all {total} cases"
    if len(numbers) == 1:
        spec = specs.get(numbers[0])
        return f"case #{numbers[0]}" + (f" ({' '.join(f'{k}={v}' for k, v in spec.own.items())})"
                                        if spec and spec.own else "")
    shown = ", ".join(f"#{n}" for n in numbers[:8])
    return f"cases {shown}" + (f" and {len(numbers) - 8} more" if len(numbers) > 8 else "")


def format_problems(path: Path, problems: list[Problem], specs: list[CaseSpec]) -> str:
    by_index = {s.index: s for s in specs}
    lines = []
    for p in _grouped(problems):
        where = " · ".join(x for x in (_case_names(p.cases, by_index, len(specs)), p.field or "") if x)
        lines.append(f"  {where}: {p.message}" if where else f"  {p.message}")
    n = len(lines)
    head = f"{path}: {n} problem{'s' if n != 1 else ''}"
    if specs:
        head += f" in {len(specs)} case{'s' if len(specs) != 1 else ''}"
    return head + "; nothing was run\n" + "\n".join(lines)


def load_plan(path: Path, overrides: dict | None = None, models=None, more_checks=None) -> Plan:
    """Read, expand, validate and resolve a sweep file; `more_checks(cases) -> [Problem]` adds checks of
    the environment. SweepInputError lists every problem."""
    sweep = read_sweep(path)
    result = plan(sweep, overrides, models)
    if more_checks is not None:
        result.problems += more_checks(result.cases)
    if result.problems:
        raise SweepInputError(format_problems(path, result.problems, expand(sweep)))
    return result
