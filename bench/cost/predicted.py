"""What a cost from a predicted row (`bench run --engine sim`) rests on: the calibration that timed it, and the
same cost at the roofline bound beside it. Pure functions; one place reads the sim row's prediction fields.

A sim row is timed by the expected value (`--sim-timing expected`, the default: the efficiency model with a
calibration, named in `prediction_calibration` and after the '+' of `engine_version`) or by the bound
(`--sim-timing bound`). At one hourly price a run's cost is proportional to its time, and its time to 1 /
throughput, so the cost at the bound = the cost x output_tok_s / roofline_output_tok_s (the row's speed over the
bound's, at most 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.config.engines import is_predicted

BOUND = "roofline bound"


@dataclass(frozen=True)
class Prediction:
    calibration: str  # "published-fit-3", a user profile's name, or "roofline bound" (timed at the bound)
    bound_share: float | None  # the row's tok/s / the bound's (None: timed at the bound, or no bound recorded)

    @property
    def label(self) -> str:
        """'predicted (calibration published-fit-3)' or 'predicted (roofline bound)'."""
        return f"predicted ({BOUND})" if self.calibration == BOUND else f"predicted (calibration {self.calibration})"

    def at_bound(self, cny_per_m: float | None) -> float | None:
        """The same CNY/M at the bound: cny_per_m x bound_share (module doc); None when there is none."""
        return None if cny_per_m is None or self.bound_share is None else cny_per_m * self.bound_share


def prediction_of(row: dict) -> Prediction | None:
    """A sim row's Prediction; None for a measured row (any other engine)."""
    if not is_predicted(str(row.get("engine") or "")):
        return None
    version = str(row.get("engine_version") or "")
    named = str(row.get("prediction_calibration") or "") or version.partition("+")[2]
    speed, bound = row.get("output_tok_s"), row.get("roofline_output_tok_s")
    share = speed / bound if speed and bound else None
    expected = "+" in version or (bool(named) and share is not None and abs(share - 1.0) > 1e-6)
    if not expected or not named:
        return Prediction(BOUND, None)
    return Prediction(named, share)
