"""Which vendors a model is compared with: its like-for-like API models by default (models.yaml
compare_with, each with its stated basis), every price in force with `all`, or the ones named."""

from __future__ import annotations

import datetime as dt

from bench.config.prices import PriceBook, VendorPrice, in_force

ALL = "all"


def wants_all(names: list[str] | tuple[str, ...] | None) -> bool:
    return bool(names) and [n.strip().lower() for n in names] == [ALL]


def like_for_like(model_name: str) -> tuple[tuple[str, str], ...]:
    """(prices.yaml model name, basis) pairs of a catalog model; () for a model outside the catalog."""
    from bench.config import catalog
    from bench.core.errors import BenchError

    try:
        return catalog.resolve_model(model_name).compare_with
    except BenchError:
        return ()


def vendors_for(model_name: str, names, as_of: dt.date, book: PriceBook) -> tuple[list[tuple[VendorPrice, str]],
                                                                                    list[str]]:
    """(price, why it stands against the model) in force on `as_of`, and notes on what was left out.
    names None: the model's like-for-like list; ['all']: every price in force; else the named vendors or
    models (BenchError with did-you-mean on an unknown one)."""
    if wants_all(names):
        return [(p, "") for p in in_force(book, as_of).prices], []
    if names:
        return [(p, "") for p in in_force(book, as_of, list(names)).prices], []
    pairs = like_for_like(model_name)
    if not pairs:
        return [], [f"{model_name} has no like-for-like API models in models.yaml (compare_with); "
                    "--vendors all compares every vendor"]
    now = {p.model.lower(): p for p in in_force(book, as_of).prices}
    found, notes = [], []
    for name, why in pairs:
        p = now.get(name.lower())
        if p is None:
            notes.append(f"{name} (like-for-like for {model_name}) {_why_not_in_force(book, name, as_of)}")
        else:
            found.append((p, why))
    return found, notes


def _why_not_in_force(book: PriceBook, name: str, as_of: dt.date) -> str:
    """'was retired after DAY' when every row of the API model ended before `as_of` (the vendor stopped serving the
    name: models.yaml keeps it for plans of earlier days), else 'has no price in force on DAY'."""
    ends = [p.applies_to for p in book.prices if p.model.lower() == name.lower()]
    if ends and None not in ends and max(ends) < as_of:
        return f"was retired after {max(ends)}: no price in force on {as_of}"
    return f"has no price in force on {as_of}"


def marks(price: VendorPrice) -> str:
    """'free', 'rate-limited', 'free, rate-limited' or '': a free model, and a tier with a per-key rate limit
    (rpm/tpm in prices.yaml, or a rate limit its notes state)."""
    limited = bool(price.rpm or price.tpm) or "rate-limit" in price.notes.lower()
    return ", ".join(m for m, on in (("free", price.free), ("rate-limited", limited)) if on)
