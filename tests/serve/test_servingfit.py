"""The serving path fitted from measured serve rows (bench.serve.servingfit, `bench calibrate --serve-rows`): rows
built from the simulated server's own figures plus a planted front-end cost, which the fit must recover. The
arithmetic of each planted miss is written out; no engine, no vllm."""

from __future__ import annotations

import dataclasses

import pytest

from bench.core.errors import BenchError
from bench.roofline import predict, profile
from bench.roofline.servingpath import ServingPath
from bench.serve import servingfit
from tests.result_rows import row as result_row, write_rows

HW = "H100-SXM"
MODEL = "qwen2.5-7b-instruct"


def serve_row(concurrency: int, tpot_ms: float = 1.0, ttft_ms: float = 1.0, **over) -> dict:
    r = result_row(MODEL, HW, batch=16, input_len=512, output_len=32, num_prompts=8, hardware=HW,
                   load_mode="concurrency", concurrency=concurrency, dataset="random", tpot_p50_ms=tpot_ms,
                   ttft_p50_ms=ttft_ms)
    r.update(over)
    return r


def planted(prof, concurrency: int, tpot_plus_ms: float, ttft_plus_ms: float) -> dict:
    """A measured row: the sim's figures with the term at 0, plus the planted misses (TTFT's at p50 and p90 alike)."""
    tpot0, ttft0, ttft90 = servingfit.predicted_ms(serve_row(concurrency), HW, prof)
    return serve_row(concurrency, tpot0 + tpot_plus_ms, ttft0 + ttft_plus_ms, ttft_p90_ms=ttft90 + ttft_plus_ms)


def published():
    return predict.load_profile(None)


def test_one_level_at_concurrency_1_gives_the_token_and_the_request_cost():
    """C = 1 on cores the front end shares: each decode step streams 1 token, so TPOT = engine + t; the request's
    first step admits it and streams its first token, so TTFT = prefill + q + t. Planted TPOT + 5 ms and TTFT + 35 ms:
    t = 5 ms, q = 35 - 5 = 30 ms."""
    prof = published()
    path = servingfit.fit([planted(prof, 1, 5.0, 35.0)], HW, prof, free=("stream_token_s", "stream_request_s"),
                          shares_cores=True)
    assert (path.stream_token_s, path.stream_request_s) == pytest.approx((0.005, 0.030), rel=1e-4)
    assert path.shares_cores is True and path.stream_step_s == 0.0
    assert path.source.startswith("measured: fitted on 1 bench serve rows of qwen2.5-7b-instruct (concurrency 1)")


def test_in_series_one_level_at_concurrency_1_gives_the_step_and_the_request_cost():
    """C = 1 with the front end in series: TPOT = engine + s (the per-step term stays on the step, and each token is
    streamed while the front end is idle, adding nothing to the gap between tokens once t is 0); TTFT = q (before the
    engine sees the request) + prefill + s. Planted TPOT + 4 ms and TTFT + 34 ms: s = 4 ms, q = 34 - 4 = 30 ms."""
    prof = published()
    path = servingfit.fit([planted(prof, 1, 4.0, 34.0)], HW, prof, free=("stream_step_s", "stream_request_s"),
                          shares_cores=True, in_series=True)
    assert (path.stream_step_s, path.stream_request_s) == pytest.approx((0.004, 0.030), rel=1e-4)
    assert path.in_series and path.stream_token_s == 0.0


def test_in_series_on_its_own_core_the_step_is_the_longer_of_engine_and_front_end():
    """C = 1, the front end in series on a core of its own (`--front-end series-own-cores`): a decode step lasts
    max(engine e, s), so a front end slower than the engine sets TPOT = s. The sim's decode step at the term 0 is
    e = tpot0; planted TPOT = e + 4 ms: s = e + 4 ms. Its prefill step (512 tokens) is longer than s, so TTFT = q +
    prefill: planted TTFT + 30 ms, q = 30 ms. From s = 0 the step's effect is 0 (max(e, 0 + 1 ms) = e): the fit's
    second start, at the measured TPOT, finds it."""
    prof = published()
    tpot0, ttft0, ttft90 = servingfit.predicted_ms(serve_row(1), HW, prof)
    assert ttft0 > tpot0 + 4.0  # the prefill step outlasts the planted front end: TTFT moves by q alone
    path = servingfit.fit([planted(prof, 1, 4.0, 30.0)], HW, prof, free=("stream_step_s", "stream_request_s"),
                          shares_cores=False, in_series=True)
    assert (path.stream_step_s, path.stream_request_s) == pytest.approx(((tpot0 + 4.0) / 1e3, 0.030), rel=1e-3)
    assert path.in_series and path.shares_cores is False
    # the same rows started from 0 alone: the step's effect is 0 there and it stays 0, TTFT's miss all on q
    alone, _ = servingfit.descend(ServingPath(shares_cores=False, in_series=True), ("stream_step_s",
                                  "stream_request_s"), [tpot0 + 4.0, ttft0 + 30.0, ttft90 + 30.0],
                                  lambda p: list(servingfit.predicted_ms(serve_row(1), HW,
                                                                         dataclasses.replace(prof, serving=p))))
    assert alone.stream_step_s == 0.0


