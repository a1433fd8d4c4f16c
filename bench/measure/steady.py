"""Throughput over a serving level's steady state: ramp-up and drain left out, their windows recorded. Pure.

Times are from the level's start (the first request sent), on the client's clock.
- Ramp-up: from the start until the first request completes. Until then every request in the server is still in its
  first pass through it (the in-flight count only grows: an open loop's arrivals have no departures to balance them,
  a closed loop's C streams all sit in their first request).
- Drain: from the last request sent to the level's end. After it nothing arrives, so the in-flight count only falls.
- The steady window is [first completion, last send]; when the last send comes first (a level of few requests, or a
  concurrency as large as the requests) there is none and the steady figures stay empty.
Within the window each output token counts at its own arrival: a request's first delivery (its chunk_tokens[0]
tokens) at start + TTFT, each later token after its inter-token gap (bench.measure.streaming.itl_per_token_s);
a prompt counts when its first token arrives (its prefill has run); a request counts as completed when it ends.
Completed requests only, as the whole-level figures.
"""

from __future__ import annotations

from itertools import accumulate


def token_times_s(r) -> list[float]:
    """Arrival of each output token of a completed request, from the level's start."""
    if r.ttft_s is None:
        return []
    first = r.start_s + r.ttft_s
    n_first = r.chunk_tokens[0] if r.chunk_tokens else max(r.output_len - len(r.itl_s), 1)
    return [first] * n_first + [first + t for t in accumulate(r.itl_s)]


def steady_window_s(records: list) -> tuple[float | None, float | None]:
    """(end of the ramp-up, start of the drain): the first completion and the last send; (start, None) when the
    last send is not after the first completion, (None, None) when nothing completed."""
    ends = [r.end_s for r in records if r.success and r.end_s is not None]
    if not ends:
        return None, None
    start, end = min(ends), max(r.start_s for r in records)
    return start, (end if end > start else None)


def steady_figures(records: list) -> dict:
    """steady_start_s, steady_end_s and the throughput over the window between them (module doc), as results
    columns."""
    start, end = steady_window_s(records)
    out = {"steady_start_s": start, "steady_end_s": end, "steady_output_tok_s": None, "steady_total_tok_s": None,
           "steady_requests_per_s": None}
    if start is None or end is None:
        return out
    span = end - start
    ok = [r for r in records if r.success]
    output = sum(1 for r in ok for t in token_times_s(r) if start <= t <= end)
    prompts = sum(r.prompt_len for r in ok if r.ttft_s is not None and start <= r.start_s + r.ttft_s <= end)
    done = sum(1 for r in ok if r.end_s is not None and start <= r.end_s <= end)
    out.update(steady_output_tok_s=output / span, steady_total_tok_s=(output + prompts) / span,
               steady_requests_per_s=done / span)
    return out
