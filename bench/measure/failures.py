"""Why a serving level's requests failed, whether the server's token counts can be right, and whether the
level passed: pure functions over the request records (docs/serve.md, "When a level fails").

Error classes of a failed request (StreamedRequest.error_class):
  http        the server answered with a status other than 200 (`rate_limited`: the 429s among them; a 429's
              Retry-After is recorded on the request, never waited for: the 429 is the answer to the load)
  connection  no connection, or it broke (refused, reset, cut in the middle of a stream)
  timeout     no byte for --stall-timeout seconds
  stream      a 200 whose stream was wrong: malformed, an error event, ended without [DONE] or a
              finish_reason, no output at all
  cancelled   cut short by the level's time limit (--timeout) or a signal: not the server's doing
A level fails when failure_rate = failed requests other than cancelled ones / requests sent other than
cancelled ones is above --max-failure-rate (default 0.01, the 99% of the SLO attainment convention).

The server's token count (usage.completion_tokens, per chunk and at the end) is checked against the stream
(usage_problem): a count that is negative, goes down, exceeds the request's max_tokens, is 0 for a stream that
carried output, or exceeds twice the tokens streamed (the local tokenizer's count of the deltas where one is
given, else the server's own per-chunk counts where it counted every delta, else one per delta) cannot be
right. Such a request keeps its timings; its output tokens are the streamed count, and it is counted in
`usage_mismatch` (not a failure: the figures stand on what was streamed).
"""

from __future__ import annotations

import collections
from typing import Iterable

from bench.core.formats import given, pct

CLASSES = ("http", "connection", "timeout", "stream", "cancelled")
COLUMN_OF = {"http": "errors_http", "connection": "errors_connection", "timeout": "errors_timeout",
             "stream": "errors_stream", "cancelled": "cancelled"}
DEFAULT_MAX_FAILURE_RATE = 0.01
RATE_LIMITED_STATUS = 429
# a count above this many times the streamed tokens is not believed (a delta may carry a few coalesced tokens)
USAGE_STREAMED_FACTOR = 2


def failure_figures(records: Iterable) -> dict:
    """The level's failures by class, its 429s, its usage mismatches and its failure rate (results columns)."""
    records = list(records)
    failed = [r for r in records if not r.success]
    by_class = collections.Counter(r.error_class or "stream" for r in failed)
    counted = [r for r in records if r.error_class != "cancelled"]
    counted_failed = sum(1 for r in counted if not r.success)
    return {
        **{COLUMN_OF[c]: by_class.get(c, 0) for c in CLASSES},
        "rate_limited": sum(1 for r in failed if r.http_status == RATE_LIMITED_STATUS),
        "usage_mismatch": sum(1 for r in records if r.success and r.usage_mismatch),
        "failure_rate": counted_failed / len(counted) if counted else None,
    }


def usage_problem(seen: list, total, streamed: int, max_tokens: int | None) -> str:
    """Why a stream's usage.completion_tokens cannot be right, or "" when it can.

    `seen`: every completion_tokens value the stream carried, in order (per chunk with vLLM's
    continuous_usage_stats, else the final one); `total`: the last; `streamed`: the output tokens the stream
    showed: the local tokenizer's count of the deltas' text where one is given, else the server's own per-chunk
    counts where it counted every delta (a coalesced chunk carries several tokens), else one per delta.
    E.g. seen [1, 2, 3], max_tokens 8, 3 streamed -> ""; seen [80], max_tokens 8 -> "80 tokens reported, more than
    max_tokens 8"; seen [1, 2, 8] (a final count the chunks never showed), 2 streamed -> "8 tokens reported, more
    than 2x the 2 streamed"."""
    for v in seen:
        if isinstance(v, bool) or not isinstance(v, int):
            return f"{v!r} is not a token count"
        if v < 0:
            return f"a negative count ({v})"
    for a, b in zip(seen, seen[1:]):
        if b < a:
            return f"a decreasing count ({b} after {a})"
    if total is None:
        return ""
    if total == 0 and streamed > 0:
        return f"0 tokens reported, {streamed} streamed"
    if max_tokens is not None and total > max_tokens:
        return f"{total} tokens reported, more than max_tokens {max_tokens}"
    if total > USAGE_STREAMED_FACTOR * streamed:
        return f"{total} tokens reported, more than {USAGE_STREAMED_FACTOR}x the {streamed} streamed"
    return ""


def most_common_error(failed: list) -> tuple[str, int]:
    """The most frequent error text among failed requests, and how many had it."""
    errors = collections.Counter(r.error for r in failed if r.error)
    return errors.most_common(1)[0] if errors else ("", 0)


def class_counts_text(failed: list) -> str:
    """'8 http (4 rate-limited), 4 connection': the classes of the failed requests, most frequent first."""
    counts = collections.Counter(r.error_class or "stream" for r in failed)
    limited = sum(1 for r in failed if r.http_status == RATE_LIMITED_STATUS)
    parts = []
    for cls, n in counts.most_common():
        parts.append(f"{n} {cls}" + (f" ({limited} rate-limited)" if cls == "http" and limited else ""))
    return ", ".join(parts)


def failures_text(records: list, unsent: int, what: str = "requests sent") -> str:
    """'12 of 16 requests sent failed (8 http, 4 connection; most often: HTTP 500 ... (8)); 48 never sent'."""
    failed = [r for r in records if not r.success]
    text, n = most_common_error(failed)
    head = f"{len(failed)} of {len(records)} {what} failed"
    if failed:
        head += f" ({class_counts_text(failed)}; most often: {text} ({n}))"
    return head + (f"; {unsent} never sent" if unsent else "")


def rate_limit_text(records: list) -> str | None:
    """A level the server rate-limited says so: how many 429s, and the largest Retry-After asked."""
    limited = [r for r in records if not r.success and r.http_status == RATE_LIMITED_STATUS]
    if not limited:
        return None
    waits = [r.retry_after_s for r in limited if r.retry_after_s is not None]
    asked = f", Retry-After up to {given(max(waits))} s (recorded, not waited for)" if waits else ", no Retry-After"
    return f"rate-limited: {len(limited)} of {len(records)} requests answered HTTP 429{asked}"


def usage_warning(records: list) -> str | None:
    bad = [r for r in records if r.success and r.usage_mismatch]
    if not bad:
        return None
    return (f"{len(bad)} of {sum(1 for r in records if r.success)} completed requests: the server's "
            f"usage.completion_tokens cannot be right (first: {bad[0].usage_mismatch}); their streamed token "
            f"counts were used instead (usage_mismatch)")


def failure_verdict(records: list, unsent: int, max_failure_rate: float) -> str | None:
    """The error of a level whose failure rate is above the rule, else None."""
    figures = failure_figures(records)
    rate = figures["failure_rate"]
    if rate is None or rate <= max_failure_rate:
        return None
    limited = rate_limit_text(records)
    why = f"failure rate {pct(rate)} > --max-failure-rate {given(max_failure_rate)}: {failures_text(records, unsent)}"
    return f"{limited}; {why}" if limited else why
