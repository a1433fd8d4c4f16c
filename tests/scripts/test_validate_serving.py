"""scripts/validate_serving.py's table and its held-out level (--serving-fit), on hand-written rows: no server, no
vllm. The script's measured run itself is a script, not a test."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "validate_serving.py"
spec = importlib.util.spec_from_file_location("validate_serving", SCRIPT)
vs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vs)

HEADER = ["status", "concurrency", "request_rate", "ttft_p50_ms", "ttft_p90_ms", "tpot_p50_ms", "host_other_cpu_pct",
          "host_steal_pct"]


def write(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def level(conc="", rate="", ttft=100.0, ttft90=150.0, tpot=20.0, status="ok", other="", steal=""):
    return {"status": status, "concurrency": conc, "request_rate": rate, "ttft_p50_ms": ttft, "ttft_p90_ms": ttft90,
            "tpot_p50_ms": tpot, "host_other_cpu_pct": other, "host_steal_pct": steal}


def test_the_fitted_level_is_left_out_of_the_table(tmp_path):
    """Measured conc 1 and 4 and rate 2/s; predicted with the serving path (files -serving). Conc 1 is the fitted
    level: left out, so 2 levels are checked. Conc 4: 110/100 = 1.10, 150/150 = 1.00, 25/20 = 1.25 (within 25%, at
    the edge); rate 2/s: TPOT 30/20 = 1.50, out."""
    write(tmp_path / "serve-conc.csv", [level(conc=1), level(conc=4, other=0.25, steal=0.0)])
    write(tmp_path / "serve-rate.csv", [level(rate=2.0, other=12.0, steal=3.5)])
    write(tmp_path / "sim-conc-serving-conc1.csv", [level(conc=1), level(conc=4, ttft=110.0, tpot=25.0)])
    write(tmp_path / "sim-rate-serving-conc1.csv", [level(rate=2.0, tpot=30.0)])
    (tmp_path / "profile-serving-conc1.yaml").write_text(
        "name: p\nserving: {stream_token_s: 0.0195, stream_step_s: 0.0, stream_request_s: 0.03, shares_cores: true}\n")
    lines = vs.table(tmp_path, "markdown", "-serving-conc1", vs.held_out("conc:1"), "conc. 1, left out of the table")
    body = [ln for ln in lines if ln.startswith("| conc.") or ln.startswith("| rate")]
    assert [ln.split(" | ")[0] for ln in body] == ["| conc. 4", "| rate 2/s"]
    assert "(1.10)" in body[0] and "(1.25)" in body[0] and body[0].endswith("| 0.2 (0.0) | yes |")
    assert "(1.50)" in body[1] and body[1].endswith("| 12.0 (3.5) | no |")
    # figures: conc 4's three, rate 2/s's TTFT p50 and p90 (its TPOT out): 5 of 6
    assert "within 25% on all three: 1 of 2 (5 of 6 figures); worst |pred/meas - 1| 50%" in lines[-2]
    assert lines[-1].startswith("serving path fitted on conc. 1, left out")
    assert "19.50 ms per streamed token" in lines[-1] and "30.00 ms per request" in lines[-1]


def test_the_fit_level_is_a_measured_concurrency():
    assert vs.held_out(None) is None and vs.held_out("conc:16") == "conc. 16" and vs.held_out("model:tiny-glm") is None
    with pytest.raises(SystemExit, match="give conc:C"):
        vs.held_out("conc:2")
    with pytest.raises(SystemExit, match="give conc:C"):
        vs.held_out("rate:1")
    with pytest.raises(SystemExit, match="or model:NAME"):
        vs.held_out("model:")


def test_the_fit_rows_are_copied_with_their_header(tmp_path):
    write(tmp_path / "serve-conc.csv", [level(conc=1, ttft=158.2), level(conc=4), level(conc=1, status="failed")])
    vs.copy_rows(tmp_path / "serve-conc.csv", tmp_path / "fit.csv",
                 lambda r: r["status"] == "ok" and r["concurrency"] == "1")
    with open(tmp_path / "fit.csv", newline="") as f:
        got = list(csv.DictReader(f))
    assert len(got) == 1 and got[0]["ttft_p50_ms"] == "158.2" and list(got[0]) == HEADER


def test_file_suffixes_of_the_fitted_parameters():
    assert vs.tag_of("conc:1", vs.DEFAULT_FREE) == "-serving-conc1"
    assert vs.tag_of("model:tiny-glm", vs.DEFAULT_FREE) == "-serving-tiny-glm-own-engine"
    assert vs.tag_of("conc:1", "stream_token_s,stream_request_s") == "-serving-conc1-token-request"
    assert vs.tag_of("model:tiny-glm", "stream_token_s,stream_request_s", "shared") == \
        "-serving-tiny-glm-own-engine-token-request-shared"
    assert vs.tag_of("model:tiny-glm", vs.DEFAULT_FREE, fit_rates=True) == "-serving-tiny-glm-own-engine-rates"
    assert vs.tag_of("conc:1", vs.DEFAULT_FREE, fit_rates=True) == "-serving-conc1"  # no other model: no rates


def test_the_other_models_rates_are_shares_of_its_first_measured_16_streams(tmp_path):
    """Its first pass measured 40 requests/s at 16 streams (a later pass 50): 30% and 70% of 40 are 12 and 28/s; once
    measured, every later pass reads them back."""
    conc = tmp_path / "serve-fit-x.csv"
    with open(conc, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["status", "concurrency", "requests_per_s"], lineterminator="\n")
        w.writeheader()
        w.writerows([{"status": "ok", "concurrency": c, "requests_per_s": r}
                     for c, r in (("1", 5.0), ("16", 40.0), ("16", 50.0))])
    rates = tmp_path / "serve-fit-x-rates.csv"
    assert vs.fit_rates_of(conc, rates) == "12,28"
    with open(rates, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["status", "request_rate"], lineterminator="\n")
        w.writeheader()
        w.writerows([{"status": "ok", "request_rate": r} for r in ("28", "12")])
    assert vs.fit_rates_of(conc, rates) == "12,28"


def test_repeated_passes_are_judged_on_their_median(tmp_path):
    """Three passes of conc 4 (TPOT 18, 30, 20 ms: median 20; TTFT 100, 90, 130: median 100; p90 150 each) against a
    prediction of TPOT 25, TTFT 110, p90 150: 25/20 = 1.25, 110/100 = 1.10, 1.00, within 25%, the range beside the
    median. `passes` counts whole passes of the levels a file holds."""
    write(tmp_path / "serve-conc.csv", [level(conc=4, tpot=18.0), level(conc=4, ttft=90.0, tpot=30.0),
                                        level(conc=4, ttft=130.0, tpot=20.0)])
    write(tmp_path / "serve-rate.csv", [])
    write(tmp_path / "sim-conc.csv", [level(conc=4, ttft=110.0, tpot=25.0)])
    write(tmp_path / "sim-rate.csv", [])
    lines = vs.table(tmp_path, "markdown")
    row = next(ln for ln in lines if ln.startswith("| conc. 4"))
    assert row.startswith("| conc. 4 (x3) | 100.0 [90.0-130.0] / 110.0 (1.10)")
    assert "20.0 [18.0-30.0] / 25.0 (1.25)" in row and row.endswith("yes |")
    assert "| 0/0/0 | - - - | yes |" in row  # rows of before schema 9: no host columns, said as "-"
    assert vs.passes(tmp_path / "serve-conc.csv", 3) == 1 and vs.passes(tmp_path / "serve-conc.csv", 1) == 3
    assert vs.passes(tmp_path / "none.csv", 3) == 0


def test_again_the_first_sets_medians_against_the_second(tmp_path):
    """--again: conc 4 measured twice, three passes each. First set TTFT 100, 90, 130 (median 100), p90 150, TPOT
    18, 30, 20 (median 20); second set TTFT 120, 125, 140 (median 125), p90 150, TPOT 20, 21, 24 (median 21). The
    first set's medians as the "prediction" of the second: 100/125 = 0.80, 150/150 = 1.00, 20/21 = 0.95: within
    25%. The sim's 110, 150, 25 against the second set: 0.88, 1.00, 25/21 = 1.19, within. Rate 2/s was measured
    only in the first set: the second set has no row of it, nothing to judge."""
    write(tmp_path / "serve-conc.csv", [level(conc=4, tpot=18.0), level(conc=4, ttft=90.0, tpot=30.0),
                                        level(conc=4, ttft=130.0, tpot=20.0)])
    write(tmp_path / "serve-rate.csv", [level(rate=2.0)])
    write(tmp_path / "serve-conc-again.csv", [level(conc=4, ttft=120.0, tpot=20.0),
                                              level(conc=4, ttft=125.0, tpot=21.0),
                                              level(conc=4, ttft=140.0, tpot=24.0)])
    write(tmp_path / "sim-conc.csv", [level(conc=4, ttft=110.0, tpot=25.0)])
    write(tmp_path / "sim-rate.csv", [level(rate=2.0)])
    second = vs.measured_levels(tmp_path, again=True)
    assert list(second) == ["conc. 4"] and vs.measured_levels(tmp_path / "none", again=True) == {}
    first = vs.medians(vs.measured_levels(tmp_path))
    assert first == {"conc. 4": {"ttft_p50_ms": 100.0, "ttft_p90_ms": 150.0, "tpot_p50_ms": 20.0},
                     "rate 2/s": {"ttft_p50_ms": 100.0, "ttft_p90_ms": 150.0, "tpot_p50_ms": 20.0}}
    lines = vs.table(tmp_path, "markdown", measured=second, against=first, against_name="first set")
    assert "ttft_p50_ms meas [range] / first set (ratio)" in lines[0]
    row = next(ln for ln in lines if ln.startswith("| conc. 4"))
    assert row.startswith("| conc. 4 (x3) | 125.0 [120.0-140.0] / 100.0 (0.80) | 150.0 [150.0-150.0] / 150.0 (1.00) "
                          "| 21.0 [20.0-24.0] / 20.0 (0.95)") and row.endswith("yes |")
    assert lines[-1].startswith("levels within 25% on all three: 1 of 1 (3 of 3 figures); "
                                "worst |first set/meas - 1| 20%")
    sim = vs.table(tmp_path, "markdown", measured=second)
    row = next(ln for ln in sim if ln.startswith("| conc. 4"))
    assert "125.0 [120.0-140.0] / 110.0 (0.88)" in row and "21.0 [20.0-24.0] / 25.0 (1.19)" in row
    assert sim[-1].startswith("levels within 25% on all three: 1 of 1 (3 of 3 figures)")
    # a level of the second set the first never measured: no median to hold it against, a miss
    lone = vs.table(tmp_path, "markdown", measured={"rate 3/s": [level(rate=3.0)]}, against=first,
                    against_name="first set")
    assert "not measured in the other set" in lone[2] and lone[2].endswith("| no |")
    assert lone[-1].startswith("levels within 25% on all three: 0 of 1 (0 of 3 figures); "
                               "worst |first set/meas - 1| inf")


def test_a_rate_above_the_predicted_capacity_is_a_miss(tmp_path):
    """Measured at 30/s, a rate the sim refused (its capacity 25.5/s: no predicted row): the level is a miss, the
    capacity named."""
    write(tmp_path / "serve-conc.csv", [level(conc=1)])
    write(tmp_path / "serve-rate.csv", [level(rate=30.0)])
    with open(tmp_path / "sim-conc.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER + ["predicted_capacity_req_s"], lineterminator="\n")
        w.writeheader()
        w.writerow({**level(conc=1), "predicted_capacity_req_s": 25.5})
    write(tmp_path / "sim-rate.csv", [])
    lines = vs.table(tmp_path, "markdown")
    row = next(ln for ln in lines if ln.startswith("| rate 30/s"))
    assert "above the predicted capacity (25.5/s): unbounded queue" in row and row.endswith("| no |")
    assert lines[-1].startswith("levels within 25% on all three: 1 of 2 (3 of 6 figures); worst |pred/meas - 1| inf")


def test_the_measured_p99s_inside_the_predictions_band_are_counted(tmp_path):
    """Conc 4: TTFT p99 of its passes 90, 100, 130 (median 100) inside the band 80-120, TPOT p99 30, 31, 40 (median
    31) outside 20-30. Rate 2/s: TTFT p99 300 inside 200-inf (a slow edge that cannot sustain the rate), TPOT 25
    inside 20-30. Rows without a band (before schema 10) are not counted."""
    header = HEADER + ["ttft_p99_ms", "tpot_p99_ms", "predicted_band_low_ttft_p99_ms",
                       "predicted_band_high_ttft_p99_ms", "predicted_band_low_tpot_p99_ms",
                       "predicted_band_high_tpot_p99_ms"]

    def put(path, rows):
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=header, lineterminator="\n", restval="")
            w.writeheader()
            w.writerows(rows)
    put(tmp_path / "serve-conc.csv", [{**level(conc=4), "ttft_p99_ms": t, "tpot_p99_ms": p}
                                      for t, p in ((90, 30), (100, 31), (130, 40))])
    put(tmp_path / "serve-rate.csv", [{**level(rate=2.0), "ttft_p99_ms": 300, "tpot_p99_ms": 25}])
    band = {"predicted_band_low_ttft_p99_ms": 80, "predicted_band_high_ttft_p99_ms": 120,
            "predicted_band_low_tpot_p99_ms": 20, "predicted_band_high_tpot_p99_ms": 30}
    put(tmp_path / "sim-conc.csv", [{**level(conc=4), **band}])
    put(tmp_path / "sim-rate.csv", [{**level(rate=2.0), **band, "predicted_band_low_ttft_p99_ms": 200,
                                     "predicted_band_high_ttft_p99_ms": "inf"}])
    lines = vs.table(tmp_path, "markdown")
    assert "inside the prediction's band (every engine step at the calibration band's edges): TTFT p99 of 2 of 2 " \
           "levels, TPOT p99 of 1 of 2" in lines
    put(tmp_path / "sim-conc.csv", [level(conc=4)])
    put(tmp_path / "sim-rate.csv", [level(rate=2.0)])
    assert not any(ln.startswith("inside") for ln in vs.table(tmp_path, "markdown"))
