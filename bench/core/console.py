"""The terminal: every rich Console bench prints through is made here, so all of them agree.

On a terminal a console takes the terminal's width and colours. Piped or captured (a log, CI, a test) it takes a
fixed width of PIPED_WIDTH columns, so names and numbers are never cut or wrapped mid-cell, and no colour (rich
leaves colour out when its stream is not a terminal; NO_COLOR and FORCE_COLOR are honoured by rich itself).
Tables and results go to stdout; progress, spinners and the lines of a sweep go to stderr, so stdout can be
piped. On the ground floor because a case's spinner (bench.execution) and the tables (bench.display) both use it.
"""

from __future__ import annotations

PIPED_WIDTH = 160


def make_console(stderr: bool = False):
    """A new rich Console on stdout (or stderr): the terminal's width on a terminal, PIPED_WIDTH elsewhere.
    A new one per call: two live displays (a progress bar and a spinner) must not share one console."""
    from rich.console import Console

    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=PIPED_WIDTH)
