"""One exception type for bad input (the CLI prints its message as one line and exits 2), and the
"did you mean" that such a message offers when a name is misspelt."""

from __future__ import annotations

import difflib
import re


class BenchError(Exception):
    """Bad input or an unusable environment. The message names the problem and the fix."""

    exit_code = 2


def close_names(name: str, names: list[str]) -> list[str]:
    """Up to 4 of `names` close to `name` (case-insensitive): difflib's close matches, then those containing it.
    When `name` has a part with a digit (a size such as 7b, a version such as v3) and some of the close names share
    that part, only those: a model family grows by sizes, and 'qwen-7b' means a 7B model, not qwen3-8b."""
    lowered = {n.lower(): n for n in names}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=12, cutoff=0.5)
    hits += [k for k in lowered if name.lower() in k and k not in hits]
    sized = {part for part in _parts(name.lower()) if any(c.isdigit() for c in part)}
    same_size = [k for k in hits if sized & _parts(k)]
    return [lowered[h] for h in (same_size or hits)[:4]]


def _parts(name: str) -> set[str]:
    return set(re.split(r"[-_./ ]+", name))


def did_you_mean(name: str, names: list[str], first_only: bool = False) -> str:
    """'; did you mean a, b?' for the names close to `name`, or '' when none is."""
    hint = close_names(name, names)[:1 if first_only else 4]
    return f"; did you mean {', '.join(hint)}?" if hint else ""
