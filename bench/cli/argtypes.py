"""argparse `type=` functions shared by the subcommands: each turns one command-line word into a value
or raises ArgumentTypeError with the expected form (argparse prints it as one line, exit 2)."""

from __future__ import annotations

import argparse
import math
from typing import Callable


def _items(text: str) -> list[str]:
    """The comma-separated items of one word; an empty item (1,,4 or a trailing comma) is refused, not
    dropped, and so is an item given twice (it would run the same case twice)."""
    items = [x.strip() for x in text.split(",")]
    if any(not x for x in items):
        raise argparse.ArgumentTypeError(f"empty item in {text!r}; write the values separated by single commas, "
                                         "e.g. 1,4,16")
    return items


def _once_each(values: list, text: str) -> list:
    twice = sorted({v for v in values if values.count(v) > 1}, key=values.index)
    if twice:
        raise argparse.ArgumentTypeError(f"{', '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in twice)} "
                                         f"given twice in {text!r}; list each value once")
    return values


def int_list(text: str) -> list[int]:
    items = _items(text)
    try:
        values = [int(x) for x in items]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return _once_each(values, text)


def rate_list(text: str) -> list[float]:
    items = _items(text)
    try:
        values = [float(x) for x in items]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas (inf allowed), got {text!r}") from None
    if any(not (v > 0) or math.isnan(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected request rates above 0 (inf: all at once), got {text!r}")
    return _once_each(values, text)




def one_of(parse_list: Callable[[str], list], plural_flag: str) -> Callable[[str], list]:
    """A list option's one-value form: the same reader, refusing more than one value (kept as a list)."""
    def parse(text: str) -> list:
        values = parse_list(text)
        if len(values) != 1:
            raise argparse.ArgumentTypeError(f"expected one value, got {text!r} (a sweep is {plural_flag})")
        return values
    return parse


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def positive(text: str) -> float:
    x = _number(text)
    if not (x > 0 and math.isfinite(x)):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return x


def non_negative(text: str) -> float:
    x = _number(text)
    if not (x >= 0 and math.isfinite(x)):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return x


def fraction(text: str) -> float:
    x = positive(text)
    if x > 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1] such as 0.3, got {text!r}")
    return x


def share(text: str) -> float:
    x = non_negative(text)
    if x > 1:
        raise argparse.ArgumentTypeError(f"expected a share in [0, 1] such as 0.5, got {text!r}")
    return x


def names(text: str) -> list[str]:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected one or more names separated by commas")
    return _once_each(_items(text), text)


# The comma-list reader for a list's element type (the only float lists are request rates; str lists are names).
COMMA_LISTS: dict[type, Callable[[str], list]] = {int: int_list, float: rate_list, str: names}
