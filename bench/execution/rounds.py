"""Repeats in rounds: every case once per round (A r0, B r0, A r1, B r1, ...), so drift over a session hits every
case alike, and with --until-ci PCT a case leaves the rounds once the 95% t-interval of its headline figure is
within +-PCT% of its mean (bench.measure.uncertainty.meets_target); --repeats N caps the rounds.

The headline figure is output tok/s for bench run, bench sweep and bench serve alike: the throughput every cost
figure is priced from (CNY/M = hourly price / throughput). Only ok rows count; a case whose runs fail never meets
the target and runs to the cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.measure import uncertainty

HEADLINE = "output_tok_s"


@dataclass
class UntilCi:
    """The stopping rule of --until-ci: the headline figures each case has so far, and which cases are done."""

    target_pct: float | None  # None: no target, every case runs to its cap
    targets: dict = field(default_factory=dict)  # case key -> its own target (a sweep's cases), over target_pct
    values: dict = field(default_factory=dict)  # case key -> headline figures of its ok rows

    def target(self, key) -> float | None:
        return self.targets.get(key, self.target_pct)

    def add(self, key, row: dict) -> None:
        v = row.get(HEADLINE)
        if row.get("status") == "ok" and isinstance(v, (int, float)) and v > 0:
            self.values.setdefault(key, []).append(float(v))

    def met(self, key) -> bool:
        pct = self.target(key)
        return pct is not None and uncertainty.meets_target(self.values.get(key, []), pct)

    def summary(self, key) -> str:
        """'3 runs: +-2.1% (target 5%): met' or 'cap reached at +-7.4% ...' for the case's last line."""
        xs, pct = self.values.get(key, []), self.target(key)
        if pct is None:
            return ""
        if len(xs) < 2:
            return f"until-ci {pct:g}%: {len(xs)} ok run(s), no interval"
        rel = uncertainty.t_interval(xs).rel_half_width
        word = "met" if self.met(key) else "not met at the cap"
        return f"until-ci {pct:g}%: {len(xs)} runs, output tok/s +-{100 * rel:.2g}% (95% t): {word}"


def in_rounds(cases, repeats_of, key_of, until: UntilCi):
    """(round, case) for each case in each round below its cap (repeats_of(case)), lazily: a case is skipped
    once `until` says it met its target, which it can only have done from its rounds before (each is recorded
    before the next is asked for)."""
    rounds = max((repeats_of(c) for c in cases), default=1)
    for r in range(rounds):
        for c in cases:
            if r < repeats_of(c) and not (r > 0 and until.met(key_of(c))):
                yield r, c


def planned_until(cases) -> UntilCi | None:
    """The rule for a sweep's planned cases (bench.config.sweep.PlannedCase), each with its own until_ci; None when
    no case has one."""
    targets = {c.key: c.cfg.until_ci for c in cases if c.cfg.until_ci is not None}
    return UntilCi(None, targets) if targets else None


def still_wanted(case, until: UntilCi | None) -> bool:
    """Whether a sweep's planned case (its repeat_index set) still runs: a first run always does, a repeat unless
    its case met its target in the rounds before."""
    return until is None or case.cfg.repeat_index == 0 or not until.met(case.key)


def by_round(cases) -> list[list]:
    """A sweep's interleaved cases as its rounds (by repeat_index, in order)."""
    rounds: dict[int, list] = {}
    for c in cases:
        rounds.setdefault(c.cfg.repeat_index, []).append(c)
    return [rounds[r] for r in sorted(rounds)]
