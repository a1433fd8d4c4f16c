"""--repeats on bench run and bench sweep: cases interleaved, one row per measurement, tied by repeat_index."""


def test_bench_run_repeats_interleave_cases_one_row_each(tmp_path):
    from bench.cli import main
    from bench.results import store

    out = tmp_path / "r.csv"
    sim = ["--engine", "sim", "--hardware", "H100-SXM", "--model", "tiny-glm", "--num-prompts", "4"]
    assert main(["run", *sim, "--max-num-seqs", "1,4", "--repeats", "2", "--out", str(out)]) == 0
    _, rows = store.read_results(out)
    # case A (batch 1) r0, B (batch 4) r0, A r1, B r1; the repeats of a case share its config_hash
    assert [(r["max_num_seqs"], r["repeat_index"]) for r in rows] == [("1", "0"), ("4", "0"), ("1", "1"), ("4", "1")]
    assert rows[0]["config_hash"] == rows[2]["config_hash"] != rows[1]["config_hash"] == rows[3]["config_hash"]


def test_repeats_zero_is_one_line_and_exit_2(tmp_path, capsys):
    from bench.cli import main

    out = tmp_path / "r.csv"
    sim = ["--engine", "sim", "--hardware", "H100-SXM", "--model", "tiny-glm", "--num-prompts", "4"]
    assert main(["run", *sim, "--repeats", "0", "--out", str(out)]) == 2
    assert "--repeats" in capsys.readouterr().err and not out.exists()


def test_a_sweep_repeats_its_cases_interleaved_and_refuses_resume_with_repeats(tmp_path, capsys):
    import yaml

    from bench.cli import main
    from bench.results import store

    sweep = tmp_path / "s.yaml"
    sweep.write_text(yaml.safe_dump({"base": {"engine": "sim", "hardware": "H100-SXM", "model": "tiny-glm",
                                              "num_prompts": 4}, "grid": {"max_num_seqs": [1, 4]}}))
    out = tmp_path / "r.csv"
    assert main(["sweep", str(sweep), "--repeats", "2", "--out", str(out)]) == 0
    _, rows = store.read_results(out)
    assert [(r["max_num_seqs"], r["repeat_index"]) for r in rows] == [("1", "0"), ("4", "0"), ("1", "1"), ("4", "1")]
    capsys.readouterr()
    assert main(["sweep", str(sweep), "--repeats", "2", "--resume", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--resume cannot tell which repeats" in err and len(err.strip().splitlines()) == 1
    assert len(store.read_results(out)[1]) == 4  # nothing written
