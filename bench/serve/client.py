"""One streamed request to an OpenAI-compatible server, timed as vLLM's benchmark client does.

Failures are data: an HTTP status other than 200, a broken connection, no byte for the stall timeout, a
stream that ends before its end (no `[DONE]` and no finish_reason) or carries an error, a stream with no
output. The record says which, and its class (bench.measure.failures); every error text is scrubbed of the
API key first. Nothing is retried: a 429 counts as a failed request, as the load it answers, and its
Retry-After is recorded. The server's token count is checked against the stream before it is used.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import time
from dataclasses import dataclass
from typing import Callable

import aiohttp

from bench.config.serve import STALL_TIMEOUT_S
from bench.core.formats import given
from bench.measure.failures import usage_problem
from bench.measure.streaming import StreamedRequest, deliveries, itl_per_token_s
from bench.serve.security import Endpoint, Secret, scrub
from bench.serve.sse import SSEParser

CONNECT_TIMEOUT_S = 30.0
ERROR_BODY_CHARS = 300
# aiohttp >= 3.10 tells a connect timeout from a read timeout; 3.9 raises ServerTimeoutError for both
_CONNECT_TIMEOUT = getattr(aiohttp, "ConnectionTimeoutError", ())


@dataclass(frozen=True)
class Target:
    endpoint: Endpoint
    model: str  # the name sent in each request
    ignore_eos: bool = True
    secret: Secret | None = None
    stall_timeout_s: float = STALL_TIMEOUT_S
    count_tokens: Callable[[str], int] | None = None  # the local tokenizer's count of a text, where one is given
    temperature: float = 1.0  # sent only when not 1 (the servers' default)

    def headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json"}
        if self.secret is not None:
            h["Authorization"] = f"Bearer {self.secret.reveal()}"
        return h

    def body(self, prompt: list[int] | str, output_len: int) -> dict:
        b: dict = {"model": self.model, "max_tokens": output_len, "stream": True,
                   "stream_options": {"include_usage": True}}
        if self.endpoint.api == "chat":
            b["messages"] = [{"role": "user", "content": prompt}]
        else:
            b["prompt"] = prompt
        if self.temperature != 1.0:
            b["temperature"] = self.temperature
        if self.ignore_eos:  # vLLM's extensions (--no-ignore-eos leaves both out, for vendors)
            b["ignore_eos"] = True  # exactly max_tokens tokens
            b["stream_options"]["continuous_usage_stats"] = True  # usage in every chunk: its token count
        return b


def new_session(stall_timeout_s: float = STALL_TIMEOUT_S) -> aiohttp.ClientSession:
    """No proxies or .netrc from the environment (trust_env=False), no cookies kept: the key and the
    prompts go straight to the endpoint and nowhere else. A read that waits `stall_timeout_s` for a byte
    (the response's head included) fails its request; the level's own time limit bounds the rest."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S, sock_read=stall_timeout_s),
    )


class StreamError(Exception):
    pass


def cached_prompt_tokens(usage: dict, default: int | None = None) -> int | None:
    """Prompt tokens served from the server's cache, as its usage says: OpenAI's and vLLM's
    prompt_tokens_details.cached_tokens (vLLM: with --enable-prompt-tokens-details), DeepSeek's
    prompt_cache_hit_tokens; `default` when it says neither."""
    details = usage.get("prompt_tokens_details")
    if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
        return details["cached_tokens"]
    hit = usage.get("prompt_cache_hit_tokens")
    return hit if isinstance(hit, int) else default


