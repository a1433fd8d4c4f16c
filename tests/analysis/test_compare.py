"""bench compare: planted regressions are flagged (exit 1), small changes pass (exit 0), bad input
is one line with exit 2; verdicts know each metric's direction and the noise of repeated rows."""

import csv
import math

import pytest
from bench.results import store as results
from result_rows import row, write_rows

from bench.analysis import compare as cmp
from bench.cli import main


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def sweep(**over) -> list[dict]:
    return [row(m, "H100-SXM", b, **over) for m in ("qwen2.5-7b-instruct", "glm-4-9b-chat") for b in (8, 32, 128)]


@pytest.fixture
def base(tmp_path):
    return write_rows(tmp_path / "base.csv", sweep())


def test_directions():
    assert cmp.direction("output_tok_s") == cmp.HIGHER_IS_BETTER
    assert cmp.direction("goodput_req_s") == cmp.HIGHER_IS_BETTER
    assert cmp.direction("tokens_per_cny") == cmp.HIGHER_IS_BETTER
    assert cmp.direction("efficiency") == cmp.HIGHER_IS_BETTER
    for m in ("ttft_p99_ms", "itl_p50_ms", "ttft_p90_ms", "elapsed_s", "cny_per_m_blended", "cny_per_m_output",
              "joules_per_output_token", "energy_j", "avg_power_w", "peak_memory_gb"):
        assert cmp.direction(m) == cmp.LOWER_IS_BETTER, m
    assert cmp.direction("model") is None and cmp.direction("seed") is None


@pytest.mark.parametrize("base,new,d,verdict", [
    ([100.0], [80.0], 1, "worse"),  # throughput -20%
    ([100.0], [99.0], 1, "within noise"),  # -1%
    ([100.0], [120.0], 1, "better"),
    ([10.0], [12.0], -1, "worse"),  # latency +20%
    ([10.0], [8.0], -1, "better"),
    ([100.0, 70.0, 130.0], [80.0, 75.0, 85.0], 1, "within noise"),  # ranges overlap: noise
    ([100.0, 99.0, 101.0], [80.0, 79.0, 81.0], 1, "worse"),  # tight repeats, clear drop
])
def test_verdict(base, new, d, verdict):
    assert cmp.verdict(cmp.spread(base), cmp.spread(new), d, 0.05) == verdict


def test_spread_and_change():
    s = cmp.spread([3.0, 1.0, 2.0])
    assert (s.n, s.median, s.min, s.max) == (3, 2.0, 1.0, 3.0)
    assert s.relative_range == pytest.approx(1.0)
    assert cmp.relative_change(100, 80) == pytest.approx(-0.2)
    assert cmp.relative_change(0, 0) == 0 and math.isinf(cmp.relative_change(0, 1))
    assert cmp.verdict(None, s, 1, 0.05) == "missing"


def test_parse_threshold():
    assert cmp.parse_threshold("5%") == pytest.approx(0.05)
    assert cmp.parse_threshold("2.5") == pytest.approx(0.025)
    for bad in ("x", "-1%", "inf"):
        with pytest.raises(ValueError):
            cmp.parse_threshold(bad)


def test_planted_20_percent_drop_is_a_regression(capsys, tmp_path, base):
    rows = sweep()
    rows[4] = row("glm-4-9b-chat", "H100-SXM", 32, scale=0.8)
    new = write_rows(tmp_path / "new.csv", rows)
    code, out, _ = run_cli(capsys, "compare", base, new)
    assert code == 1
    assert "REGRESSION" in out and "glm-4-9b-chat max_num_seqs=32 output_tok_s -20%" in out


def test_one_percent_drop_passes(capsys, tmp_path, base):
    new = write_rows(tmp_path / "new.csv", sweep(scale=0.99))
    code, out, _ = run_cli(capsys, "compare", base, new, "--threshold", "5%")
    assert code == 0
    assert "no regression beyond 5%" in out and "worse" not in out


def test_threshold_decides(capsys, tmp_path, base):
    new = write_rows(tmp_path / "new.csv", sweep(scale=0.97))
    assert run_cli(capsys, "compare", base, new, "--threshold", "5")[0] == 0
    assert run_cli(capsys, "compare", base, new, "--threshold", "1%")[0] == 1


