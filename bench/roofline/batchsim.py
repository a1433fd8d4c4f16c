"""Continuous batching, step by step, with a given step-time function: pure, no I/O.

What a vLLM-style scheduler does with a list of requests that all arrive at t=0 (offline
throughput), in the order vLLM's V1 scheduler decides it:
  each step has a token budget (max_num_batched_tokens); running requests go first, one
  token each when decoding, the next chunk of their prompt when still prefilling (chunked
  prefill); then waiting requests are admitted first-come first-served while there is budget,
  a free sequence slot (max_num_seqs) and KV-cache room for the chunk.
  A decode that finds the KV cache full preempts the most recently admitted request: its
  cache is freed and it waits at the front of the queue to recompute prompt + output so far.
  The step that completes a request's prefill yields its first output token; each later step
  yields one more. KV is counted in tokens (vLLM rounds each sequence up to 16-token blocks); a model
  whose cache is not one unit per token (sliding windows, a linear layer's constant state) gives
  `kv_units`: the cache a sequence of n tokens holds, in the capacity's unit.

Prefix caching (vLLM's automatic prefix caching, when `prefix_blocks` is given): every full 16-token block of a
prompt is cached under a hash of its tokens and all before it (prefix_hashes) as soon as it is scheduled. A request
admitted later whose prompt starts with cached blocks takes them as computed: those tokens run in no step (they
cost no budget and no compute; the chunks after them attend to them as context) and count as its cached prompt
tokens; at least the last prompt token always runs, for the first output token's logits. A cached block is held
once in the KV cache however many running requests share it; when none does it stays cached, evicted least
recently freed first when the room is needed. Output tokens are not cached (a preempted request recomputes them).

Arrivals (a served load: bench.roofline.servesim gives them): `arrivals` releases requests over time instead of
all at t=0. Before each step the scheduler takes the requests that have arrived by the step's start
(`arrivals.arrived(now)`: (index, arrival time) pairs, in arrival order) into the back of the waiting queue; with
nothing running or waiting the clock jumps to the next arrival (`arrivals.next_s()`, None: none left); each request
that finishes is reported (`arrivals.finished(index, now)`: a closed loop issues its next request then). A
request's TTFT and E2E then count from its arrival, queueing included.

`step_time_s(n_decode, decode_context_tokens, prefill_chunks)` prices one step: how many
sequences decode, the sum of their context lengths, and (new tokens, cached tokens) of each
prefill chunk. bench.roofline.bound supplies the hardware's lower bound on that time. It may
return (seconds, prefill cost, decode cost) instead of seconds: the outcome then also says how
much of the run's time its prefill chunks and its decodes took (bench.cost.formulas.step_share_seconds).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable

from bench.cost.formulas import step_share_seconds

StepTime = Callable[[int, int, list], "float | tuple[float, float, float]"]
BLOCK_TOKENS = 16  # vLLM's KV block: the unit a prefix is cached in


def prefix_hashes(prompts: list[list[int]], block_tokens: int = BLOCK_TOKENS) -> list[list[int]]:
    """Per prompt, the hash of each full block of `block_tokens` tokens chained with every block before it (as
    vLLM keys its prefix cache): two prompts share a block's hash only if they agree on every token up to its end."""
    out = []
    for ids in prompts:
        chain, h = [], None
        for k in range(len(ids) // block_tokens):
            h = hash((h, tuple(ids[k * block_tokens:(k + 1) * block_tokens])))
            chain.append(h)
        out.append(chain)
    return out


@dataclass
class SimRequest:
    prompt_len: int
    output_len: int
    index: int = 0  # its place in the requests given
    arrival_s: float = 0.0  # when it became admissible (all at t=0 without arrivals)
    # state
    computed: int = 0  # tokens whose KV is cached (prompt, then outputs), reset by preemption
    generated: int = 0  # output tokens produced so far
    credit: float = 0.0  # speculative decoding: the fraction of a token carried to the next step
    pending: int = 0  # tokens this step's decode will emit
    first_token_s: float | None = None
    finish_s: float | None = None
    blocks: list = field(default_factory=list)  # prefix caching: the prompt's block hashes (prefix_hashes)
    held: list = field(default_factory=list)  # ids of the cached blocks it holds (its first len(held) blocks)
    cached_tokens: int | None = None  # prompt tokens its first admission took from the prefix cache
    token_s: list | None = None  # when each output token was emitted (log_tokens)
    admitted: bool = False  # admitted at least once (a preempted request's re-admission is not a new request)

    @property
    def target_prefill(self) -> int:
        """Tokens to compute before the next output token: the prompt, plus outputs after a preemption."""
        return self.prompt_len + max(0, self.generated - 1) if self.generated else self.prompt_len

    @property
    def prefilling(self) -> bool:
        return self.computed < self.target_prefill


@dataclass
class SimOutcome:
    elapsed_s: float
    requests: list[SimRequest]
    steps: int
    preemptions: int
    max_running: int
    step_log: list = field(default_factory=list)  # (time_s, n_decode, prefill tokens), when asked for
    prefill_s: float | None = None  # the steps' time split by their parts' cost, when step_time_s tells it
    decode_s: float | None = None

    @property
    def output_tokens(self) -> int:
        return sum(r.generated for r in self.requests)

    @property
    def input_tokens(self) -> int:
        return sum(r.prompt_len for r in self.requests)

    @property
    def cached_prompt_tokens(self) -> int:
        return sum(r.cached_tokens or 0 for r in self.requests)


class PrefixCache:
    """The KV cache's block accounting with prefix caching (module doc): `used` counts each live block once and
    every request's tokens outside its held blocks; freed cached blocks wait in `evictable`, least recent first."""

    def __init__(self, block_tokens: int, capacity_tokens: int) -> None:
        self.block, self.capacity = block_tokens, capacity_tokens
        self.by_hash: dict = {}  # hash -> block id
        self.hash_of: dict[int, object] = {}
        self.refs: dict[int, int] = {}
        self.evictable: OrderedDict[int, None] = OrderedDict()
        self.next_id = 0

    def hits(self, r: SimRequest) -> list[int]:
        """Block ids of r's cached prompt prefix, leaving at least its last prompt token to run."""
        found = []
        for h in r.blocks[:(r.prompt_len - 1) // self.block]:
            bid = self.by_hash.get(h)
            if bid is None:
                break
            found.append(bid)
        return found

    def revived_tokens(self, ids: list[int]) -> int:
        """KV room taking `ids` needs: the blocks no running request holds."""
        return sum(self.block for b in ids if self.refs.get(b, 0) == 0)

    def take(self, r: SimRequest, ids: list[int]) -> int:
        """r holds `ids` (its cached prefix); returns the KV tokens that adds (revived blocks)."""
        added = self.revived_tokens(ids)
        for b in ids:
            self.evictable.pop(b, None)
            self.refs[b] = self.refs.get(b, 0) + 1
        r.held = list(ids)
        return added

    def register(self, r: SimRequest, upto: int) -> None:
        """r's prompt blocks full once `upto` tokens are computed become its blocks, cached by hash unless that hash
        is cached already (then the block is r's own copy). KV use is unchanged: its tokens were counted."""
        while len(r.held) < len(r.blocks) and (len(r.held) + 1) * self.block <= upto:
            bid, h = self.next_id, r.blocks[len(r.held)]
            self.next_id += 1
            self.refs[bid] = 1
            self.hash_of[bid] = h
            self.by_hash.setdefault(h, bid)
            r.held.append(bid)

    def release(self, r: SimRequest) -> int:
        """r stops holding its blocks (finished or preempted); returns the KV tokens freed: its tokens outside held
        blocks, and the held blocks no one else holds (those still cached wait to be evicted)."""
        freed = r.computed - self.block * len(r.held)
        for b in r.held:
            self.refs[b] -= 1
            if self.refs[b] == 0:
                freed += self.block
                del self.refs[b]
                if self.by_hash.get(self.hash_of[b]) == b:
                    self.evictable[b] = None
                else:
                    del self.hash_of[b]
        r.held = []
        return freed

    def evict(self, used: int) -> None:
        """Drop the least recently freed cached blocks until live use plus cached blocks fits the cache."""
        while self.evictable and used + self.block * len(self.evictable) > self.capacity:
            b, _ = self.evictable.popitem(last=False)
            del self.by_hash[self.hash_of.pop(b)]


class SimError(ValueError):
    """A request the cache can never hold (its prompt + output exceeds the KV capacity)."""


def simulate(lengths: list[tuple[int, int]], step_time_s: StepTime, kv_capacity_tokens: int, max_num_seqs: int,
             max_num_batched_tokens: int, max_steps: int = 10_000_000, log_steps: bool = False,
             prefix_blocks: list[list] | None = None, block_tokens: int = BLOCK_TOKENS,
             kv_units: Callable[[int], float] | None = None, tokens_per_step: float = 1.0, arrivals=None,
             log_tokens: bool = False, served_step_s: Callable[[float, int, int], float] | None = None,
             delivered_s: Callable[[float, int], float] | None = None) -> SimOutcome:
    """Run every (prompt_len, output_len) request to completion; return per-request times. `arrivals`: when each
    request arrives (module doc; None: all at t=0). log_tokens: keep each output token's time. `prefix_blocks`
    (prefix_hashes of the prompts, one list per request): prefix caching on (module doc). tokens_per_step:
    what a decoding sequence emits a step on average (speculative decoding: 1 + draft tokens x acceptance), each
    step emitting the whole tokens of what it has accumulated (at least one), the rest carried. served_step_s: the
    serving path (bench.roofline.servingpath): (the engine's step seconds, output tokens the step streams, requests it
    admits for the first time) -> the step's seconds; None: the engine's. delivered_s: (the step's end, output
    tokens it streams) -> when the client has them (a front end in series: servingpath.FrontEndQueue); None: at the
    step's end. A request's token times, finish and a closed loop's next request are then at that delivery."""
    if max_num_seqs < 1 or max_num_batched_tokens < 1:
        raise ValueError("max_num_seqs and max_num_batched_tokens must be positive")
    held = kv_units or (lambda n: n)  # the cache a sequence of n computed tokens holds

    def grow(r: SimRequest, n: int):  # what computing n more tokens of r adds to the cache
        return held(r.computed + n) - held(r.computed) if kv_units else n

    reqs = [SimRequest(p, o, index=i, token_s=[] if log_tokens else None) for i, (p, o) in enumerate(lengths)]
    cache = None
    if prefix_blocks is not None:
        if len(prefix_blocks) != len(reqs):
            raise ValueError("prefix_blocks needs one list of block hashes per request")
        cache = PrefixCache(block_tokens, kv_capacity_tokens)
        for r, blocks in zip(reqs, prefix_blocks):
            r.blocks = list(blocks)
    for r in reqs:
        if held(r.prompt_len + r.output_len) > kv_capacity_tokens:
            raise SimError(f"a request of {r.prompt_len} + {r.output_len} tokens does not fit a KV cache of "
                           f"{kv_capacity_tokens} tokens")
        if r.output_len < 1 or r.prompt_len < 1:
            raise ValueError("prompt and output lengths must be at least 1")
    waiting: deque[SimRequest] = deque(reqs if arrivals is None else ())
    running: list[SimRequest] = []
    used = 0  # KV tokens held
    now = 0.0
    steps = preemptions = max_running = 0
    log = []
    prefill_s = decode_s = 0.0
    split = True
    while True:
        if arrivals is not None:
            for i, t in arrivals.arrived(now):
                reqs[i].arrival_s = t
                waiting.append(reqs[i])
            if not waiting and not running:  # idle: the clock jumps to the next arrival
                nxt = arrivals.next_s()
                if nxt is None:
                    break
                now = max(now, nxt)
                continue
        elif not waiting and not running:
            break
        steps += 1
        new_requests = 0
        if steps > max_steps:
            raise RuntimeError(f"simulation did not finish in {max_steps} steps")
        budget = max_num_batched_tokens
        decoders: list[SimRequest] = []
        chunks: list[tuple[SimRequest, int]] = []
        # 1. running requests, oldest first
        i = 0
        while i < len(running) and budget > 0:
            r = running[i]
            if r.prefilling:
                need = min(r.target_prefill - r.computed, budget)
            else:
                need = r.pending = min(max(1, int(r.credit + tokens_per_step)), r.output_len - r.generated)
            while used + grow(r, need) > kv_capacity_tokens and running[-1] is not r:  # preempt the newest
                victim = running.pop()
                used -= cache.release(victim) if cache else held(victim.computed)
                victim.computed = 0
                waiting.appendleft(victim)
                preemptions += 1
            if used + grow(r, need) > kv_capacity_tokens:  # r itself is the newest and still does not fit
                running.pop(i)
                used -= cache.release(r) if cache else held(r.computed)
                r.computed = 0
                waiting.appendleft(r)
                preemptions += 1
                continue
            used += grow(r, need)
            budget -= need
            if cache:
                cache.register(r, r.computed + need)
                cache.evict(used)
            (chunks.append((r, need)) if r.prefilling else decoders.append(r))
            i += 1
        # 2. admit waiting requests, first come first served
        while waiting and budget > 0 and len(running) < max_num_seqs:
            r = waiting[0]
            hit = cache.hits(r) if cache and r.computed == 0 else []
            start = len(hit) * block_tokens
            need = min(r.target_prefill - start, budget)
            if used + (cache.revived_tokens(hit) if hit else 0) + grow(r, need) > kv_capacity_tokens:
                break
            waiting.popleft()
            running.append(r)
            new_requests += not r.admitted
            r.admitted = True
            if hit:
                used += cache.take(r, hit)
                r.computed = start
            if cache and r.cached_tokens is None:  # counted at the first admission, as vLLM does
                r.cached_tokens = start
            used += grow(r, need)
            budget -= need
            if cache:
                cache.register(r, r.computed + need)
                cache.evict(used)
            chunks.append((r, need))
        max_running = max(max_running, len(running))
        if not decoders and not chunks:
            raise RuntimeError("scheduler made no progress (KV cache too small for any chunk)")
        dt = step_time_s(len(decoders), sum(r.prompt_len + r.generated for r in decoders),
                         [(n, r.computed) for r, n in chunks])
        costs = None
        if isinstance(dt, tuple):
            dt, *costs = dt
        else:
            split = False
        streamed = 0
        if served_step_s is not None or delivered_s is not None:
            streamed = sum(r.pending for r in decoders) + sum(r.computed + n >= r.target_prefill for r, n in chunks)
        if served_step_s is not None:
            dt = served_step_s(dt, streamed, new_requests)
        if costs is not None:
            p, d = step_share_seconds(dt, *costs)
            prefill_s += p
            decode_s += d
        now += dt
        if log_steps:
            log.append((now, len(decoders), sum(n for _, n in chunks)))
        # 3. advance: a finished prefill and every decode yield one output token
        out_s = now if delivered_s is None else delivered_s(now, streamed)
        for r, n in chunks:
            r.computed += n
            if not r.prefilling:
                _emit(r, out_s)
        for r in decoders:
            r.credit += tokens_per_step - r.pending
            r.computed += r.pending
            for _ in range(r.pending):
                _emit(r, out_s)
        still = []
        for r in running:
            if r.finish_s is not None:
                used -= cache.release(r) if cache else held(r.computed)
                if arrivals is not None:
                    arrivals.finished(r.index, out_s)
            else:
                still.append(r)
        running = still
        if cache:
            cache.evict(used)
    if delivered_s is not None:  # the client's last token may come after the engine's last step
        now = max([now] + [r.finish_s for r in reqs if r.finish_s is not None])
    return SimOutcome(elapsed_s=now, requests=reqs, steps=steps, preemptions=preemptions, max_running=max_running,
                      step_log=log, prefill_s=prefill_s if split else None, decode_s=decode_s if split else None)


def _emit(r: SimRequest, now: float) -> None:
    r.generated += 1
    if r.token_s is not None:
        r.token_s.append(now)
    if r.first_token_s is None:
        r.first_token_s = now
    if r.generated >= r.output_len:
        r.finish_s = now
