"""When each request of a rate level is sent: vLLM's `get_request` arrival process, seeded.

Gaps between requests are gamma-distributed with shape = burstiness and mean 1 / rate:
burstiness 1 is a Poisson process (exponential gaps), below 1 burstier, above 1 more even,
infinite a constant gap. As in vLLM, the cumulative times are then scaled so the last request
is sent at exactly n / rate, which removes the run-to-run spread of the total (1-2%) and
keeps the offered load exactly `rate`. An infinite rate sends everything at once.
"""

from __future__ import annotations

import math
import random


def arrival_offsets_s(n: int, rate_req_s: float, burstiness: float = 1.0, seed: int = 0) -> list[float]:
    """Send times in seconds from the level's start, non-decreasing, one per request."""
    if n < 1:
        return []
    if not rate_req_s > 0:
        raise ValueError(f"request rate must be positive, got {rate_req_s}")
    if not burstiness > 0:
        raise ValueError(f"burstiness must be positive, got {burstiness}")
    if math.isinf(rate_req_s):
        return [0.0] * n
    if math.isinf(burstiness):
        gaps = [1.0 / rate_req_s] * n
    else:
        rng = random.Random(seed)
        theta = 1.0 / (rate_req_s * burstiness)
        gaps = [rng.gammavariate(burstiness, theta) for _ in range(n)]
    offsets, t = [], 0.0
    for g in gaps:
        t += g
        offsets.append(t)
    scale = (n / rate_req_s) / offsets[-1] if offsets[-1] > 0 else 1.0
    return [t * scale for t in offsets]