def test_latency_up_is_worse_and_throughput_up_is_better(capsys, tmp_path, base):
    rows = [dict(r, ttft_p99_ms=r["ttft_p99_ms"] * 1.5) for r in sweep(scale=1.3)]
    new = write_rows(tmp_path / "new.csv", rows)
    code, out, _ = run_cli(capsys, "compare", base, new, "--metrics", "output_tok_s,ttft_p99_ms")
    assert code == 1
    c = cmp.compare(list(csv.DictReader(base.open())), list(csv.DictReader(new.open())),
                    cmp.resolve_key(None, [*rows[0]], [*rows[0]]), ["output_tok_s", "ttft_p99_ms"], 0.05)
    verdicts = {(case.key[0], m.metric): m.verdict for case in c.cases for m in case.changes}
    assert verdicts[("glm-4-9b-chat", "output_tok_s")] == "better"
    assert verdicts[("glm-4-9b-chat", "ttft_p99_ms")] == "worse"


def test_repeated_rows_give_a_spread(capsys, tmp_path):
    base = write_rows(tmp_path / "base.csv", [row(scale=s, run=i) for i, s in enumerate((1.0, 0.8, 1.2))])
    new = write_rows(tmp_path / "new.csv", [row(scale=s, run=i) for i, s in enumerate((0.9, 0.85, 0.95))])
    code, out, _ = run_cli(capsys, "compare", base, new, "--metrics", "output_tok_s", "--out", tmp_path / "c.csv")
    assert code == 0  # -10% but inside the base's min..max: noise
    assert "n=3" in out and "within noise" in out
    rec = next(csv.DictReader((tmp_path / "c.csv").open()))
    assert rec["base_n"] == "3" and rec["verdict"] == "within noise"
    assert float(rec["pct_change"]) == pytest.approx(-0.1, abs=1e-3)
    assert float(rec["noise"]) == pytest.approx(0.4, abs=1e-3)


def test_environment_differences_are_listed(capsys, tmp_path, base):
    rows = [dict(r, device_name="NVIDIA H20", vllm_version="0.33.0", weights="real") for r in sweep()]
    new = write_rows(tmp_path / "new.csv", rows)
    out_md = tmp_path / "c.md"
    run_cli(capsys, "compare", base, new, "--out", out_md)
    md = out_md.read_text()
    env = md[md.index("## Environment differences"):md.index("## Metrics")]
    for needle in ("| device_name | NVIDIA H100 80GB HBM3 | NVIDIA H20 |", "| vllm_version | 0.32.0 | 0.33.0 |",
                   "| weights | dummy | real |"):
        assert needle in env
    assert "hostname" not in env


def test_sim_rows_against_measured_rows(capsys, tmp_path, base):
    from result_rows import sim_row

    sims = [sim_row(m, "H100-SXM", b) for m in ("qwen2.5-7b-instruct", "glm-4-9b-chat") for b in (8, 32, 128)]
    new = write_rows(tmp_path / "sim.csv", sims)
    code, out, _ = run_cli(capsys, "compare", new, base, "--metrics", "output_tok_s")
    assert code == 1  # measured is 60% of the roofline: worse than the prediction
    assert "engine" in out and "sim" in out and "efficiency" not in out.split("metrics")[0]


def test_older_file_without_later_columns(capsys, tmp_path):
    old = tmp_path / "old.csv"
    r = row()
    cols = [c for c in r if c not in ("e2e_p50_ms", "e2e_p99_ms", "length_dist", "pipeline_parallel_size")]
    with old.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerow(r)
    new = write_rows(tmp_path / "new.csv", [row(scale=1.01)])
    code, out, _ = run_cli(capsys, "compare", old, new)
    assert code == 0 and "e2e_p99_ms" not in out and "output_tok_s" in out and "1 case(s) in both" in out
    code, _, err = run_cli(capsys, "compare", old, new, "--metrics", "e2e_p99_ms")
    assert code == 2 and "only in NEW" in err


def test_serving_rows_match_by_load(capsys, tmp_path):
    def serve(rate, scale=1.0):
        return row(batch=256, scale=scale, run=rate, request_rate=rate, itl_p99_ms=30.0 / scale, goodput_req_s=rate)
    base = write_rows(tmp_path / "base.csv", [serve(r) for r in (1, 2, 4)])
    new = write_rows(tmp_path / "new.csv", [serve(1), serve(2), serve(4, scale=0.7)])
    code, out, _ = run_cli(capsys, "compare", base, new, "--out", tmp_path / "c.csv")
    assert code == 1
    recs = list(csv.DictReader((tmp_path / "c.csv").open()))
    worse = {(r["request_rate"], r["metric"]) for r in recs if r["verdict"] == "worse"}
    assert ("4", "itl_p99_ms") in worse and ("4", "goodput_req_s") not in worse
    assert {rate for rate, _ in worse} == {"4"}


