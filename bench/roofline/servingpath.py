"""The serving path's own host cost: what the API server and the client spend per streamed token, per step and per
request, beside the engine. Pure, no I/O.

A served token costs more than the engine's step: vLLM's OpenAI front end (a separate process) turns each step's
outputs into one SSE event per stream (detokenising, JSON, HTTP), and the client parses them; each new request is
parsed, tokenised and set up. An offline calibration (`bench run` rows) never sees this. Its parameters:

    stream_token_s    host seconds per streamed token (one stream's token of one step)
    stream_step_s     host seconds per engine step that streams anything (the front end wakes once per step's
                      outputs, whatever their number)
    stream_request_s  host seconds per request (HTTP request, tokenising, set-up), charged to the step that admits it

A step that streams n tokens and admits a new requests has host_s = stream_step_s [n > 0] + n x stream_token_s +
a x stream_request_s. Where the front end shares the engine's cores (vLLM's CPU build: the API server, the client
and the engine's threads on the same few cores) that time is taken from the engine: the step lasts engine_s + host_s.
Where it has cores of its own (a GPU box: the engine waits on the GPU, the front end runs on other host cores) it
overlaps the step and shows only where it is longer: max(engine_s, host_s). Which one holds is a stated property
(`shares_cores`; None: as the hardware says, shared on a CPU entry, own cores on a GPU), never a fitted one.

With every parameter 0 (profiles written before the term, and any profile that does not measure it) the step is
the engine's, and every prediction is what it was.

The fit (fit_nonnegative): least squares of the relative misses of given served figures (measured - predicted with
the term at 0) on each parameter's effect on them (the predicted change per second of the parameter), every
parameter >= 0. bench.serve.servingfit supplies the figures from served rows: never the rows a validation checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np

PARAMETERS = ("stream_token_s", "stream_step_s", "stream_request_s")
UPPER_S = 1.0  # a second of host time per token, step or request: beyond anything physical
ASSUMED = "assumed: 0 (not measured)"


@dataclass(frozen=True)
class ServingPath:
    """The serving path's host cost (module doc); `source` says where the figures came from (assumed / measured)."""

    stream_token_s: float = 0.0
    stream_step_s: float = 0.0
    stream_request_s: float = 0.0
    shares_cores: bool | None = None  # None: as the hardware says (shares_cores_on)
    source: str = ASSUMED

    def __post_init__(self):
        for name in PARAMETERS:
            v = getattr(self, name)
            if not (0.0 <= v <= UPPER_S):
                raise ValueError(f"serving parameter {name} = {v} is outside its range [0, {UPPER_S}] seconds")

    @property
    def is_zero(self) -> bool:
        return not any(getattr(self, name) for name in PARAMETERS)

    def host_s(self, streamed_tokens: int, admitted_requests: int) -> float:
        """The front end's seconds for one step that streams `streamed_tokens` and admits `admitted_requests`."""
        return (self.stream_step_s * (streamed_tokens > 0) + self.stream_token_s * streamed_tokens
                + self.stream_request_s * admitted_requests)

    def step_s(self, engine_s: float, streamed_tokens: int, admitted_requests: int, shared: bool) -> float:
        """A served step's seconds: the engine's plus the front end's on shared cores, else the longer of the two."""
        host = self.host_s(streamed_tokens, admitted_requests)
        return engine_s + host if shared else max(engine_s, host)

    def with_values(self, **values) -> "ServingPath":
        return replace(self, **values)

    def as_dict(self) -> dict:
        out = {k: float(f"{v:.6g}") for k, v in asdict(self).items() if k in PARAMETERS}
        return {**out, "shares_cores": self.shares_cores, "source": self.source}


def from_dict(raw: dict) -> ServingPath:
    """A profile's `serving:` mapping; ValueError naming an unknown key or a value out of range."""
    if not isinstance(raw, dict):
        raise ValueError("serving: not a mapping")
    known = {f.name for f in fields(ServingPath)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"serving: unknown key {unknown[0]} (known: {', '.join(sorted(known))})")
    shares = raw.get("shares_cores")
    if shares is not None and not isinstance(shares, bool):
        raise ValueError("serving: shares_cores is true, false or null (null: as the hardware says)")
    return ServingPath(**{k: float(raw.get(k) or 0.0) for k in PARAMETERS}, shares_cores=shares,
                       source=str(raw.get("source") or ASSUMED))


def shares_cores_on(path: ServingPath, host_cores: bool) -> bool:
    """Whether the front end takes its time from the engine's: as the path states it, else as the hardware is
    (`host_cores`: the engine runs on the host's CPU cores, a CPU entry)."""
    return path.shares_cores if path.shares_cores is not None else host_cores


def fit_nonnegative(misses: list[float], effects: list[list[float]]) -> list[float]:
    """Least squares x >= 0 of effects @ x = misses (one row per figure: its miss, and each parameter's effect on it
    per unit of the parameter). The parameters are few (one to three), so every subset of them is solved without the
    bound, the others at 0; the answer is the subset whose solution is non-negative and fits best (none: all 0)."""
    a = np.asarray(effects, dtype=float)
    b = np.asarray(misses, dtype=float)
    k = a.shape[1]
    best, best_err = np.zeros(k), float(b @ b)
    for mask in range(1, 2**k):
        cols = [j for j in range(k) if mask >> j & 1]
        sub = a[:, cols]
        if np.linalg.matrix_rank(sub) < len(cols):
            continue
        sol, *_ = np.linalg.lstsq(sub, b, rcond=None)
        if (sol < 0).any():
            continue
        x = np.zeros(k)
        x[cols] = sol
        err = float(np.sum((a @ x - b) ** 2))
        if err < best_err - 1e-18:
            best, best_err = x, err
    return [float(v) for v in best]
