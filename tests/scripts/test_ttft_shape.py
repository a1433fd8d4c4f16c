"""scripts/ttft_shape.py: the gap ratio of a TTFT spread and the exponential mean it implies, on hand-made TTFTs.
No server, no vllm."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ttft_shape.py"
spec = importlib.util.spec_from_file_location("ttft_shape", SCRIPT)
ts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ts)


def test_an_exponential_spread_gives_its_ratio_and_mean():
    """TTFT = 15 ms + 3 ms x the exponential's quantiles at (i + 0.5) / 2000: p50 - p10 = 3 ln(2/(10/9)) = 1.763 ms,
    p90 - p50 = 3 ln 5 = 4.828 ms, ratio 2.74, both gaps imply a mean of 3 ms."""
    ttfts = [15.0 - 3.0 * math.log(1 - (i + 0.5) / 2000) for i in range(2000)]
    s = ts.shape(ttfts)
    assert s["p90"] - s["p50"] == pytest.approx(3 * math.log(5), rel=2e-3)
    assert s["p50"] - s["p10"] == pytest.approx(3 * math.log(1.8), rel=2e-3)
    assert s["ratio"] == pytest.approx(math.log(5) / math.log(1.8), rel=3e-3)
    assert (s["mean_upper_ms"], s["mean_lower_ms"]) == pytest.approx((3.0, 3.0), rel=3e-3)


def test_a_uniform_spread_is_symmetric_and_a_fixed_one_has_no_ratio():
    """Uniform on [10, 20] ms: p10 11, p50 15, p90 19: ratio 1.0. Equal TTFTs: p50 = p10, ratio inf."""
    s = ts.shape([10.0 + 10.0 * i / 1000 for i in range(1001)])
    assert (s["p10"], s["p50"], s["p90"], s["ratio"]) == pytest.approx((11.0, 15.0, 19.0, 1.0))
    assert ts.shape([12.0] * 20)["ratio"] == math.inf


def test_requests_whose_reads_carried_several_tokens_are_left_out():
    reqs = [{"ttft_s": 0.015, "chunk_tokens": [1, 1, 1]}, {"ttft_s": 0.140, "chunk_tokens": [32]},
            {"ttft_s": 0.020, "chunk_tokens": [1, 2]}, {"ttft_s": 0.017}]
    assert ts.streamed_ttfts_ms(reqs) == pytest.approx([15.0, 17.0])
