"""A serving level's status, from one stated rule (docs/serve.md, "When a level fails"), in this order:

1. the server bench started died during the level: failed (oom when its log's root cause says so);
2. the warm-up failed (its failures above --max-failure-rate, or the time limit came during it): failed
   (timeout when it was the time limit), no measured request sent; the levels after it are not run;
3. no measured request completed: failed;
4. failure_rate above --max-failure-rate: failed (rate-limited ones say so first);
5. the time limit came first (requests left unsent or cancelled): timeout;
6. otherwise ok.
ok is exit 0; every other status is exit 3. A first level whose warm-up an endpoint refused for what the
user gave (the URL, the API, the model name, the key) is bad input instead: exit 2, nothing written.
"""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.core.formats import given
from bench.measure.failures import failure_verdict, failures_text, rate_limit_text, usage_warning
from bench.serve.load import LevelResult

# HTTP statuses that answer what the user gave, not the load: the fix is in the command line
USER_STATUSES = {400: "the endpoint rejected the request: check --api-model, --api and --prompt-format",
                 401: "the endpoint refused the key: check --api-key-env and the key it holds",
                 403: "the endpoint refused the key: check --api-key-env and the key it holds",
                 404: "nothing is served there: check --endpoint, --api (completions or chat) and --api-model",
                 405: "nothing is served there: check --endpoint and --api (completions or chat)",
                 422: "the endpoint rejected the request: check --api-model, --api and --prompt-format"}


def warmup_bad_input(res: LevelResult, url: str) -> BenchError | None:
    """The first level's warm-up, refused for what the user gave (every failure an HTTP status of USER_STATUSES,
    or no connection at all): one line naming the fix; None for a failure of the server (429, 5xx, stalls...)."""
    failed = [r for r in res.warmup if not r.success]
    if not failed or len(failed) < len(res.warmup):
        return None
    first = failed[0]
    n = f"{len(failed)} of {len(res.warmup)} warm-up requests"
    if all(r.error_class == "http" and r.http_status in USER_STATUSES for r in failed):
        return BenchError(f"{url} answered {n} with {first.error}; {USER_STATUSES[first.http_status]}; no row was "
                          "written")
    if all(r.error_class == "connection" for r in failed):
        return BenchError(f"nothing answers at {url}: {n} failed ({first.error}); check --endpoint and that the "
                          "server is running; no row was written")
    return None


def level_status(res: LevelResult, metrics: dict, max_failure_rate: float, timeout_s: float,
                 server_cause: str | None = None) -> tuple[str, str]:
    """(status, error) of a measured level by the module's rule; `server_cause`: the root cause of the local
    server's death, None while it lives (or for an endpoint)."""
    from bench.execution.forensics import looks_like_oom

    if server_cause is not None:
        return ("oom" if looks_like_oom(server_cause) else "failed"), server_cause
    if res.warmup_failed:
        return warmup_status(res, max_failure_rate, timeout_s)
    if not metrics.get("completed"):
        limited = rate_limit_text(res.records)
        text = failures_text(res.records, res.unsent) if res.records else "no request was sent"
        return "failed", f"no request completed: {limited + '; ' if limited else ''}{text}"
    failed = failure_verdict(res.records, res.unsent, max_failure_rate)
    if failed:
        return "failed", failed
    if res.cut:
        return "timeout", (f"the level's time limit of {given(timeout_s)} s came first: "
                           f"{failures_text(res.records, res.unsent)}")
    return "ok", ""


def warmup_status(res: LevelResult, max_failure_rate: float, timeout_s: float) -> tuple[str, str]:
    what = failures_text(res.warmup, 0, "warm-up requests")
    if res.cut:
        return "timeout", (f"the level's time limit of {given(timeout_s)} s came during the warm-up ({what}); no measured "
                           "request was sent, and the levels after it were not run")
    limited = rate_limit_text(res.warmup)
    return "failed", (f"{limited + '; ' if limited else ''}the warm-up failed ({what}, more than --max-failure-rate "
                      f"{given(max_failure_rate)}); no measured request was sent, and the levels after it were not run")


def level_warnings(res: LevelResult, status: str) -> list[str]:
    """What a level's figures stand on that its reader should know: failures within the rule and rate limits (an
    ok level's; any other status's error says them), the server's token counts."""
    notes = []
    failed = [r for r in res.records if not r.success]
    if failed and status == "ok":
        notes.append(f"{failures_text(res.records, res.unsent)}, within --max-failure-rate; the figures are over the "
                     f"{len(res.records) - len(failed)} completed requests only")
    for note in (rate_limit_text(res.records) if status == "ok" else None, usage_warning(res.records), _no_usage(res)):
        if note:
            notes.append(note)
    return notes


def _no_usage(res: LevelResult) -> str | None:
    counted = [r for r in res.records if r.success and r.output_tokens_source == "chunks" and not r.usage_mismatch]
    if not counted:
        return None
    return (f"{len(counted)} completed requests had no usage.completion_tokens in their stream: their output tokens "
            "were counted one per delta (a delta may carry several; with a text dataset, its --tokenizer counts them)")
