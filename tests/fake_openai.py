"""A small OpenAI-compatible streaming server for tests: aiohttp on 127.0.0.1, a free port, its own
thread. `mode(i)` picks what request i gets: ok, 429, 500 (its body echoes the Authorization
header, as a careless server might), drop (the connection is cut mid-stream) or noend (the stream
stops without a finish_reason or [DONE]). It keeps every request's path and headers. `tokens_per_chunk`
puts that many tokens in each chunk (as vLLM's stream interval does), with the running usage in every
chunk when the request asks for continuous_usage_stats. GET /v1/models lists `models`."""

from __future__ import annotations

import asyncio
import json
import threading

from aiohttp import web

METRICS_TEXT = """# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{{engine="0",model_name="fake"}} {running}
vllm:num_requests_waiting{{engine="0",model_name="fake"}} 0.0
vllm:kv_cache_usage_perc{{engine="0",model_name="fake"}} {kv}
vllm:num_preemptions_total{{engine="0",model_name="fake"}} 0.0
vllm:generation_tokens_total{{engine="0",model_name="fake"}} {gen}
vllm:request_success_total{{engine="0",finished_reason="length",model_name="fake"}} {done}
vllm:prefix_cache_queries_total{{engine="0",model_name="fake"}} {queries}
vllm:prefix_cache_hits_total{{engine="0",model_name="fake"}} {hits}
"""


class FakeOpenAI:
    def __init__(self, mode=lambda i: "ok", token_delay_s: float = 0.002, port: int = 0, tokens_per_chunk: int = 1,
                 models: tuple[str, ...] = ("fake-model",)) -> None:
        self.mode = mode
        self.tokens_per_chunk = tokens_per_chunk
        self.models = models
        self.token_delay_s = token_delay_s
        self.seen: list[dict] = []  # {"path", "headers", "body"}
        self.running = 0
        self.generated = 0
        self.finished = 0
        self.prompts: list[list[int]] = []  # token-id prompts seen: a prefix cache without blocks
        self.queried = self.hits = 0
        self._count = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    handler_cancellation = False  # True: a handler is cancelled when its client goes away

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/completions", self._completion)
        app.router.add_post("/v1/chat/completions", self._completion)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/version", self._version)
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        self._routes(app)
        self._runner = runner = web.AppRunner(app, access_log=None, handler_cancellation=self.handler_cancellation)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def _note(self, request: web.Request, body=None) -> None:
        self.seen.append({"path": request.path, "headers": dict(request.headers), "body": body})

    async def _metrics(self, request: web.Request) -> web.Response:
        self._note(request)
        return web.Response(text=METRICS_TEXT.format(running=float(self.running), kv=0.01 * self.running,
                                                      gen=float(self.generated), done=float(self.finished),
                                                      queries=float(self.queried), hits=float(self.hits)))

    def _cache(self, prompt) -> None:
        """A prefix cache that keeps every token-id prompt: hits = the longest prefix shared with an earlier one."""
        if not isinstance(prompt, list) or not all(isinstance(t, int) for t in prompt):
            return
        best = 0
        for seen in self.prompts:
            n = 0
            while n < min(len(seen), len(prompt)) and seen[n] == prompt[n]:
                n += 1
            best = max(best, n)
        self.prompts.append(prompt)
        self.queried += len(prompt)
        self.hits += best

    async def _models(self, request: web.Request) -> web.Response:
        self._note(request)
        return web.json_response({"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="")

    async def _version(self, request: web.Request) -> web.Response:
        self._note(request)
        return web.json_response({"version": "fake-1.0"})

    async def _completion(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self._note(request, body)
        i = self._count
        self._count += 1
        mode = self.mode(i)
        if mode == "429":
            return web.Response(status=429, text='{"error": {"message": "rate limited, slow down"}}')
        if mode == "500":
            return web.Response(status=500, text=f"internal error; you sent {request.headers.get('Authorization')}")
        chat = request.path.endswith("/chat/completions")
        self._cache(body.get("prompt"))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        n = int(body["max_tokens"])
        self.running += 1
        try:
            if chat:
                await self._event(resp, {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
            running_usage = bool((body.get("stream_options") or {}).get("continuous_usage_stats"))
            for k in range(n):
                if mode in ("drop", "noend") and k == n // 2:
                    if mode == "drop":
                        request.transport.close()  # cut: the chunked body never completes
                    return resp
                await asyncio.sleep(self.token_delay_s)
                self.generated += 1
                if (k + 1) % self.tokens_per_chunk and k != n - 1:
                    continue  # this token goes out with the next ones
                last = "length" if k == n - 1 else None
                choice = ({"index": 0, "delta": {"content": f" w{k}"}, "finish_reason": last} if chat
                          else {"index": 0, "text": "", "finish_reason": last})
                event = {"choices": [choice]}
                if running_usage:
                    event["usage"] = {"prompt_tokens": 7, "completion_tokens": k + 1, "total_tokens": k + 8}
                await self._event(resp, event)
            prompt = body.get("prompt") or body.get("messages")
            await self._event(resp, {"choices": [], "usage": {"prompt_tokens": len(prompt) if isinstance(prompt, list)
                                                                and not chat else 7, "completion_tokens": n}})
            await resp.write(b"data: [DONE]\n\n")
            self.finished += 1
        finally:
            self.running -= 1
        await resp.write_eof()
        return resp

    @staticmethod
    async def _event(resp: web.StreamResponse, obj: dict) -> None:
        await resp.write(f"data: {json.dumps(obj)}\n\n".encode())
