"""The server's Prometheus `/metrics`: parsed, and summarised around one load level. Pure but for `scrape`.

vLLM exports, among others: `vllm:kv_cache_usage_perc` (a fraction, 1 = full; older versions
`vllm:gpu_cache_usage_perc`), `vllm:num_requests_running`, `vllm:num_requests_waiting` (gauges) and
`vllm:num_preemptions_total`, `vllm:prompt_tokens_total`, `vllm:generation_tokens_total`,
`vllm:request_success_total` (counters). Gauges read before and after a level are usually idle
values, so they are also sampled during it (peak and mean); counters are differenced.
"""

from __future__ import annotations

import math

import aiohttp

PREFIX = "vllm:"
KV_USAGE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
RUNNING = "vllm:num_requests_running"
WAITING = "vllm:num_requests_waiting"
COUNTERS = {
    "preemptions": "vllm:num_preemptions_total",
    "prompt_tokens": "vllm:prompt_tokens_total",
    "generation_tokens": "vllm:generation_tokens_total",
    "requests_finished": "vllm:request_success_total",
    "prefix_cache_queries": "vllm:prefix_cache_queries_total",  # prompt tokens looked up in the prefix cache
    "prefix_cache_hits": "vllm:prefix_cache_hits_total",  # of those, found there
    # speculative decoding (bench.measure.speculative): verification steps with a draft, tokens drafted, accepted
    "spec_drafts": "vllm:spec_decode_num_drafts_total",
    "spec_draft_tokens": "vllm:spec_decode_num_draft_tokens_total",
    "spec_accepted": "vllm:spec_decode_num_accepted_tokens_total",
}
SCRAPE_TIMEOUT_S = 5.0


def parse(text: str, prefix: str = PREFIX) -> dict[str, float]:
    """Prometheus text format -> {metric name: value summed over its label sets}, for names with
    `prefix`; histogram buckets and `_created` timestamps are left out."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith(prefix):
            continue
        if "{" in line:
            name = line[:line.index("{")]
            rest = line[line.rindex("}") + 1:].split()
        else:
            name, *rest = line.split()
        if not rest or name.endswith(("_bucket", "_created")):
            continue
        try:
            value = float(rest[0])
        except ValueError:
            continue
        if math.isfinite(value):
            out[name] = out.get(name, 0.0) + value
    return out


def first_of(sample: dict[str, float], names: tuple[str, ...]) -> float | None:
    for n in names:
        if n in sample:
            return sample[n]
    return None


def summarise(before: dict[str, float] | None, after: dict[str, float] | None,
              samples: list[dict[str, float]]) -> dict:
    """The level's server-side figures: counter deltas, peak/mean gauges. Empty values when the
    server exposes no /metrics (a vendor endpoint)."""
    snaps = [s for s in (before, *samples, after) if s]
    kv = [v for v in (first_of(s, KV_USAGE) for s in snaps) if v is not None]
    running = [s[RUNNING] for s in snaps if RUNNING in s]
    waiting = [s[WAITING] for s in snaps if WAITING in s]
    out = {
        "server_kv_cache_usage_max": max(kv) if kv else None,
        "server_kv_cache_usage_mean": sum(kv) / len(kv) if kv else None,
        "server_running_max": max(running) if running else None,
        "server_waiting_max": max(waiting) if waiting else None,
        "samples": len(samples),
    }
    for key, name in COUNTERS.items():
        if before and after and name in before and name in after:
            out[f"server_{key}"] = after[name] - before[name]
        else:
            out[f"server_{key}"] = None
    return out


def prefix_cache_columns(metrics: dict, server: dict) -> dict:
    """A level's cached prompt tokens and hit rate: the requests' own usage counts when the server sent them
    (measure.metrics), else the server's counters over the level: hits, and hits / queries (in tokens, vLLM's
    own hit rate). Empty when neither says."""
    if metrics.get("cached_prompt_tokens") is not None:
        return {k: metrics.get(k) for k in ("cached_prompt_tokens", "prefix_cache_hit_rate")}
    hits, queries = server.get("server_prefix_cache_hits"), server.get("server_prefix_cache_queries")
    if hits is None:
        return {"cached_prompt_tokens": None, "prefix_cache_hit_rate": None}
    return {"cached_prompt_tokens": int(hits), "prefix_cache_hit_rate": hits / queries if queries else None}


async def scrape(session: aiohttp.ClientSession, url: str,
                 timeout_s: float = SCRAPE_TIMEOUT_S) -> dict[str, float] | None:
    """GET url (no Authorization header: /metrics never gets the key); None when it does not answer
    with Prometheus text within `timeout_s`."""
    try:
        async with session.get(url, allow_redirects=False,
                               timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            if resp.status != 200:
                return None
            text = await resp.text(errors="replace")
    except Exception:  # no metrics is not an error of the benchmark
        return None
    sample = parse(text)
    return sample or None
