"""The simulator's prefix caching: a cached prompt token runs in no step, the KV a cached block holds is counted
once, and --engine sim fills cached_prompt_tokens and the hit rate. Hand-computed schedules (step cost = the
tokens a step computes, so the effect is readable); no vllm or torch."""

from __future__ import annotations

import csv

import pytest

from bench import cli
from bench.roofline.batchsim import prefix_hashes, simulate


def shared(prefix: int, own: int, n: int) -> list[list[int]]:
    """n prompts: one shared prefix of `prefix` tokens (ids 0..) then `own` tokens of their own (ids 1000 i..)."""
    return [list(range(prefix)) + list(range(1000 * (i + 1), 1000 * (i + 1) + own)) for i in range(n)]


def tokens_computed(n_decode, ctx, chunks):
    return float(n_decode + sum(n for n, _ in chunks))


def test_block_hashes_chain_the_whole_prefix():
    a, b = shared(64, 32, 2)
    ha, hb = prefix_hashes([a, b])
    # 96 tokens = 6 full blocks of 16; the first 4 (the shared 64 tokens) agree, the rest differ
    assert len(ha) == 6 and ha[:4] == hb[:4] and ha[4] != hb[4]
    # a block's hash holds every token before it: the same 16 tokens after another prefix differ
    assert prefix_hashes([[7] * 16 + [1] * 16])[0][1] != prefix_hashes([[8] * 16 + [1] * 16])[0][1]
    assert prefix_hashes([[1] * 15]) == [[]]  # no full block


def test_a_cached_prompt_token_runs_in_no_step():
    """4 prompts of a 64-token shared prefix + 32 own tokens, 4 output tokens, all admitted in step 1. The first
    computes its 96 tokens and caches 6 blocks; the next three find the prefix's 4 blocks (64 tokens) and compute
    their 32: step 1 computes 96 + 3 x 32 = 192 tokens (384 without caching), then 3 decode steps of 4."""
    prompts = shared(64, 32, 4)
    lengths = [(len(p), 4) for p in prompts]
    on = simulate(lengths, tokens_computed, 10_000, 4, 512, prefix_blocks=prefix_hashes(prompts))
    off = simulate(lengths, tokens_computed, 10_000, 4, 512)
    assert [r.cached_tokens for r in on.requests] == [0, 64, 64, 64]
    assert on.cached_prompt_tokens == 192  # a hit rate of 192 / 384 = 50%
    assert [r.cached_tokens for r in off.requests] == [None] * 4
    assert on.elapsed_s == 192 + 3 * 4 == 204.0 and off.elapsed_s == 384 + 3 * 4 == 396.0
    assert on.requests[1].first_token_s == 192.0 and off.requests[1].first_token_s == 384.0


def test_the_last_prompt_token_always_runs():
    """Two identical 64-token prompts: the second may take only (64 - 1) // 16 = 3 blocks (48 tokens) and computes
    16, so its last token yields the first output's logits."""
    prompts = [list(range(64))] * 2
    out = simulate([(64, 2), (64, 2)], tokens_computed, 1_000, 4, 512, prefix_blocks=prefix_hashes(prompts))
    assert [r.cached_tokens for r in out.requests] == [0, 48]
    assert out.elapsed_s == (64 + 16) + 2  # step 1: 80 tokens; step 2: 2 decodes


def test_a_shared_block_holds_its_kv_once():
    """KV room of 220 tokens. With caching the four prompts above hold the prefix's 64 tokens once: 96 + 3 x 32 =
    192 tokens after step 1, so all four run together (4 steps). Without, each holds its own 96: two fit (192),
    the third would need 288 > 220 and waits: more steps."""
    prompts = shared(64, 32, 4)
    lengths = [(len(p), 4) for p in prompts]
    on = simulate(lengths, lambda *a: 1.0, 220, 4, 512, prefix_blocks=prefix_hashes(prompts))
    off = simulate(lengths, lambda *a: 1.0, 220, 4, 512)
    assert on.max_running == 4 and on.steps == 4 and on.preemptions == 0
    assert off.max_running == 2 and off.steps > 4


def test_freed_cached_blocks_are_evicted_when_room_is_needed():
    """One sequence at a time in a 112-token cache: A (96 tokens + 4 out) finishes and its 6 blocks stay cached;
    B (a different 96-token prompt) needs the room, so A's blocks are evicted oldest first; C = A again finds
    nothing cached and computes all 96."""
    a, b = list(range(96)), list(range(500, 596))
    out = simulate([(96, 4)] * 3, lambda *x: 1.0, 112, 1, 512, prefix_blocks=prefix_hashes([a, b, a]))
    assert [r.cached_tokens for r in out.requests] == [0, 0, 0]
    # with room for both, C finds A's 6 blocks, up to its last token: (96 - 1) // 16 = 5 blocks, 80 tokens
    out = simulate([(96, 4)] * 3, lambda *x: 1.0, 400, 1, 512, prefix_blocks=prefix_hashes([a, b, a]))
    assert [r.cached_tokens for r in out.requests] == [0, 0, 80]


def test_sim_rows_fill_the_prefix_cache_columns(tmp_path, capsys):
    """--engine sim --dataset shared-prefix: 64 prompts of 512 tokens, 4 system prompts of 448. With
    --enable-prefix-caching each prefix's first request computes it; the 60 others take its 448 // 16 = 28 blocks:
    60 x 448 = 26,880 cached of 64 x 512 = 32,768 prompt tokens, a hit rate of 0.8203."""
    out = tmp_path / "runs.csv"
    base = ["run", "--engine", "sim", "--hardware", "H20", "--model", "qwen2.5-7b-instruct", "--dataset",
            "shared-prefix", "--prefix-len", "448", "--input-len", "512", "--output-len", "128", "--num-prompts", "64",
            "--max-num-seqs", "16", "--out", str(out)]
    assert cli.main(base) == 0
    assert cli.main([*base, "--enable-prefix-caching"]) == 0
    capsys.readouterr()
    with out.open(newline="") as f:
        off, on = list(csv.DictReader(f))
    assert (off["prefix_caching"], off["cached_prompt_tokens"], float(off["prefix_cache_hit_rate"])) == ("off", "0", 0.0)
    assert (on["prefix_caching"], int(on["cached_prompt_tokens"])) == ("on", 26_880)
    assert float(on["prefix_cache_hit_rate"]) == pytest.approx(26_880 / 32_768)
    # the prefill saved shows in the time and the price of an input token
    assert float(on["prefill_s"]) < float(off["prefill_s"]) and float(on["elapsed_s"]) < float(off["elapsed_s"])
    assert float(on["cny_per_m_blended"]) < float(off["cny_per_m_blended"])


def test_a_sim_row_prints_its_cost_or_why_not(tmp_path, capsys):
    args = ["run", "--engine", "sim", "--model", "qwen2.5-7b-instruct", "--num-prompts", "8", "--out",
            str(tmp_path / "runs.csv")]
    assert cli.main([*args, "--hardware", "H20"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "CNY/M blended (3:1), 10.5 CNY/GPU-h: autodl.com" in out
    assert cli.main([*args, "--hardware", "A100-40G-SXM"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "not priced: A100-40G-SXM has no rental price in hardware.yaml; pass --gpu-cny-per-hour A100-40G-SXM=X" in out