class _Stream:
    """Token timing of one response stream; `feed` gets each data payload with its arrival time."""

    def __init__(self, rec: StreamedRequest, api: str, sent_at: float,
                 count_tokens: Callable[[str], int] | None = None) -> None:
        self.rec, self.api, self.sent_at, self.count_tokens = rec, api, sent_at, count_tokens
        self.last = sent_at
        self.ended = False  # [DONE] or a finish_reason seen
        self.usage_seen: list = []  # every usage.completion_tokens the stream carried, in order
        self.usage_in: int | None = None
        self.events: list[tuple[float, int | None]] = []  # output events: (time from sending, tokens or None)
        self.streamed: list[int] = []  # each output event's tokens as streamed: 1, or the local tokenizer's count
        self.counted_events = 0  # output events that carried the server's running count
        self.tokenized = False  # some delta's text was counted with the local tokenizer
        self.counted = 0  # completion tokens the per-chunk usage had reported at the last output event
        self.cached: int | None = None  # prompt tokens the server took from its cache, when its usage says

    def feed(self, payload: str, now: float) -> None:
        if payload.strip() == "[DONE]":
            self.ended = True
            return
        try:
            data = json.loads(payload)
        except ValueError:
            raise StreamError(f"malformed stream chunk: {payload[:80]!r}") from None
        if not isinstance(data, dict):
            raise StreamError(f"unexpected stream chunk: {payload[:80]!r}")
        choices = data.get("choices") or []
        if data.get("error") and not choices:
            err = data["error"]
            raise StreamError(f"error in the stream: {err.get('message', err) if isinstance(err, dict) else err}")
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        if choices and isinstance(choices[0], dict):
            text = self._output_text(choices[0])
            if text is not None:
                if self.rec.ttft_s is None:
                    self.rec.ttft_s = now - self.sent_at
                self.last = now
                self.rec.chunks += 1
                self.events.append((now - self.sent_at, self._tokens_in_chunk(usage)))
                self.counted_events += "completion_tokens" in usage
                tokenized = bool(self.count_tokens and text)  # a delta without text (no detokenizer): one token
                self.tokenized |= tokenized
                self.streamed.append(max(1, self.count_tokens(text)) if tokenized else 1)
            if choices[0].get("finish_reason"):
                self.ended = True
        if "completion_tokens" in usage:
            self.usage_seen.append(usage["completion_tokens"])
        prompt = usage.get("prompt_tokens")
        if isinstance(prompt, int) and not isinstance(prompt, bool) and prompt > 0:
            self.usage_in = prompt
        self.cached = cached_prompt_tokens(usage, self.cached)

    def _tokens_in_chunk(self, usage: dict) -> int | None:
        """The chunk's tokens from the server's running count (vLLM's continuous_usage_stats); None without one."""
        total = usage.get("completion_tokens")
        if not isinstance(total, int) or total <= self.counted:
            return None
        n, self.counted = total - self.counted, total
        return n

    def _output_text(self, choice: dict) -> str | None:
        """The output a chunk carries ("" for a completions chunk without text), None when it carries none."""
        if self.api == "completions":
            text = choice.get("text")  # vLLM sends no completions chunk without a token (its text may be empty
            return text if isinstance(text, str) else ""  # without a tokenizer)
        delta = choice.get("delta") or {}
        parts = [delta.get(k) for k in ("content", "reasoning_content", "reasoning")]
        if not any(parts) and not delta.get("tool_calls"):
            return None
        return "".join(p for p in parts if isinstance(p, str))

    def settle(self) -> None:
        rec = self.rec
        if rec.ttft_s is None:
            raise StreamError("the stream carried no output")
        if not self.ended:
            raise StreamError(f"the stream ended early (no [DONE] or finish_reason) after {rec.chunks} chunks")
        rec.e2e_s = self.last - self.sent_at
        streamed = sum(self.streamed)
        total = self.usage_seen[-1] if self.usage_seen else None
        # the server's per-chunk counts witness coalesced deltas, unless the local tokenizer counts them
        per_chunk = self.counted_events == len(self.events) and not self.tokenized
        problem = usage_problem(self.usage_seen, total, self.counted if per_chunk else streamed,
                                rec.output_len_asked or None)
        events = self.events
        if total is not None and not problem:
            rec.output_len, rec.output_tokens_source = total, "usage"
        else:  # no usage, or one that cannot be right: the tokens streamed
            rec.output_len = streamed
            rec.output_tokens_source = "tokenizer" if self.tokenized else "chunks"
            events = [(t, k) for (t, _), k in zip(self.events, self.streamed)]
            if problem:
                rec.usage_mismatch = problem
                rec.usage_reported = total if isinstance(total, int) and not isinstance(total, bool) else None
        delivered = deliveries(events, rec.output_len)
        rec.chunk_tokens = [k for _, k in delivered]
        rec.itl_s = itl_per_token_s(delivered)
        if self.usage_in:
            rec.prompt_len = self.usage_in
        rec.cached_tokens = self.cached
        rec.success = True
        rec.finish()


