"""Each option is declared once, on its config model; the command line is generated from it."""

import argparse
import typing
from pathlib import Path
from typing import Literal

import pytest
import yaml
from pydantic import BaseModel

from bench.cli import Parser, build_parser, main
from bench.cli.explain import ExplainOptions
from bench.cli.plan import PlanOptions
from bench.cli.options import add_options, given, parsed, shown
from bench.cli.sweep import SweepOptions
from bench.config import serve as serveconfig
from bench.serve import resolve as serveresolve
from bench.config.flags import option, spellings
from bench.config.run import KvCacheDtype, RunConfig
from bench.config.serve import ServeConfig
from bench.core.errors import BenchError
from bench.serve import session


def subparser(name: str) -> argparse.ArgumentParser:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def actions_by_dest(p: argparse.ArgumentParser) -> dict[str, list[argparse.Action]]:
    found: dict[str, list[argparse.Action]] = {}
    for a in p._actions:
        found.setdefault(a.dest, []).append(a)
    return found


@pytest.mark.parametrize("command,model", [("run", RunConfig), ("serve", ServeConfig), ("sweep", SweepOptions),
                                           ("explain", ExplainOptions), ("plan", PlanOptions)])
def test_every_field_of_the_model_is_an_option(command, model):
    dests = actions_by_dest(subparser(command))
    assert set(model.model_fields) <= set(dests)
    for name, field in model.model_fields.items():
        if not any(a.option_strings == [] for a in dests[name]):  # positional: no flag
            assert spellings(name, field)[0] in [s for a in dests[name] for s in a.option_strings]


def test_run_keeps_its_spellings_and_choices():
    dests = actions_by_dest(subparser("run"))
    flags = {s for acts in dests.values() for a in acts for s in a.option_strings}
    assert {"-tp", "-pp", "--timeout", "--no-warmup", "--enforce-eager", "--no-enforce-eager", "--verbose", "-v",
            "--out", "--model"} <= flags
    assert dests["kv_cache_dtype"][0].choices == list(typing.get_args(KvCacheDtype))
    assert dests["model"][0].required and dests["timeout_s"][0].option_strings == ["--timeout"]


@pytest.mark.parametrize("command,model", [("run", RunConfig), ("serve", ServeConfig), ("sweep", SweepOptions)])
def test_defaults_in_help_come_from_the_model(command, model):
    dests = actions_by_dest(subparser(command))
    for name, field in model.model_fields.items():
        if field.default is None or isinstance(field.default, bool) or field.is_required():
            continue
        helps = [a.help for a in dests[name] if a.help != argparse.SUPPRESS]
        if not helps:  # hidden (serve's --engine)
            continue
        assert any(f"default {shown(field.default)}" in h for h in helps), (name, helps)
        assert all(a.default is argparse.SUPPRESS for a in dests[name])  # argparse holds no copy


def test_a_changed_model_default_shows_in_help(monkeypatch):
    monkeypatch.setattr(RunConfig.model_fields["input_len"], "default", 321)
    help_text = subparser("run").format_help()
    assert "(default 321)" in " ".join(help_text.split())


def test_explain_shares_run_options_default_and_choices():
    dests = actions_by_dest(subparser("explain"))
    assert ExplainOptions.model_fields["gpu_memory_utilization"].default == \
        RunConfig.model_fields["gpu_memory_utilization"].default
    assert dests["kv_cache_dtype"][0].choices == list(typing.get_args(KvCacheDtype))
    assert "-tp" in dests["tensor_parallel_size"][0].option_strings


class Tiny(BaseModel):
    """A model the generator has never seen: every field becomes an option."""

    name: str = option(help="what to call it", flags=("--name", "-n"))
    widgets: int = option(3, "how many widgets", ge=1)
    mode: Literal["a", "b"] = option("a", "how")
    fast: bool = option(False, "go fast")
    careful: bool = option(True, "skip the care", flags=("--no-care",))
    sizes: list[int] | None = option(None, "a comma list", metavar="S1,S2")
    ratio: float | None = option(None, "a ratio", gt=0.0)


def tiny_parser() -> argparse.ArgumentParser:
    p = Parser(prog="tiny")
    add_options(p, Tiny)
    return p


def test_a_field_added_to_a_model_appears_as_an_option():
    args = tiny_parser().parse_args(["-n", "x", "--widgets", "5", "--sizes", "1,2", "--no-care", "--fast"])
    assert given(args, Tiny) == {"name": "x", "widgets": 5, "sizes": [1, 2], "careful": False, "fast": True}
    t = parsed(tiny_parser().parse_args(["--name", "y"]), Tiny, "tiny")
    assert (t.widgets, t.mode, t.fast, t.careful, t.sizes, t.ratio) == (3, "a", False, True, None, None)
    assert t.model_fields_set == {"name"}  # only what was typed
    help_text = " ".join(tiny_parser().format_help().split())
    assert "how many widgets (default 3)" in help_text and "how (default a)" in help_text
    assert "{a,b}" in help_text and "--sizes S1,S2" in help_text


