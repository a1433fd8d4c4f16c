"""Numbers as text for people: one format per kind, used by the terminal, Markdown and HTML alike. Pure.

One convention for every kind: three significant digits, and from 100 up the whole number with thousands
separators (a figure bench prints is a measurement or an estimate, good to a few percent at best; more digits
would claim a precision it does not have, fewer would hide a 1% change). Each kind adds only its own mark:

    num     12.5 -> '12.5'       0.01234 -> '0.0123'    1234.5 -> '1,234'
    cny     12.5 -> '12.5'       (a CNY amount; the unit is said beside it, 'CNY/M', 'CNY/month')
    ms      52.34 -> '52.3'      (milliseconds; the unit is said beside it)
    tokens  2.4e9 -> '2.4G'      (SI prefixes k, M, G, T)
    si      3.35e12, 'B/s' -> '3.35 TB/s'
    pct     0.1234 -> '12.3%'    signed: '+12.3%'
    ratio   1.114 -> '1.11x'     dearer_or_cheaper: '1.11x dearer', '2x cheaper'
    given   0.0015 -> '0.0015'   (a figure the user gave or a source quoted, echoed as written, not rounded)

Token counts take the SI prefixes (k, M, G, T), not the English short scale (k, M, B, T): k and M are SI
already, so G and T continue the same series, and in bench "B" means bytes (KV B/token, GB, TB/s), so "2.4B"
beside byte figures would read as 2.4 bytes. Missing values (None, NaN, '') print as '-'. Never used for JSON or
CSV data cells: those keep the raw number.
"""

from __future__ import annotations

import math

MISSING = "-"
SIGNIFICANT = 3


def _missing(x) -> bool:
    return x is None or x == "" or (isinstance(x, float) and math.isnan(x))


def num(x, digits: int = SIGNIFICANT) -> str:
    """A number for people: `digits` significant digits, the whole number with thousands separators from
    10**(digits-1) up; ints as they are, with separators; '-' for None, NaN or ''; 'inf' for infinity; a string
    unchanged; below 0.0001 in scientific notation.

    >>> [num(x) for x in (12.5, 2.0, 0.01234, 123.4, 999.6, 1234.5, 12345, 0.00001234, None, math.inf)]
    ['12.5', '2', '0.0123', '123', '1,000', '1,234', '12,345', '1.23e-05', '-', 'inf']
    """
    if _missing(x):
        return MISSING
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    a = abs(x)
    if a == 0:
        return "0"
    if a >= 10 ** (digits - 1):  # also keeps 999.6 from reading '1e+03'
        return f"{x:,.0f}"
    return f"{x:.{digits}g}" if a >= 1e-4 else f"{x:.2e}"


def cny(x: float | None) -> str:
    """A CNY amount (per hour, per million tokens, per month): `num`'s convention.

    >>> [cny(x) for x in (12.5, 1.5, 0.123, 20000.0, 0.0, None)]
    ['12.5', '1.5', '0.123', '20,000', '0', '-']
    """
    return num(x)


def ms(x: float | None) -> str:
    """Milliseconds (TTFT, TPOT, ITL, E2E): `num`'s convention, the unit said beside it.

    >>> [ms(x) for x in (5.234, 52.34, 523.4, 1234.5, None)]
    ['5.23', '52.3', '523', '1,234', '-']
    """
    return num(x)


# SI prefixes from the largest down; a value under 1,000 has none.
SI_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _si_parts(x: float) -> tuple[str, str]:
    """(mantissa text, prefix): the prefix chosen after rounding to SIGNIFICANT digits, so 999,960 is '1', 'M'."""
    rounded = float(f"{x:.{SIGNIFICANT}g}")
    for scale, prefix in SI_PREFIXES:
        if abs(rounded) >= scale:
            return num(rounded / scale), prefix
    return num(rounded), ""


def tokens(x: float | None) -> str:
    """A count with an SI prefix and no unit (tokens, tokens a day, requests a minute): 3 significant digits.

    >>> [tokens(x) for x in (950, 30_100, 1_250_000, 2.4e9, 1.5e12, 999_960, None, math.inf)]
    ['950', '30.1k', '1.25M', '2.4G', '1.5T', '1M', '-', 'inf']
    """
    if _missing(x):
        return MISSING
    if math.isinf(x):
        return num(x)
    mantissa, prefix = _si_parts(x)
    return mantissa + prefix


def si(x: float | None, unit: str) -> str:
    """A physical quantity with an SI prefix before its unit (FLOPS, bytes, bytes a second): 3 significant digits.

    >>> [si(x, u) for x, u in ((989e12, "FLOPS"), (3.35e12, "B/s"), (14.2e9, "B"), (512, "B"), (None, "B"))]
    ['989 TFLOPS', '3.35 TB/s', '14.2 GB', '512 B', '-']
    """
    if _missing(x):
        return MISSING
    if math.isinf(x):
        return f"{num(x)} {unit}"
    mantissa, prefix = _si_parts(x)
    return f"{mantissa} {prefix}{unit}"


def pct(x: float | None, signed: bool = False) -> str:
    """A fraction as a percentage: 100·x in `num`'s convention; `signed` puts '+' before a rise (a change).

    >>> [pct(x) for x in (0.1234, 1.0, 0.05, 0.288, 0.0001234, None)]
    ['12.3%', '100%', '5%', '28.8%', '0.0123%', '-']
    >>> [pct(x, signed=True) for x in (0.1234, -0.05, 0.0, math.inf)]
    ['+12.3%', '-5%', '0%', '+inf%']
    """
    if _missing(x):
        return MISSING
    text = num(100 * x) + "%"
    return f"+{text}" if signed and x > 0 else text


def ratio(x: float | None) -> str:
    """A ratio of two like figures: `num`'s convention and 'x'.

    >>> [ratio(x) for x in (1.114, 2.0, 0.54, 12.34, None)]
    ['1.11x', '2x', '0.54x', '12.3x', '-']
    """
    if _missing(x):
        return MISSING
    return num(x) + "x"


def dearer_or_cheaper(self_over_other: float) -> str:
    """A cost ratio as words: above 1 how many times dearer, below it how many times cheaper (1/x); the ends
    say what they mean.

    >>> [dearer_or_cheaper(x) for x in (1.114, 1.0, 0.5, 0.0, math.inf)]
    ['1.11x dearer', '1x dearer', '2x cheaper', 'free to run', 'the other is free']
    """
    if math.isinf(self_over_other):
        return "the other is free"
    if self_over_other == 0:
        return "free to run"
    if self_over_other >= 1:
        return f"{ratio(self_over_other)} dearer"
    return f"{ratio(1 / self_over_other)} cheaper"


def given(x: float) -> str:
    """A figure the user gave or a source quoted (a listed price, an FX rate, a target, a mix part), echoed as
    written rather than rounded: up to 6 significant digits, no trailing zeros.

    >>> [given(x) for x in (0.8, 7.2, 0.0015, 30.0, 1234567.0)]
    ['0.8', '7.2', '0.0015', '30', '1.23457e+06']
    """
    return f"{x:g}"


def cell(v) -> str:
    """A table cell: a string as it is, anything else through `num`.

    >>> [cell(v) for v in ("a|b", 12.5, None, 3)]
    ['a|b', '12.5', '-', '3']
    """
    return num(v) if not isinstance(v, str) else v
