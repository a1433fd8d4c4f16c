"""One exception type for bad input (the CLI prints its message as one line and exits 2), and the
"did you mean" that such a message offers when a name is misspelt."""

from __future__ import annotations

import difflib


class BenchError(Exception):
    """Bad input or an unusable environment. The message names the problem and the fix."""

    exit_code = 2


def close_names(name: str, names: list[str]) -> list[str]:
    """Up to 4 of `names` close to `name` (case-insensitive): difflib's close matches, then those containing it."""
    lowered = {n.lower(): n for n in names}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=4, cutoff=0.5)
    hits += [k for k in lowered if name.lower() in k and k not in hits]
    return [lowered[h] for h in hits[:4]]


def did_you_mean(name: str, names: list[str], first_only: bool = False) -> str:
    """'; did you mean a, b?' for the names close to `name`, or '' when none is."""
    hint = close_names(name, names)[:1 if first_only else 4]
    return f"; did you mean {', '.join(hint)}?" if hint else ""
