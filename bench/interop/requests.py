"""Another tool's per-request timings -> bench's request records (bench.measure.streaming.StreamedRequest), so that
percentiles, ITL and goodput are recomputed by bench's own code (compute_serve_metrics), by bench's definitions.

A tool keeps, per request, its TTFT, its end-to-end latency, its output tokens and the gaps between the stream's
chunks. A chunk may carry several tokens; the tools record no count per chunk, so bench spreads each request's
tokens over its chunks exactly as it does for a stream whose server sends no per-chunk usage
(streaming.deliveries: evenly, the earliest chunks taking the remainder) and takes ITL per token
(streaming.itl_per_token_s: a chunk of k tokens arriving g after the previous one gives k gaps of g / k).
"""

from __future__ import annotations

from bench.measure.streaming import StreamedRequest, deliveries, itl_per_token_s


def streamed_request(index: int, *, prompt_len: int, output_len: int, ttft_s: float | None, e2e_s: float | None,
                     chunk_gaps_s: list[float] | None, start_s: float = 0.0, success: bool = True,
                     error: str = "") -> StreamedRequest:
    """One request from a tool's record: `chunk_gaps_s` the time from each chunk to the next after the first
    (vLLM's `itls`, AIPerf's `inter_chunk_latency`), None when the tool kept none. `start_s`: when it was sent,
    from the first request of the benchmark."""
    r = StreamedRequest(prompt_len=int(prompt_len), output_len=int(output_len), ttft_s=ttft_s, e2e_s=e2e_s,
                        success=success, error=error, index=index, start_s=start_s,
                        end_s=start_s + e2e_s if e2e_s is not None else None)
    if success and ttft_s is not None and chunk_gaps_s is not None:
        times = [ttft_s]
        for gap in chunk_gaps_s:
            times.append(times[-1] + gap)
        delivered = deliveries([(t, None) for t in times], int(output_len) if output_len else None)
        r.itl_s = itl_per_token_s(delivered)
        r.chunks = len(times)
        r.chunk_tokens = [k for _, k in delivered]
        r.output_tokens_source = "file"
    r.finish()
    return r
