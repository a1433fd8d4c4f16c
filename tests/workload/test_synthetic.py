from bench.workload.synthetic import Request, length_bounds, sample_requests, special_token_ids


def test_same_seed_same_requests_other_seed_differs():
    a = sample_requests(8, 32, 16, vocab_size=1000, seed=7)
    b = sample_requests(8, 32, 16, vocab_size=1000, seed=7)
    c = sample_requests(8, 32, 16, vocab_size=1000, seed=8)
    assert a == b
    assert a != c


def test_fixed_lengths_are_exact():
    reqs = sample_requests(5, 128, 64, vocab_size=50, seed=0)
    assert [r.prompt_len for r in reqs] == [128] * 5
    assert [r.output_len for r in reqs] == [64] * 5
    assert all(0 <= t < 50 for r in reqs for t in r.prompt_token_ids)


def test_special_tokens_are_never_sampled():
    cfg = {"bos_token_id": 1, "eos_token_id": [2, 3], "pad_token_id": 0}
    avoid = special_token_ids(cfg)
    assert avoid == {0, 1, 2, 3}
    reqs = sample_requests(20, 64, 4, vocab_size=6, seed=1, avoid_token_ids=avoid)
    assert {t for r in reqs for t in r.prompt_token_ids} == {4, 5}


def test_uniform_lengths_stay_in_bounds_and_vary():
    assert length_bounds(100, "uniform", 0.5) == (50, 150)
    reqs = sample_requests(200, 100, 40, vocab_size=100, seed=3, dist="uniform", range_ratio=0.5)
    ins = [r.prompt_len for r in reqs]
    outs = [r.output_len for r in reqs]
    assert min(ins) >= 50 and max(ins) <= 150 and len(set(ins)) > 20
    assert min(outs) >= 20 and max(outs) <= 60


def test_normal_lengths_are_clipped_at_three_sigma_and_centered():
    lo, hi = length_bounds(100, "normal", 0.1)
    assert (lo, hi) == (70, 130)
    reqs = sample_requests(500, 100, 10, vocab_size=100, seed=4, dist="normal", range_ratio=0.1)
    ins = [r.prompt_len for r in reqs]
    assert lo <= min(ins) and max(ins) <= hi
    assert 97 <= sum(ins) / len(ins) <= 103


def test_lengths_never_drop_below_one():
    assert length_bounds(2, "normal", 1.0)[0] == 1
    reqs = sample_requests(50, 2, 2, vocab_size=10, seed=0, dist="normal", range_ratio=1.0)
    assert min(r.prompt_len for r in reqs) >= 1 and min(r.output_len for r in reqs) >= 1


def test_request_prompt_len():
    assert Request([5, 6, 7], 3).prompt_len == 3
