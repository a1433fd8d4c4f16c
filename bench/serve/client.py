"""One streamed request to an OpenAI-compatible server, timed as vLLM's benchmark client does.

Failures are data: an HTTP status other than 200, a broken connection, a stream that ends before
its end (no `[DONE]` and no finish_reason) or carries an error, a stream with no output. The
record says which; every error text is scrubbed of the API key first. Nothing is retried: a
429 counts as a failed request, as the load it answers.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import aiohttp

from bench.measure.streaming import StreamedRequest, deliveries, itl_per_token_s
from bench.serve.security import Endpoint, Secret, scrub
from bench.serve.sse import SSEParser

CONNECT_TIMEOUT_S = 30.0
READ_TIMEOUT_S = 300.0  # no byte for this long: the request fails (the level's own time limit is separate)
ERROR_BODY_CHARS = 300


@dataclass(frozen=True)
class Target:
    endpoint: Endpoint
    model: str  # the name sent in each request
    ignore_eos: bool = True
    secret: Secret | None = None
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


def new_session() -> aiohttp.ClientSession:
    """No proxies or .netrc from the environment (trust_env=False), no cookies kept: the key and the
    prompts go straight to the endpoint and nowhere else."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S, sock_read=READ_TIMEOUT_S),
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

    def __init__(self, rec: StreamedRequest, api: str, sent_at: float) -> None:
        self.rec, self.api, self.sent_at = rec, api, sent_at
        self.last = sent_at
        self.ended = False  # [DONE] or a finish_reason seen
        self.usage_out: int | None = None
        self.usage_in: int | None = None
        self.events: list[tuple[float, int | None]] = []  # output events: (time from sending, tokens or None)
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
            if self._carries_output(choices[0]):
                if self.rec.ttft_s is None:
                    self.rec.ttft_s = now - self.sent_at
                self.last = now
                self.rec.chunks += 1
                self.events.append((now - self.sent_at, self._tokens_in_chunk(usage)))
            if choices[0].get("finish_reason"):
                self.ended = True
        if usage:
            self.usage_out = usage.get("completion_tokens", self.usage_out)
            self.usage_in = usage.get("prompt_tokens", self.usage_in)
            self.cached = cached_prompt_tokens(usage, self.cached)

    def _tokens_in_chunk(self, usage: dict) -> int | None:
        """The chunk's tokens from the server's running count (vLLM's continuous_usage_stats); None without one."""
        total = usage.get("completion_tokens")
        if not isinstance(total, int) or total <= self.counted:
            return None
        n, self.counted = total - self.counted, total
        return n

    def _carries_output(self, choice: dict) -> bool:
        if self.api == "completions":
            return True  # vLLM sends no completions chunk without a token (its text may be empty without a tokenizer)
        delta = choice.get("delta") or {}
        return bool(delta.get("content") or delta.get("reasoning_content") or delta.get("reasoning")
                    or delta.get("tool_calls"))

    def settle(self) -> None:
        rec = self.rec
        if rec.ttft_s is None:
            raise StreamError("the stream carried no output")
        if not self.ended:
            raise StreamError(f"the stream ended early (no [DONE] or finish_reason) after {rec.chunks} chunks")
        rec.e2e_s = self.last - self.sent_at
        if self.usage_out:
            rec.output_len, rec.output_tokens_source = int(self.usage_out), "usage"
        else:
            rec.output_len, rec.output_tokens_source = rec.chunks, "chunks"
        delivered = deliveries(self.events, rec.output_len)
        rec.chunk_tokens = [k for _, k in delivered]
        rec.itl_s = itl_per_token_s(delivered)
        if self.usage_in:
            rec.prompt_len = int(self.usage_in)
        rec.cached_tokens = self.cached
        rec.success = True
        rec.finish()


async def stream_request(session: aiohttp.ClientSession, target: Target, prompt: list[int] | str,
                         rec: StreamedRequest, level_t0: float) -> None:
    """Send one request and fill `rec` (times relative to level_t0). Raises only CancelledError."""
    t_build = time.perf_counter()
    data = json.dumps(target.body(prompt, rec.output_len_asked)).encode()
    headers = target.headers()
    sent_at = time.perf_counter()
    rec.client_overhead_s += sent_at - t_build
    rec.start_s = sent_at - level_t0
    stream = _Stream(rec, target.endpoint.api, sent_at)
    try:
        async with session.post(target.endpoint.url, data=data, headers=headers, allow_redirects=False) as resp:
            rec.http_status = resp.status
            if resp.status != 200:
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
    except asyncio.CancelledError:
        raise
    except StreamError as e:
        rec.error = str(e)
    except asyncio.TimeoutError:
        rec.error = f"no data for {READ_TIMEOUT_S:g} s (read timeout)"
    except Exception as e:  # connection refused or reset, payload cut mid-way, ...
        rec.error = f"{type(e).__name__}: {e}"
    finally:
        rec.end_s = time.perf_counter() - level_t0
        if not rec.success:
            rec.error = scrub(" ".join((rec.error or "failed").split()), target.secret)


async def _http_error(resp: aiohttp.ClientResponse) -> str:
    try:
        body = (await resp.read())[:ERROR_BODY_CHARS].decode("utf-8", errors="replace")
    except Exception:
        body = ""
    note = " (redirects are not followed: the key goes to --endpoint only)" if 300 <= resp.status < 400 else ""
    return f"HTTP {resp.status} {resp.reason or ''}{note}: {body}".strip().rstrip(":")