def retry_after_s(value: str | None, now: dt.datetime | None = None) -> float | None:
    """A Retry-After header in seconds: delay-seconds ('5') or an HTTP date (the seconds until it, at least 0);
    None when absent or unreadable. E.g. '5' -> 5.0; 'Wed, 21 Oct 2015 07:28:10 GMT' at 07:28:00 -> 10.0."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
        return seconds if seconds >= 0 and seconds != float("inf") else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - (now or dt.datetime.now(dt.timezone.utc))).total_seconds())


async def stream_request(session: aiohttp.ClientSession, target: Target, prompt: list[int] | str,
                         rec: StreamedRequest, level_t0: float) -> None:
    """Send one request and fill `rec` (times relative to level_t0). Raises only CancelledError."""
    t_build = time.perf_counter()
    data = json.dumps(target.body(prompt, rec.output_len_asked)).encode()
    headers = target.headers()
    sent_at = time.perf_counter()
    rec.client_overhead_s += sent_at - t_build
    rec.start_s = sent_at - level_t0
    stream = _Stream(rec, target.endpoint.api, sent_at, target.count_tokens)
    try:
        async with session.post(target.endpoint.url, data=data, headers=headers, allow_redirects=False) as resp:
            rec.http_status = resp.status
            if resp.status != 200:
                rec.error_class = "http"
                if resp.status == 429:
                    rec.retry_after_s = retry_after_s(resp.headers.get("Retry-After"))
                rec.error = await _http_error(resp)
                return
            parser = SSEParser()
            async for chunk in resp.content.iter_any():
                now = time.perf_counter()
                for payload in parser.feed(chunk):
                    stream.feed(payload, now)
                rec.client_overhead_s += time.perf_counter() - now
            now = time.perf_counter()
            for payload in parser.close():
                stream.feed(payload, now)
            stream.settle()
    except asyncio.CancelledError:  # the level's time limit or a signal: load.py names which
        rec.error, rec.error_class = "cancelled", "cancelled"
        raise
    except StreamError as e:
        rec.error, rec.error_class = str(e), "stream"
    except _CONNECT_TIMEOUT:
        rec.error, rec.error_class = f"no connection within {given(CONNECT_TIMEOUT_S)} s", "connection"
    except asyncio.TimeoutError:
        after = (f" after {rec.chunks} chunk{'s' if rec.chunks > 1 else ''}" if rec.chunks
                 else " (no response yet)" if rec.http_status is None else "")
        rec.error, rec.error_class = f"no byte for {given(target.stall_timeout_s)} s{after} (--stall-timeout)", "timeout"
    except (aiohttp.ClientError, OSError) as e:  # connection refused or reset, a stream cut mid-way, ...
        rec.error, rec.error_class = f"{type(e).__name__}: {e}", "connection"
    except Exception as e:  # anything else the response did to the client
        rec.error, rec.error_class = f"{type(e).__name__}: {e}", "stream"
    except BaseException:  # SIGTERM raised inside the request: as a cancellation
        rec.error, rec.error_class = "cancelled", "cancelled"
        raise
    finally:
        rec.end_s = time.perf_counter() - level_t0
        if not rec.success:
            rec.error = scrub(" ".join((rec.error or "failed").split()), target.secret)
            rec.error_class = rec.error_class or "stream"


async def _http_error(resp: aiohttp.ClientResponse) -> str:
    try:
        body = (await resp.read())[:ERROR_BODY_CHARS].decode("utf-8", errors="replace")
    except Exception:
        body = ""
    note = " (redirects are not followed: the key goes to --endpoint only)" if 300 <= resp.status < 400 else ""
    return f"HTTP {resp.status} {resp.reason or ''}{note}: {body}".strip().rstrip(":")
