"""Static batching, for engines without a scheduler (transformers `generate`): pure, no torch.

Requests run in fixed batches of `max_num_seqs`, in submission order; a batch starts when the one
before it has finished. Prompts are left-padded to the longest in the batch; the batch decodes as many
steps as its longest output, and a request's tokens are its first `output_len` of them (the surplus
steps of shorter requests are the price of static batching and count in the wall time, not as tokens).
"""

from __future__ import annotations


def batches(num_requests: int, batch_size: int) -> list[range]:
    """Indices of each batch, in order."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    return [range(i, min(i + batch_size, num_requests)) for i in range(0, num_requests, batch_size)]


def left_pad(prompts: list[list[int]], pad_id: int) -> tuple[list[list[int]], list[list[int]]]:
    """(token ids, attention mask), both padded on the left to the longest prompt."""
    width = max(len(p) for p in prompts)
    ids = [[pad_id] * (width - len(p)) + list(p) for p in prompts]
    mask = [[0] * (width - len(p)) + [1] * len(p) for p in prompts]
    return ids, mask


def request_timing(submitted_s: float, token_times_s: list[float], output_len: int
                   ) -> tuple[float | None, float | None, float | None]:
    """(TTFT, TPOT, end-to-end) seconds of one request from the times its batch's tokens reached the host.

    TTFT counts from `submitted_s` (the whole run is submitted at once, as in vLLM's offline benchmark),
    so it includes the wait for earlier batches. TPOT: (last - first token) / (tokens - 1)."""
    if output_len < 1 or len(token_times_s) < output_len:
        return None, None, None
    first, last = token_times_s[0], token_times_s[output_len - 1]
    tpot = (last - first) / (output_len - 1) if output_len > 1 else None
    return first - submitted_s, tpot, last - submitted_s
