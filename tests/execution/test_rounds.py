"""The rounds of --repeats / --until-ci (bench.execution.rounds) and the stopping rule's arithmetic
(bench.measure.uncertainty.meets_target, repeats_needed), hand-computed."""

import pytest

from bench.execution.rounds import UntilCi, in_rounds
from bench.measure import uncertainty


def test_meets_target_by_the_t_interval():
    # [100, 102, 101]: mean 101, s = 1, t(0.975, 2) = 4.303 (table), hw = 4.303 / sqrt(3) = 2.484 = 2.46% of 101
    assert uncertainty.meets_target([100, 102, 101], 2.5)
    assert not uncertainty.meets_target([100, 102, 101], 2.4)
    # [100, 102]: s = 1.414, t(0.975, 1) = 12.706, hw = 12.706 x 1.414 / sqrt(2) = 12.706 = 12.6% of 101
    assert not uncertainty.meets_target([100, 102], 12.5) and uncertainty.meets_target([100, 102], 12.6)
    assert not uncertainty.meets_target([100], 50)  # one run: no interval, never met


def test_repeats_needed_scales_with_the_square_of_the_half_width():
    # 3 runs at +-12% for a +-5% target: 3 x (12 / 5)^2 = 17.28 -> 18
    assert uncertainty.repeats_needed(3, 0.12, 0.05) == 18
    # 4 runs at +-5.5% for +-5%: 4 x 1.21 = 4.84 -> 5
    assert uncertainty.repeats_needed(4, 0.055, 0.05) == 5
    assert uncertainty.repeats_needed(4, 0.03, 0.05) == 4  # already met


def test_rounds_interleave_and_a_case_that_met_its_target_leaves_them():
    until = UntilCi(5.0)
    planned = {"A": [100, 102, 101, 100], "B": [100, 120, 80, 110]}
    ran = []
    for r, case in in_rounds(["A", "B"], lambda c: 4, lambda c: c, until):
        ran.append((case, r))
        until.add(case, {"status": "ok", "output_tok_s": planned[case][r]})
    # A meets +-5% after 3 runs (+-2.46%, above); B's 4 runs are +-26.5%: mean 102.5, s 17.08, 3.182 x 17.08 / 2
    assert ran == [("A", 0), ("B", 0), ("A", 1), ("B", 1), ("A", 2), ("B", 2), ("B", 3)]
    assert until.summary("A") == "until-ci 5%: 3 runs, output tok/s +-2.5% (95% t): met"
    assert until.summary("B") == "until-ci 5%: 4 runs, output tok/s +-27% (95% t): not met at the cap"


def test_without_a_target_every_case_runs_to_its_cap_and_failed_runs_do_not_count():
    until = UntilCi(None)
    ran = [(c, r) for r, c in in_rounds(["A", "B"], lambda c: {"A": 2, "B": 3}[c], lambda c: c, until)]
    assert ran == [("A", 0), ("B", 0), ("A", 1), ("B", 1), ("B", 2)]
    until = UntilCi(50.0)
    for _ in range(3):
        until.add("A", {"status": "failed", "output_tok_s": None})
    assert until.values == {} and not until.met("A")


def test_rel_half_width_of_the_stopping_rule_is_the_interval_of_uncertainty():
    iv = uncertainty.t_interval([100, 102, 101])
    assert iv.rel_half_width == pytest.approx(4.302653 / 3 ** 0.5 / 101, rel=1e-6)
