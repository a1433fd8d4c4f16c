"""`bench serve`: online serving measured from the client side, vLLM's OpenAI server or any endpoint.

session.py   the whole command: the server (or the endpoint), one measured level after another, rows, JSON
server.py    vLLM's OpenAI-compatible server started on 127.0.0.1: command line, health, log, stop
load.py      asyncio load generation for one level (a rate or a concurrency)
arrivals.py  Poisson / gamma arrival times (pure)
client.py    one streamed request over aiohttp
sse.py       server-sent events -> data payloads (pure)
prometheus.py  the server's /metrics: parse, summarise before/after and samples
security.py  the API key (read from one environment variable, never shown), endpoint URL checks

Elsewhere, by concept: the options (bench/config/serve.py), the prompts (bench/workload/prompts.py), the
streaming metrics (bench/measure/streaming.py), the rows (bench/execution/record.py serve_row), the cheapest
level meeting the SLO (bench/analysis/slo.py), the terminal output (bench/display/serve.py).
"""
