"""--until-ci PCT on bench run, sweep and serve: a case leaves the interleaved rounds once the 95% t-interval of its
output tok/s is within +-PCT% of its mean, capped by --repeats N; bad input is one line, exit 2, nothing written.

The planned throughputs (output tok/s by case and round), and when each case stops at --until-ci 5 --repeats 4:

  case A: 100, 102, 101, ...   n=2: mean 101, s = sqrt(((-1)^2 + 1^2) / 1) = 1.414, t(0.975, 1) = 12.706 (table),
                               hw = 12.706 x 1.414 / sqrt(2) = 12.71 = 12.6% of 101 > 5%: goes on;
                               n=3: mean 101, s = sqrt((1 + 1 + 0) / 2) = 1, t(0.975, 2) = 4.303,
                               hw = 4.303 x 1 / sqrt(3) = 2.484 = 2.46% of 101 < 5%: stops after 3 rounds
  case B: 100, 120, 80, 110    n=3: mean 100, s = 20, hw = 4.303 x 20 / sqrt(3) = 49.7 (49.7%);
                               n=4: mean 102.5, s = sqrt((2.5^2 + 17.5^2 + 22.5^2 + 7.5^2) / 3) = 17.08,
                               t(0.975, 3) = 3.182, hw = 3.182 x 17.08 / 2 = 27.2 (26.5%): runs to the cap, 4
So the rows are A0 B0 A1 B1 A2 B2 B3: A's fourth round is left out, B's is not.
"""

import pytest

PLANNED = {1: [100.0, 102.0, 101.0, 100.0], 4: [100.0, 120.0, 80.0, 110.0]}  # max_num_seqs -> tok/s by round

PLANNED_ENGINE = '''
from bench.engines.base import KVCacheInfo
from bench.measure.metrics import RequestResult

PLANNED = %r


class PlannedEngine:
    """Output tok/s as planned for the case (its max_num_seqs) and round (its repeat_index)."""
    device = "cpu"

    def __init__(self, spec):
        self.run = spec.run

    def check(self):
        pass

    def start(self):
        pass

    def generate(self, requests):
        out = [RequestResult(prompt_len=r.prompt_len, output_len=r.output_len, ttft_s=0.01, tpot_s=0.001,
                             e2e_s=0.01 + 0.001 * (r.output_len - 1)) for r in requests]
        tok_s = PLANNED[self.run.max_num_seqs][self.run.repeat_index]
        return out, sum(r.output_len for r in requests) / tok_s

    def kv_cache_info(self):
        return KVCacheInfo(block_size=16, num_blocks=64, capacity_tokens=1024, allocated_bytes=1024 * 2048)

    def info(self):
        return {"device": "cpu", "max_num_seqs": self.run.max_num_seqs}

    def stop(self):
        pass
''' % (PLANNED,)

EXPECTED = [(1, 0), (4, 0), (1, 1), (4, 1), (1, 2), (4, 2), (4, 3)]


@pytest.fixture
def planned(monkeypatch, tmp_path):
    from tests.fault_engine import plug_in

    plug_in(monkeypatch, tmp_path, "planned", "planned_engine", PLANNED_ENGINE, "PlannedEngine")


def test_bench_run_stops_each_case_at_the_round_its_interval_is_narrow_enough(planned, tmp_path, capsys):
    from bench.cli import main
    from bench.results import store

    out = tmp_path / "r.csv"
    assert main(["run", "--engine", "planned", "--model", "tiny-qwen2", "--num-prompts", "4", "--output-len", "8",
                 "--max-num-seqs", "1,4", "--repeats", "4", "--until-ci", "5", "--out", str(out)]) == 0
    _, rows = store.read_results(out)
    assert [(int(r["max_num_seqs"]), int(r["repeat_index"])) for r in rows] == EXPECTED
    assert [float(r["output_tok_s"]) for r in rows] == pytest.approx([100, 100, 102, 120, 101, 80, 110])
    printed = capsys.readouterr().out
    assert "max_num_seqs=1: until-ci 5%: 3 runs, output tok/s +-2.5% (95% t): met" in printed
    assert "max_num_seqs=4: until-ci 5%: 4 runs, output tok/s +-27% (95% t): not met at the cap" in printed


