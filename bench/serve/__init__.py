"""`bench serve`: online serving measured from the client side, vLLM's OpenAI server or any endpoint.

metrics.py   per-request stream records -> serving metrics (pure; vLLM's definitions)
arrivals.py  Poisson / gamma arrival times (pure)
security.py  the API key (read from one environment variable, never shown), endpoint URL checks
sse.py       server-sent events -> data payloads (pure)
client.py    one streamed request over aiohttp
prometheus.py  the server's /metrics: parse, summarise before/after and samples
load.py      asyncio load generation for one level (a rate or a concurrency)
config.py    ServeConfig: RunConfig + the load, SLO and endpoint options
sweep.py     the whole command: server lifecycle, levels, rows, JSON
rows.py, display.py, cli.py

The local server itself lives in bench/engines/vllm_server.py.
"""
