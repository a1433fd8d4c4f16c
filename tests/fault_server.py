"""A misbehaving OpenAI-compatible server for tests: tests/fake_openai.py's server (aiohttp on 127.0.0.1, its
own thread) with the faults a real endpoint shows. `mode(i)` picks what request i (warm-up ones included, in
the order they arrive) gets:

  ok            a whole stream (completions: one token a chunk, the running usage when asked, a final usage)
  500           HTTP 500                      429          HTTP 429 with `Retry-After: retry_after_s`
  401           HTTP 401 (a wrong key)        drop         the connection cut after half the tokens
  stall         the first token, then nothing (until the server stops)
  malformed     a data line that is not JSON after the first token
  nousage       no usage anywhere             wrongusage   a final usage of max_tokens + 3
  negusage      a final usage of -max_tokens  decusage     a final usage 2 below the running count
  10xusage      every usage count x 10        inflated     a quarter of the tokens, finish_reason stop, and a
                                                           usage of max_tokens (more than 2x what was streamed)
  slowfirst     nothing for first_byte_s, then a whole stream
`kill_after=N`: the server dies when request N arrives: that request and every stream in flight are cut,
and nothing listens afterwards (connection refused).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from fake_openai import FakeOpenAI


def every(k: int, fault: str, start: int = 2):
    """Request i gets `fault` when i >= start (the two warm-up requests come first) and (i - start) % k == k - 1:
    e.g. every(3, "500") fails 4 of the 12 requests after the warm-up (i = 4, 7, 10, 13)."""
    return lambda i: fault if i >= start and (i - start) % k == k - 1 else "ok"


class FaultServer(FakeOpenAI):
    def __init__(self, mode=lambda i: "ok", token_delay_s: float = 0.002, retry_after_s: int = 7,
                 first_byte_s: float = 1.0, kill_after: int | None = None) -> None:
        super().__init__(mode=mode, token_delay_s=token_delay_s)
        self.retry_after_s, self.first_byte_s, self.kill_after = retry_after_s, first_byte_s, kill_after
        self.arrived = 0  # completion requests that reached the server
        self.completed = 0  # whole streams sent
        self.dead = False
        self._stopping = asyncio.Event()  # set when the test ends: stalled handlers return at once

    handler_cancellation = True  # a stalled handler ends when bench gives up on it

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/completions", self._completion)
        app.router.add_get("/version", self._version)

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stopping.set)
        super().__exit__(*exc)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _die(self) -> None:
        """Stop listening and cut every connection, as a killed server does."""
        self.dead = True
        for site in list(self._runner.sites):
            await site.stop()
        for conn in list(self._runner.server.connections):
            conn.force_close()

    async def _completion(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        i = self.arrived
        self.arrived += 1
        if self.dead or (self.kill_after is not None and i >= self.kill_after):
            await self._die()
            request.transport.close()
            return web.Response(status=500)  # never reaches the client: its connection is gone
        mode = self.mode(i)
        if mode == "500":
            return web.Response(status=500, text="internal error")
        if mode == "401":
            return web.Response(status=401, text='{"error": {"message": "invalid api key"}}')
        if mode == "429":
            return web.Response(status=429, headers={"Retry-After": str(self.retry_after_s)},
                                text='{"error": {"message": "rate limited"}}')
        if mode == "slowfirst":
            await self._pause(self.first_byte_s)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        n = int(body["max_tokens"])
        running = bool((body.get("stream_options") or {}).get("continuous_usage_stats")) and mode != "nousage"
        scale = 10 if mode == "10xusage" else 1
        tokens = max(1, n // 4) if mode == "inflated" else n
        for k in range(tokens):
            if mode == "drop" and k == n // 2:
                request.transport.close()
                return resp
            await asyncio.sleep(self.token_delay_s)
            last = k == tokens - 1
            finish = ("stop" if mode == "inflated" else "length") if last else None
            event = {"choices": [{"index": 0, "text": f" w{k}", "finish_reason": finish}]}
            if running:
                event["usage"] = {"prompt_tokens": 7, "completion_tokens": (k + 1) * scale}
            await self._event(resp, event)
            if k == 0 and mode == "stall":
                await self._pause(3600)
                return resp
            if k == 0 and mode == "malformed":
                await resp.write(b"data: {\"choices\": [{\"text\": \n\n")
        if mode != "nousage":
            final = {"wrongusage": n + 3, "negusage": -n, "decusage": n - 2, "10xusage": n * scale}.get(mode, n)
            await self._event(resp, {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": final}})
        await resp.write(b"data: [DONE]\n\n")
        self.completed += 1
        await resp.write_eof()
        return resp
