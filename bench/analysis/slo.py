"""Which serving level to buy: the cheapest one that meets the SLO. Pure; reads rows only."""

from __future__ import annotations

import math


def cost_of(row: dict) -> float | None:
    """The figure levels are compared on: blended CNY/M at the default mix, else CNY/M of any token."""
    for k in ("cny_per_m_blended", "cny_per_m_total"):
        v = row.get(k)
        if v is not None and v != "" and math.isfinite(float(v)):
            return float(v)
    return None


def cheapest_meeting_slo(rows: list[dict]) -> dict | None:
    """The ok level with the lowest cost among those that meet the SLO (all ok levels when no SLO was given)."""
    slo_given = any(r.get("meets_slo") is not None for r in rows)
    fit = [r for r in rows if r.get("status") == "ok" and cost_of(r) is not None
           and (r.get("meets_slo") is True or not slo_given)]
    return min(fit, key=cost_of) if fit else None