def test_a_level_of_4_streams_charges_4_tokens_a_step():
    """C = 4 in lockstep (8 equal requests, two waves of 4): each decode step streams 4 tokens and each wave's first
    step admits 4 requests and streams their 4 first tokens. Planted t = 3 ms: TPOT + 4 x 3 = 12 ms, TTFT + 4 x 3 =
    12 ms; the fit of the token cost alone gives 12 / 4 = 3 ms."""
    prof = published()
    path = servingfit.fit([planted(prof, 4, 12.0, 12.0)], HW, prof, free=("stream_token_s",), shares_cores=True)
    assert path.stream_token_s == pytest.approx(0.003, rel=1e-4) and path.stream_request_s == 0.0


def test_rows_faster_than_predicted_give_no_cost():
    """Every figure below the prediction: the costs stay at 0, never negative."""
    prof = published()
    path = servingfit.fit([planted(prof, 1, -1.0, -2.0)], HW, prof, shares_cores=True)
    assert path.is_zero


def test_rows_that_cannot_be_rebuilt_are_refused():
    prof = published()
    with pytest.raises(BenchError, match="no measured ok serve levels"):
        servingfit.fit([serve_row(1, status="failed")], HW, prof)
    with pytest.raises(BenchError, match="--dataset random with fixed lengths"):
        servingfit.fit([serve_row(1, dataset="sharegpt")], HW, prof)
    with pytest.raises(BenchError, match="stream_tokens_s is not one of"):
        servingfit.fit([serve_row(1)], HW, prof, free=("stream_tokens_s",))


