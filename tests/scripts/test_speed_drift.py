"""scripts/speed_drift.py's arithmetic: the rank correlation it prints, on hand-made series. No server, no vllm."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "speed_drift.py"
spec = importlib.util.spec_from_file_location("speed_drift", SCRIPT)
sd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sd)


def test_ranks_and_the_rank_correlation_by_hand():
    assert sd.ranks([3.5, 1.0, 2.2]) == [2.0, 0.0, 1.0]
    tpot = [3.0, 4.0, 5.0, 6.0]
    assert sd.spearman(tpot, [1.0, 2.0, 9.0, 10.0]) == pytest.approx(1.0)  # same order, any spacing
    assert sd.spearman(tpot, [10.0, 9.0, 2.0, 1.0]) == pytest.approx(-1.0)
    # ranks 0 1 2 3 against 1 0 3 2: d = 1, 1, 1, 1; 1 - 6 x 4 / (4 x 15) = 0.6
    assert sd.spearman(tpot, [2.0, 1.0, 4.0, 3.0]) == pytest.approx(0.6)