@pytest.mark.parametrize("setup,args,needle", [
    ("future", [], "schema version 99"),
    ("other", ["--key", "model,max_num_seq"], "no column 'max_num_seq' in either file; did you mean max_num_seqs"),
    ("same", ["--metrics", "output_tok"], "no column 'output_tok' in either file; did you mean output_tok_s"),
    ("same", ["--metrics", "seed"], "not a metric with a known direction"),
    ("disjoint", [], "no case is in both files"),
    ("notbench", [], "not a bench results CSV"),
    ("same", ["--threshold", "abc"], "expected a percentage"),
    ("same", ["--out", "x.txt"], "ending in .csv or .md"),
])
def test_bad_input(capsys, tmp_path, base, setup, args, needle):
    new = tmp_path / "new.csv"
    if setup == "future":
        write_rows(new, sweep())
        new.write_text(new.read_text().replace(f"\n{results.SCHEMA_VERSION},", "\n99,"))
    elif setup == "disjoint":
        write_rows(new, [row(input_len=1024)])
    elif setup == "notbench":
        new.write_text("a,b\n1,2\n")
    else:
        write_rows(new, sweep())
    code, out, err = run_cli(capsys, "compare", base, new, *args)
    assert code == 2, err
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x.txt").exists()


def test_missing_file(capsys, tmp_path, base):
    code, _, err = run_cli(capsys, "compare", base, tmp_path / "nope.csv")
    assert code == 2 and "no such results file" in err


def test_a_large_comparison_prints_the_lines_that_matter_first(capsys, tmp_path, base, monkeypatch):
    """6 cases x 2 metrics = 12 lines; the table is bounded to 3: the 2 regressions (the -20% case's throughput
    down and TTFT p99 up) first, then an improvement; the line under it counts what was left out."""
    from bench.display import compare as show

    monkeypatch.setattr(show, "MAX_TABLE_LINES", 3)
    rows = sweep()
    rows[4] = row("glm-4-9b-chat", "H100-SXM", 32, scale=0.8)  # output_tok_s x 0.8: -20%, worse
    rows[1] = row("qwen2.5-7b-instruct", "H100-SXM", 32, scale=1.5)  # +50%, better
    new = write_rows(tmp_path / "new.csv", rows)
    code, out, _ = run_cli(capsys, "compare", base, new, "--metrics", "output_tok_s,tpot_p50_ms",
                           "--out", tmp_path / "c.csv")
    assert code == 1
    table = out[out.index("metrics"):out.index("showing")]
    assert table.count("worse") == 2 and table.count("better") == 1 and "within noise" not in table
    # tpot 1/scale: x 1.25 (+25%, worse) and x 0.667 (better); 12 lines = 2 worse + 2 better + 8 within noise
    assert "showing 3 of 12 case x metric lines (2 better, 2 worse, 8 within noise)" in " ".join(out.split())
    assert len(list(csv.DictReader((tmp_path / "c.csv").open()))) == 12  # --out has every line