def test_calibrate_with_serve_rows_writes_the_serving_path(tmp_path, capsys):
    """`bench calibrate RUNS --serve-rows SERVE --front-end shared`: the engine parameters are those of the
    calibration without serve rows; the serving path is fitted on the serve row (planted as above: t = 5 ms,
    q = 30 ms) with the profile's own engine, and stated as measured, on shared cores."""
    from bench import cli

    runs = write_rows(tmp_path / "runs.csv", [result_row(MODEL, HW, batch=b, input_len=n, hardware=HW)
                                              for b, n in ((1, 512), (8, 512), (32, 1024), (64, 256))])
    assert cli.main(["calibrate", str(runs), "--out", str(tmp_path / "engine.yaml")]) == 0
    engine = profile.load(tmp_path / "engine.yaml")
    assert engine.serving == ServingPath()
    serve = write_rows(tmp_path / "serve.csv", [planted(engine, 1, 5.0, 35.0)])
    out = tmp_path / "served.yaml"
    assert cli.main(["calibrate", str(runs), "--serve-rows", str(serve), "--front-end", "shared",
                     "--serve-free", "stream_token_s,stream_request_s", "--out", str(out)]) == 0, \
        capsys.readouterr().err
    got = profile.load(out)
    assert got.parameters == engine.parameters
    assert (got.serving.stream_token_s, got.serving.stream_request_s) == pytest.approx((0.005, 0.030), rel=1e-3)
    assert got.serving.shares_cores is True and got.serving.source.startswith("measured")
    assert "5 ms per streamed token, 0 ms per step, 30 ms per request" in capsys.readouterr().out
    # the same rows on a GPU left to `auto`: the front end has cores of its own (not stated shared)
    assert cli.main(["calibrate", str(runs), "--serve-rows", str(serve), "--out", str(out)]) == 0
    assert profile.load(out).serving.shares_cores is False
    # stated in series: written so, and said so
    assert cli.main(["calibrate", str(runs), "--serve-rows", str(serve), "--front-end", "series", "--out",
                     str(out)]) == 0
    assert profile.load(out).serving.in_series and profile.load(out).serving.shares_cores is True
    assert "in series with the engine" in capsys.readouterr().out
    # a parameter that is not one: one line, exit 2, no profile written
    capsys.readouterr()
    bad = tmp_path / "bad.yaml"
    assert cli.main(["calibrate", str(runs), "--serve-rows", str(serve), "--serve-free", "stream_tokens_s",
                     "--out", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stream_tokens_s is not one of" in err[0] and not bad.exists()


def test_calibrate_takes_the_serving_path_of_another_profile(tmp_path, capsys):
    """`--serving-from P`: the engine fitted on these rows, the serving path P's (fitted on another model's serve rows
    with that model's own engine), its source saying where it came from. Refused in one line, exit 2, nothing
    written: a profile without a measured path, one of another machine, and --serve-rows beside it."""
    from bench import cli

    runs = write_rows(tmp_path / "runs.csv", [result_row(MODEL, HW, batch=b, input_len=n, hardware=HW)
                                              for b, n in ((1, 512), (8, 512), (32, 1024), (64, 256))])
    assert cli.main(["calibrate", str(runs), "--out", str(tmp_path / "engine.yaml")]) == 0
    engine = profile.load(tmp_path / "engine.yaml")
    serve = write_rows(tmp_path / "serve.csv", [planted(engine, 1, 4.0, 34.0)])
    other = tmp_path / "other.yaml"
    assert cli.main(["calibrate", str(runs), "--serve-rows", str(serve), "--front-end", "series", "--out",
                     str(other)]) == 0
    out = tmp_path / "taken.yaml"
    assert cli.main(["calibrate", str(runs), "--serving-from", str(other), "--out", str(out)]) == 0
    got, fitted = profile.load(out), profile.load(other).serving
    assert got.parameters == engine.parameters and got.serving.in_series
    assert (got.serving.stream_step_s, got.serving.stream_request_s) == (fitted.stream_step_s, fitted.stream_request_s)
    assert got.serving.source == f"{fitted.source}; taken from profile other (other.yaml)"
    capsys.readouterr()
    other_machine = write_rows(tmp_path / "h20.csv", [result_row(MODEL, "H20", batch=b, input_len=512, hardware="H20")
                                                      for b in (1, 8, 32)])
    for argv, message in ((["--serving-from", str(tmp_path / "engine.yaml")], "has no measured serving path"),
                          (["--serving-from", str(other), "--serve-rows", str(serve)], "not both")):
        bad = tmp_path / "bad.yaml"
        assert cli.main(["calibrate", str(runs), *argv, "--out", str(bad)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0] and not bad.exists()
    assert cli.main(["calibrate", str(other_machine), "--serving-from", str(other), "--out", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fitted on H100-SXM, these rows ran on H20" in err[0] and not bad.exists()


def test_a_profile_with_the_path_predicts_the_planted_rows(tmp_path):
    """The fitted path in the profile: the simulated server then gives the planted figures back."""
    prof = published()
    row = planted(prof, 1, 5.0, 35.0)
    fitted = dataclasses.replace(prof, serving=servingfit.fit([row], HW, prof, shares_cores=True))
    assert servingfit.predicted_ms(row, HW, fitted) == pytest.approx(
        (row["tpot_p50_ms"], row["ttft_p50_ms"], row["ttft_p90_ms"]), rel=1e-4)


def test_a_latency_that_varies_is_told_from_a_fixed_one_by_the_p90():
    """Rows planted from the simulated server itself with a request latency of mean 3 ms, drawn exponential (64
    requests at one stream, seed 0): TTFT p50 moves by about 3 x ln 2 = 2.1 ms and p90 by about 3 x ln 10 = 6.9 ms,
    TPOT not at all. The fit (request_latency_s and stream_request_s free) gives the latency back, its mean 3 ms,
    and no work; a fixed delay cannot move p50 and p90 apart."""
    prof = published()
    row = serve_row(1, num_prompts=64)
    truth = dataclasses.replace(prof, serving=ServingPath(request_latency_s=0.003, shares_cores=True,
                                                          latency_dist="exponential"))
    base = servingfit.predicted_ms(row, HW, prof)
    tpot, p50, p90 = servingfit.predicted_ms(row, HW, truth)
    assert tpot == pytest.approx(base[0], rel=1e-9)
    assert 1.0 < p50 - base[1] < 3.5 and 4.5 < p90 - base[2] < 10.0  # sample quantiles of 64 draws
    planted_row = serve_row(1, tpot, p50, ttft_p90_ms=p90, num_prompts=64)
    path = servingfit.fit([planted_row], HW, prof, free=("stream_request_s", "request_latency_s"), shares_cores=True)
    assert path.latency_dist == "exponential"
    assert path.request_latency_s == pytest.approx(0.003, rel=0.02) and path.stream_request_s < 1e-4


def test_a_measured_path_of_zero_is_taken_by_serving_from(tmp_path):
    """Serve rows no slower than the engine predicts fit a path of 0: measured, not assumed, so another model's profile
    takes it (`--serving-from`) and says where it came from; only a profile with no measured path is refused."""
    from bench import cli

    runs = write_rows(tmp_path / "runs.csv", [result_row(MODEL, HW, batch=b, input_len=n, hardware=HW)
                                              for b, n in ((1, 512), (8, 512), (32, 1024), (64, 256))])
    assert cli.main(["calibrate", str(runs), "--out", str(tmp_path / "engine.yaml")]) == 0
    engine = profile.load(tmp_path / "engine.yaml")
    serve = write_rows(tmp_path / "serve.csv", [planted(engine, 1, -1.0, -2.0)])
    other = tmp_path / "other.yaml"
    assert cli.main(["calibrate", str(runs), "--serve-rows", str(serve), "--front-end", "series-own-cores",
                     "--out", str(other)]) == 0
    fitted = profile.load(other).serving
    assert fitted.is_zero and fitted.source.startswith("measured: fitted on 1 bench serve rows")
    assert fitted.in_series and fitted.shares_cores is False
    out = tmp_path / "taken.yaml"
    assert cli.main(["calibrate", str(runs), "--serving-from", str(other), "--out", str(out)]) == 0
    assert profile.load(out).serving.source == f"{fitted.source}; taken from profile other (other.yaml)"


def test_a_level_whose_streams_came_all_at_once_is_not_fitted_on():
    """A level 73 of whose 96 requests got every token in one read (TTFT = E2E) says how delivery stalled, not what
    the server's path costs: left out (more than 10%); 9 of 96 (9.4%) is kept. With only such levels, no fit."""
    prof = published()
    kept = planted(prof, 1, 4.0, 34.0)
    kept.update(tpot_unmeasured=9, completed=96)
    stalled = planted(prof, 4, 40.0, 400.0)
    stalled.update(tpot_unmeasured=73, completed=96)
    assert servingfit.serve_rows([kept, stalled]) == [kept]
    path = servingfit.fit([kept, stalled], HW, prof, free=("stream_step_s", "stream_request_s"), shares_cores=True,
                          in_series=True)
    assert (path.stream_step_s, path.stream_request_s) == pytest.approx((0.004, 0.030), rel=1e-4)
    assert path.source.endswith("; 1 left out (over 10% of their streams all at once)")
    with pytest.raises(BenchError, match="at most 10% of their requests streamed all at once"):
        servingfit.fit([stalled], HW, prof)


def test_a_step_that_overshoots_is_halved():
    """One figure that rises 0.5 a ms of latency up to 1 ms and falls as much after (a closed loop's waves breaking
    apart bend the figures so), measured 2.0: from 0 the probe's slope (0.5 a ms) asks for 2 ms, where the figure is
    back at 1.0 (relative miss 0.5, no better than at 0): halved, 1 ms gives 1.5 (miss 0.25) and is taken; from there
    the slope points back to 0, every halving of that step is worse, and the descent stops at 1 ms."""
    def figures(p):
        u = p.request_latency_s / 1e-3
        return [1.0 + 0.5 * u if u <= 1.0 else 1.5 - 0.5 * (u - 1.0)]

    path, err = servingfit.descend(ServingPath(), ("request_latency_s",), [2.0], figures)
    assert path.request_latency_s == pytest.approx(0.001, rel=1e-9) and err == pytest.approx(0.0625, rel=1e-9)


def test_a_level_whose_request_does_not_fit_the_cards_cache_is_one_line():
    """The fit rebuilds each level without the capacity run (the SimServer's 3 x batch schedule: a level's figures
    need none); a request that cannot fit the simulated card's KV cache is then refused by the level itself, as one
    BenchError naming the row (qwen2.5-7b on an H100: 10^7 prompt tokens hold far more KV than 80 GB)."""
    with pytest.raises(BenchError, match=r"serve row big: .*does not fit H100-SXM's KV cache"):
        servingfit.predicted_ms(serve_row(1, input_len=10_000_000, run_id="big"), HW, published())


def test_the_path_is_described_once_for_people():
    path = ServingPath(stream_token_s=0.0195, stream_request_s=0.03, request_latency_s=0.002,
                       latency_dist="exponential", shares_cores=False, in_series=True)
    assert path.describe() == ("19.50 ms per streamed token, 0.00 ms per step, 30.00 ms per request, 2.00 ms on each "
                               "request's way (the mean of an exponential wait); in series with the engine, on cores "
                               "of its own")
    assert ServingPath().describe(lambda v: f"{v:g}").endswith("0 ms on each request's way; cores as the hardware says")