def test_a_sweep_stops_each_case_at_its_round(planned, tmp_path, capsys):
    import yaml

    from bench.cli import main
    from bench.results import store

    sweep = tmp_path / "s.yaml"
    sweep.write_text(yaml.safe_dump({"base": {"engine": "planned", "model": "tiny-qwen2", "num_prompts": 4,
                                              "output_len": 8}, "grid": {"max_num_seqs": [1, 4]}}))
    out = tmp_path / "r.csv"
    assert main(["sweep", str(sweep), "--repeats", "4", "--until-ci", "5", "--out", str(out)]) == 0
    _, rows = store.read_results(out)
    assert [(int(r["max_num_seqs"]), int(r["repeat_index"])) for r in rows] == EXPECTED
    printed = capsys.readouterr().out
    assert "max_num_seqs=1: until-ci 5%: 3 runs, output tok/s +-2.5% (95% t): met" in printed
    assert "max_num_seqs=4: until-ci 5%: 4 runs, output tok/s +-27% (95% t): not met at the cap" in printed


def test_bench_serve_stops_each_level_at_its_round(tmp_path, monkeypatch, capsys):
    """The fake server's tok/s depend on timing: each row's output tok/s is replaced by the plan's, by level (its
    concurrency) and round (its repeat)."""
    from fake_openai import FakeOpenAI

    from bench.cli import main
    from bench.results import store
    from bench.serve import session

    real = session.serve_row

    def planned_row(*, level, metrics, **k):
        metrics = {**metrics, "output_tok_s": PLANNED[int(level.value)][level.repeat]}
        return real(level=level, metrics=metrics, **k)

    monkeypatch.setattr(session, "serve_row", planned_row)
    out = tmp_path / "s.csv"
    with FakeOpenAI() as server:
        code = main(["serve", "--endpoint", server.url, "--model", "tiny-qwen2", "--concurrencies", "1,4",
                     "--num-prompts", "8", "--repeats", "4", "--until-ci", "5", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    _, rows = store.read_results(out)
    assert [(int(r["concurrency"]), int(r["repeat_index"])) for r in rows] == EXPECTED
    assert "concurrency 1: until-ci 5%: 3 runs" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["run", "serve", "sweep"])
@pytest.mark.parametrize("args,needle", [
    (["--repeats", "0"], "--repeats"),
    (["--until-ci", "5"], "--until-ci 5 needs a cap on the repeats: add --repeats N"),
    (["--until-ci", "5", "--repeats", "1"], "--until-ci 5 needs a cap on the repeats: add --repeats N"),
    (["--until-ci", "0", "--repeats", "3"], "--until-ci: the target must be a percentage above 0"),
    (["--until-ci", "-2", "--repeats", "3"], "--until-ci: the target must be a percentage above 0"),
])
def test_bad_repeats_are_one_line_exit_2_nothing_written(command, args, needle, tmp_path, capsys):
    import yaml

    from bench.cli import main

    out = tmp_path / "r.csv"
    if command == "sweep":
        sweep = tmp_path / "s.yaml"
        sweep.write_text(yaml.safe_dump({"base": {"engine": "sim", "hardware": "H100-SXM", "model": "tiny-glm",
                                                  "num_prompts": 4}}))
        argv = ["sweep", str(sweep)]
    elif command == "run":
        argv = ["run", "--engine", "sim", "--hardware", "H100-SXM", "--model", "tiny-glm"]
    else:
        argv = ["serve", "--model", "tiny-qwen2"]
    code = main([*argv, *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err, err
    assert not out.exists()