def _file_of_version(path, rows: list[dict], version: int, columns: list[str]) -> None:
    """`rows` as a bench of schema `version` wrote them: its columns only, its version in every row."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows({**{k: "" if v is None else v for k, v in r.items()}, "schema_version": version} for r in rows)


def test_a_v3_file_and_a_v4_file_of_the_same_cases_find_them_all(tmp_path, capsys):
    from bench.results import schema

    v4_columns = [c.name for c in schema.DECLARED if c.since <= 4]
    v3_columns = [c.name for c in schema.DECLARED if c.since <= 3]
    cases = sweep() + [row("qwen2.5-0.5b-instruct", "H20", b, engine="sim") for b in (8, 32)]
    # version 4 wrote what version 3 left unsaid: the workload (random, fixed lengths) and vLLM's prefix caching
    as_v4 = [{**r, "dataset": "random", "prefix_caching": "off" if r["engine"] == "vllm" else "",
              **{f"{side}_{s}": r[side] for side in ("input_len", "output_len") for s in ("p50", "p99", "max")}}
             for r in cases]
    _file_of_version(tmp_path / "v3.csv", cases, 3, v3_columns)
    _file_of_version(tmp_path / "v4.csv", as_v4, 4, v4_columns)
    code, out, err = run_cli(capsys, "compare", tmp_path / "v3.csv", tmp_path / "v4.csv")
    assert code == 0, err
    assert f"{len(cases)} case(s)" in out and "no case is in both" not in err
    base, new = results.read_frame(tmp_path / "v3.csv")[1], results.read_frame(tmp_path / "v4.csv")[1]
    keys = cmp.resolve_key(None, list(base.columns), list(new.columns))
    assert {"dataset", "prefix_caching"} <= set(keys)
    c = cmp.compare(base, new, keys, ["output_tok_s"], 0.05)
    assert len(c.cases) == len(cases) and c.only_base == [] and c.only_new == []


def test_repeated_sides_carry_their_t_intervals_and_welchs_confidence(capsys, tmp_path):
    # base 100 x (1.0, 0.8, 1.2), new x (0.9, 0.85, 0.95) of the same row: scale means 1.0 and 0.9, sample sds
    # 0.2 and 0.05; t(.975, 2) = 4.302653: half-widths 4.302653 x 0.2 / sqrt(3) = 0.49683 and 0.12421 (x the
    # row's output_tok_s); Welch: t = 0.1 / sqrt(0.04/3 + 0.0025/3) = 0.84017, df = 2.2490, p = 0.4807
    base = write_rows(tmp_path / "base.csv", [row(scale=s, run=i) for i, s in enumerate((1.0, 0.8, 1.2))])
    new = write_rows(tmp_path / "new.csv", [row(scale=s, run=i) for i, s in enumerate((0.9, 0.85, 0.95))])
    code, out, _ = run_cli(capsys, "compare", base, new, "--metrics", "output_tok_s", "--out", tmp_path / "c.csv")
    assert code == 0 and "within noise (52% sure of a change, Welch)" in " ".join(out.split())
    rec = next(csv.DictReader((tmp_path / "c.csv").open()))
    one = float(rec["base_median"])  # the row's output_tok_s at scale 1
    assert float(rec["base_ci_low"]) == pytest.approx(one * (1 - 0.49683), rel=1e-4)
    assert float(rec["new_ci_high"]) == pytest.approx(one * (0.9 + 0.12421), rel=1e-4)
    assert float(rec["p_change"]) == pytest.approx(1 - 0.4807, abs=1e-4)


def test_compare_calls_a_regression_only_when_the_t_intervals_are_apart():
    from bench.analysis import compare as cmp

    # min..max ranges apart (99..101 vs 95..96) but the 95% t-intervals are not: base [99, 101] mean 100, s 1.414,
    # t(.975, 1) = 12.706: half-width 12.706 x 1.414 / sqrt(2) = 12.706 -> 87.29-112.71; new [95, 96]:
    # 95.5 +- 12.706 x 0.7071 / 1.4142 = 95.5 +- 6.353: they overlap, so -4.5% of throughput is within noise
    base, new = cmp.spread([99.0, 101.0]), cmp.spread([95.0, 96.0])
    assert base.interval == pytest.approx((100 - 12.7062, 100 + 12.7062), abs=1e-3)
    assert new.interval == pytest.approx((95.5 - 6.3531, 95.5 + 6.3531), abs=1e-3)
    assert cmp.verdict(base, new, 1, 0.01) == "within noise"
    # tight repeats, clear drop: [100, 99, 101] (97.52-102.48) vs [80, 79, 81] (77.52-82.48): worse
    assert cmp.verdict(cmp.spread([100.0, 99.0, 101.0]), cmp.spread([80.0, 79.0, 81.0]), 1, 0.05) == "worse"
    # Welch by hand as in test_welch_within_noise_and_real_change: [10, 12, 14] vs [11, 13, 15]: p = 0.5734
    got = cmp.p_change(cmp.spread([10.0, 12.0, 14.0]), cmp.spread([11.0, 13.0, 15.0]))
    assert got == pytest.approx(1 - 0.5734, abs=1e-4)
    assert cmp.p_change(cmp.spread([10.0]), cmp.spread([11.0, 13.0])) is None
