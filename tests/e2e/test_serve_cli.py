"""bench serve's bad input: one line naming the problem and the fix, exit 2, nothing started or written."""

import pytest

from bench.results import store as results
from bench.cli import main
from bench.serve import session as sweep
@pytest.fixture
def kept(tmp_path, monkeypatch):
    path = tmp_path / "serve.csv"
    results.append_row(path, {"schema_version": 1, "run_id": "earlier", "model": "m", "status": "ok"})

    def no_server(*a, **k):
        raise AssertionError("bad input must be refused before any server starts")

    monkeypatch.setattr(sweep, "VllmServer", no_server)
    monkeypatch.delenv("BENCH_UNSET_KEY", raising=False)
    return path, path.read_bytes()


@pytest.mark.parametrize("args,needle", [
    (["--rates", "1,2", "--concurrencies", "4"], "not allowed with argument"),
    (["--rates", "0,2"], "expected request rates above 0"),
    (["--rates", "fast"], "expected numbers separated by commas"),
    (["--concurrencies", "0"], "expected positive integers"),
    (["--request-rate", "1,2"], "a sweep is --rates"),
    (["--burstiness", "0"], "--burstiness: Input should be greater than 0 (got 0.0)"),
    (["--slo-attainment", "1.5"], "--slo-attainment: Input should be less than or equal to 1"),
    (["--slo-ttft-ms", "-1"], "--slo-ttft-ms: Input should be greater than 0"),
    (["--api", "chat", "--prompt-format", "tokens"], "--api chat sends text messages"),
    (["--prompt-format", "text"], "needs tiny-qwen2's tokenizer"),
    (["--api-key-env", "BENCH_UNSET_KEY"], "--api-key-env is for --endpoint"),
    (["--endpoint", "http://10.1.2.3:8000"], "--allow-insecure-http"),
    (["--endpoint", "https://u:p@api.example.com"], "credentials in the URL are refused"),
    (["--endpoint", "http://127.0.0.1:8000", "--max-num-seqs", "8"], "--max-num-seqs: option(s) of the server"),
    (["--endpoint", "http://127.0.0.1:8000", "--api-key-env", "BENCH_UNSET_KEY"],
     "BENCH_UNSET_KEY: that environment variable is not set"),
    (["--endpoint", "http://127.0.0.1:8000/v1/chat/completions", "--prompt-format", "tokens"],
     "add --prompt-format text"),
    (["--input-len", "2000", "--output-len", "100"], "exceeds max_model_len 2048"),
    (["--model", "qwen-7b"], "qwen2.5-7b-instruct?"),
    (["--hardware", "H1000"], "H1000"),
])
def test_bad_serve_input(capsys, kept, args, needle):
    path, before = kept
    argv = ["serve", "--model", "tiny-qwen2", *args, "--out", str(path)]
    if args[:2] == ["--model", "qwen-7b"]:
        argv = ["serve", *args, "--out", str(path)]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert path.read_bytes() == before


def test_serve_is_listed(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    for flag in ("--request-rate", "--rates", "--concurrency", "--concurrencies", "--slo-ttft-ms", "--slo-tpot-ms",
                 "--hardware", "--endpoint", "--api-model", "--api-key-env", "--num-prompts", "--input-len",
                 "--output-len", "--out", "--burstiness", "--stall-timeout", "--max-failure-rate"):
        assert flag in out
    # the worst case of a run with the defaults, stated where the limit is set
    text = " ".join(out.split())
    assert "A run takes at most levels x (S + 1 s for a last /metrics scrape)" in text
    assert "with every default, one level, about 3600 s (+ 900 s)" in text