@pytest.mark.parametrize("argv,needle", [
    (["--mode", "c"], "invalid choice: 'c'"),
    (["--widgets", "x"], "invalid int value"),
    (["--sizes", "1,x"], "expected integers separated by commas"),
    ([], "the following arguments are required: --name/-n"),
])
def test_a_tiny_model_bad_input_is_one_line(argv, needle):
    with pytest.raises(BenchError, match=needle):
        tiny_parser().parse_args(argv)


def test_a_tiny_model_constraint_is_checked_by_the_model():
    args = tiny_parser().parse_args(["-n", "x", "--widgets", "0"])
    with pytest.raises(BenchError, match="tiny: --widgets: Input should be greater than or equal to 1 \\(got 0\\)"):
        parsed(args, Tiny, "tiny")


def test_run_hands_the_model_only_what_was_typed():
    args = subparser("run").parse_args(["--model", "tiny-qwen2", "--gpu-memory-utilization", "0.9"])
    assert given(args, RunConfig) == {"model": "tiny-qwen2", "gpu_memory_utilization": 0.9}


@pytest.fixture
def no_server(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("bad input must be refused before any server starts")
    monkeypatch.setattr(session, "VllmServer", refuse)


@pytest.mark.parametrize("typed", [["--gpu-memory-utilization", "0.9"], ["--kv-cache-dtype", "auto"],
                                   ["--weights", "auto"], ["--device", "auto"]])
def test_endpoint_refuses_a_local_server_option_even_at_its_default(capsys, tmp_path, no_server, typed):
    out = tmp_path / "serve.csv"
    code = main(["serve", "--model", "tiny-qwen2", "--endpoint", "http://127.0.0.1:8000", *typed, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and f"{typed[0]}: option(s) of the server bench starts" in err and err.count("\n") == 1
    assert not out.exists()


def test_endpoint_without_local_options_passes_the_check():
    cfg, _, endpoint = serveresolve.resolve(serveconfig.parse({"model": "tiny-qwen2",
                                                              "endpoint": "http://127.0.0.1:8000"}))
    assert endpoint is not None and cfg.gpu_memory_utilization == RunConfig.model_fields[
        "gpu_memory_utilization"].default


def write_sweep(tmp_path: Path, base: dict) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"base": base}))
    return path


@pytest.mark.parametrize("key,hint", [("gpu_memory_utilisation", "did you mean gpu_memory_utilization?"),
                                      ("input-len", "did you mean input_len?")])
def test_an_unknown_sweep_key_is_refused_with_did_you_mean(capsys, tmp_path, key, hint):
    path = write_sweep(tmp_path, {"model": "tiny-qwen2", key: 1})
    assert main(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert f"base.{key}: not a bench run option; {hint}" in err and "Traceback" not in err


def test_sweep_timeout_per_case_overrides_every_case(capsys, tmp_path):
    path = write_sweep(tmp_path, {"model": "tiny-qwen2", "input_len": 8, "output_len": 4, "device": "cpu"})
    assert main(["sweep", str(path), "--dry-run", "--timeout-per-case", "0"]) == 2
    assert "bench sweep: --timeout-per-case: Input should be greater than 0" in capsys.readouterr().err


def test_every_option_is_documented():
    """The README's `bench run` table and docs/serve.md name every option the models declare."""
    from pathlib import Path

    from bench.config.flags import spellings
    from bench.config.run import RunConfig
    from bench.config.serve import ServeConfig

    repo = Path(__file__).resolve().parents[2]
    readme, serve_md = (repo / "README.md").read_text(), (repo / "docs" / "serve.md").read_text()
    missing = [spellings(n, f)[0] for n, f in RunConfig.model_fields.items() if spellings(n, f)[0] not in readme]
    missing += [spellings(n, f)[0] for n, f in ServeConfig.model_fields.items()
                if n not in RunConfig.model_fields and spellings(n, f)[0] not in serve_md]
    assert missing == []


def test_every_plan_option_is_documented():
    """docs/plan.md names every option of bench plan, its own and the pricing options it composes."""
    from bench.cli.plan import PRICING

    repo = Path(__file__).resolve().parents[2]
    plan_md = (repo / "docs" / "plan.md").read_text()
    missing = [spellings(n, f)[0] for model in (PlanOptions, *PRICING) for n, f in model.model_fields.items()
               if not f.json_schema_extra["cli"].get("positional") and spellings(n, f)[0] not in plan_md]
    assert missing == []
