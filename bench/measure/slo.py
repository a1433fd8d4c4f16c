"""A latency target (service-level objective), one type for every command that takes one.

`bench serve` judges each streamed request by it (`is_good`) and a load level by the share of good requests
(`attainment`); `bench cost`, `report` and `plan` find the batch whose measured `percentile` latencies meet it
(bench.analysis.frontier). The options that set it are declared once, in bench.config.pricing.SloOptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bench.core import formats


class Timed(Protocol):
    """What `is_good` reads of a request (bench.measure.streaming.StreamedRequest)."""

    success: bool
    ttft_s: float | None
    tpot_s: float | None

    @property
    def tpot_unmeasured(self) -> bool: ...


@dataclass(frozen=True)
class Slo:
    """A request is good when it completed within both limits (a limit left None holds for any value)."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    # results rows hold p50 and p99 latencies: the percentile the limits apply to when rows are compared with them
    percentile: int = field(default=99, kw_only=True)
    # share of a serve level's requests that must be good for the level to meet the SLO
    attainment: float = field(default=0.9, kw_only=True)

    @property
    def given(self) -> bool:
        return self.ttft_ms is not None or self.tpot_ms is not None

    def is_good(self, r: Timed) -> bool:
        if not r.success:
            return False
        if self.ttft_ms is not None and (r.ttft_s is None or r.ttft_s * 1000.0 > self.ttft_ms):
            return False
        if self.tpot_ms is None:
            return True
        if r.tpot_unmeasured:  # all tokens at once: the TPOT cannot be shown to be within the limit
            return False
        tpot_ms = (r.tpot_s or 0.0) * 1000.0  # vLLM: a one-token output has TPOT 0 for goodput
        return tpot_ms <= self.tpot_ms

    def text(self) -> str:
        parts = [f"TTFT p{self.percentile} <= {formats.given(self.ttft_ms)} ms" if self.ttft_ms is not None else "",
                 f"TPOT p{self.percentile} <= {formats.given(self.tpot_ms)} ms" if self.tpot_ms is not None else ""]
        return " and ".join(p for p in parts if p) or "no latency target"
