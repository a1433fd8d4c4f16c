"""The pricing, SLO and vendor options are declared once (bench/config/pricing.py) and every command that takes
one reads it from that one field: the parsers are inspected, and the source is scanned for a second declaration.
bench run, sweep and serve price their rows with the same options; one Slo type serves serve and the analyses."""

from __future__ import annotations

import argparse
import ast
import csv
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from bench.cli import Parser, build_parser, main
from bench.cli.options import add_options
from bench.config.files import validated
from bench.config.flags import spellings
from bench.config.pricing import (SHARED_MODELS, GpuHourOptions, GpuPrices, Mix, MoneyOptions, PriceDayOptions,
                                  PricedAsOptions, RowPricing, SloOptions, VendorChoiceOptions, VendorTermsOptions,
                                  VendorVolumeOptions, parse_gpu_prices)
from bench.config.serve import ServeConfig
from bench.core.errors import BenchError
from bench.cost.pricing import CostOptions, cost_options
from bench.measure.slo import Slo

REPO = Path(__file__).resolve().parents[2]
# Every shared option: its field name -> (the model declaring it, its field).
SHARED = {name: (model, field) for model in SHARED_MODELS for name, field in model.model_fields.items()}
FLAGS = {spellings(name, field)[0]: name for name, (_, field) in SHARED.items()}


def subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def reference_actions(model) -> dict[str, argparse.Action]:
    """The arguments the generator makes of `model` alone: what every command must hold for these options."""
    p = Parser(prog="reference")
    add_options(p, model)
    return {a.dest: a for a in p._actions if a.dest != "help"}


ATTRIBUTES = ("option_strings", "type", "choices", "metavar", "nargs", "const", "default", "required", "help")


def test_each_shared_option_is_declared_once_in_the_source():
    """An ast scan of bench/: each shared option is one `option(...)` field, in bench/config/pricing.py; no
    `add_argument("--basis", ...)` and no second `option(...)` field of the same flag anywhere (a command that
    re-reads one, as bench serve its SLO limits, uses `reworded`, which keeps the one declaration)."""
    declared: dict[str, list[str]] = {flag: [] for flag in FLAGS}
    by_hand: list[str] = []
    for path in sorted((REPO / "bench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
                by_hand += [f"{path.relative_to(REPO)}:{node.lineno} {a.value}" for a in node.args
                            if isinstance(a, ast.Constant) and a.value in FLAGS]
            if (isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Call)
                    and getattr(node.value.func, "id", None) == "option"):
                flag = "--" + node.target.id.replace("_", "-")
                if flag in declared:
                    declared[flag].append(str(path.relative_to(REPO)))
    assert by_hand == []
    assert {flag: places for flag, places in declared.items() if places != ["bench/config/pricing.py"]} == {}
    assert len(FLAGS) == 26  # 15 pricing (--market among them), 3 SLO, 8 vendor options


def test_every_parser_takes_each_shared_option_from_its_one_field():
    """Type, choices, metavar, default (none kept by argparse), help and spelling of every shared option, in
    every subcommand that has it, are those the generator makes of its one field."""
    seen: dict[str, set[str]] = {}
    for command, parser in subparsers().items():
        dests = [a.dest for a in parser._actions]
        for action in parser._actions:
            if action.dest not in SHARED:
                continue
            assert dests.count(action.dest) == 1, (command, action.dest)
            want = reference_actions(SHARED[action.dest][0])[action.dest]
            for attribute in ATTRIBUTES:
                assert getattr(action, attribute) == getattr(want, attribute), (command, action.dest, attribute)
            assert type(action) is type(want) and action.default is argparse.SUPPRESS
            seen.setdefault(action.dest, set()).add(command)
    assert set(seen) == set(SHARED)  # every shared option is taken by some command


def test_serve_re_reads_the_slo_limits_without_a_second_declaration():
    for name in ("slo_ttft_ms", "slo_tpot_ms"):
        mine, theirs = ServeConfig.model_fields[name], SloOptions.model_fields[name]
        assert (mine.annotation, mine.default, mine.description, mine.metadata) == \
            (theirs.annotation, theirs.default, theirs.description, theirs.metadata)


# Which shared models each command composes beside its own options.
COMPOSED = {
    "cost": SHARED_MODELS,
    "report": (GpuHourOptions, MoneyOptions, PriceDayOptions, PricedAsOptions, VendorChoiceOptions, SloOptions),
    "plan": (GpuHourOptions, MoneyOptions, PriceDayOptions, VendorChoiceOptions, VendorTermsOptions, SloOptions),
    "prices": (MoneyOptions, PriceDayOptions, VendorTermsOptions, VendorVolumeOptions),
    "explain": (GpuHourOptions,),
    "run": (GpuHourOptions, MoneyOptions), "sweep": (GpuHourOptions, MoneyOptions),
    "serve": (GpuHourOptions, MoneyOptions),
}


@pytest.mark.parametrize("command", sorted(COMPOSED))
def test_each_command_composes_whole_models(command):
    dests = {a.dest for a in subparsers()[command]._actions} & set(SHARED)
    wanted = {name for model in COMPOSED[command] for name in model.model_fields}
    if command == "serve":  # its own SLO group re-reads the two limits
        wanted |= {"slo_ttft_ms", "slo_tpot_ms"}
    assert dests == wanted


def test_the_shared_options_come_after_a_command_s_own_in_its_help():
    usage = subparsers()["run"].format_usage()
    assert usage.index("--verbose") < usage.index("--basis") and usage.index("--sim-timing") < usage.index("--mix")
    help_text = " ".join(subparsers()["cost"].format_help().split())
    assert "input:output tokens of blended prices (public comparisons' convention; bench plan: of the traffic) " \
           "(default 3:1)" in help_text  # a mix is shown as it is typed


# ---------------------------------------------------------------- the X|NAME=X GPU price, a field type


def test_a_gpu_price_reads_every_form_and_writes_itself_back():
    assert parse_gpu_prices("12") == parse_gpu_prices(12) == GpuPrices(12.0, ())
    both = GpuPrices(12.0, (("H20", 9.5), ("H100-SXM", 14.0)))
    assert parse_gpu_prices("h20=9.5, h100-sxm=14, 12") == both
    assert parse_gpu_prices({"H20": 9.5, "H100-SXM": 14}) == GpuPrices(None, both.by_card)  # a sweep file's mapping
    assert str(both) == "H20=9.5,H100-SXM=14,12" and parse_gpu_prices(str(both)) == both
    dumped = RowPricing(gpu_cny_per_hour="h20=9.5,12", mix="1:1").model_dump()
    assert (dumped["gpu_cny_per_hour"], dumped["mix"]) == ("H20=9.5,12", "1:1")  # saved with every result
    assert RowPricing.model_validate(dumped).gpu_cny_per_hour == GpuPrices(12.0, (("H20", 9.5),))


@pytest.mark.parametrize("value, message", [("H20=1,h20=2", "H20 is given twice"), ("1,2", "two prices for every card"),
                                            (True, "expected a price"), ("H20=inf", "positive")])
def test_a_gpu_price_given_twice_or_of_another_kind_is_refused(value, message):
    with pytest.raises(BenchError, match=message):
        validated(GpuHourOptions, {"gpu_cny_per_hour": value}, "bench cost")


COMMAND_LINES = {
    "cost": ["cost", "runs.csv"],
    "report": ["report", "runs.csv", "--out", "report"],
    "plan": ["plan", "--model", "qwen2.5-7b-instruct", "--hardware", "H20", "--traffic", "1M/day"],
    "explain": ["explain", "tiny-glm", "--hardware", "H20"],
    "run": ["run", "--model", "tiny-glm", "--engine", "sim", "--hardware", "H100-SXM", "--out", "runs.csv"],
    "sweep": ["sweep", "sweep.yaml", "--out", "runs.csv"],
    "serve": ["serve", "--model", "tiny-qwen2", "--hardware", "H100-SXM", "--out", "runs.csv"],
}


@pytest.mark.parametrize("command", sorted(COMMAND_LINES))
def test_a_misspelt_card_in_a_gpu_price_is_one_line_on_every_command(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    assert main([*COMMAND_LINES[command], "--gpu-cny-per-hour", "H2O=9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: bench {command}: --gpu-cny-per-hour: unknown hardware 'H2O'; did you mean H20?")
    assert err.count("\n") == 1 and list(tmp_path.iterdir()) == []  # nothing written


# ---------------------------------------------------------------- rows priced the way the user asked


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


SIM = ["run", "--engine", "sim", "--hardware", "H100-SXM", "--model", "tiny-glm", "--num-prompts", "4"]


def test_bench_run_prices_its_row_as_asked(tmp_path):
    out = tmp_path / "runs.csv"
    assert main([*SIM, "--out", str(out)]) == 0
    assert main([*SIM, "--market", "global", "--fx-cny-per-usd", "7", "--mix", "1:1", "--out", str(out)]) == 0
    assert main([*SIM, "--gpu-cny-per-hour", "H100-SXM=10", "--out", str(out)]) == 0
    default, spot, given = read_rows(out)
    # China by default: an 8-card H100 node at 70,000 CNY a month (news, 2024) = 11.986301 per GPU-hour
    assert (default["cost_basis"], float(default["gpu_cny_per_hour"])) == ("rental", pytest.approx(70_000 / 8 / 730))
    # --market global: RunPod's list price, USD 2.69 per card-hour at 7 CNY/USD = 18.83 CNY
    assert (spot["cost_basis"], spot["fx_cny_per_usd"], spot["cost_mix"]) == ("rental", "7.0", "1:1")
    assert float(spot["gpu_cny_per_hour"]) == pytest.approx(2.69 * 7)
    assert spot["gpu_price_source"].endswith("(rental on-demand (global market); global list price, per card)")
    # one GPU for the hour over the row's tokens an hour: 18.83 / (total_tok_s x 3,600 / 1e6)
    assert float(spot["cny_per_m_total"]) == pytest.approx(2.69 * 7 / (float(spot["total_tok_s"]) * 3600 / 1e6),
                                                           rel=1e-5)
    assert (given["cost_basis"], float(given["gpu_cny_per_hour"])) == ("given", 10.0)
    assert given["gpu_price_source"] == "given with --gpu-cny-per-hour"
    assert default["config_hash"] == spot["config_hash"] == given["config_hash"]  # the same measured case


def test_pricing_a_run_needs_its_hardware(tmp_path, capsys):
    out = tmp_path / "runs.csv"
    assert main(["run", "--model", "tiny-glm", "--basis", "owned", "--out", str(out)]) == 2
    assert "--basis prices the row on --hardware; give --hardware NAME" in capsys.readouterr().err
    assert not out.exists()


def test_a_sweep_file_and_the_command_line_price_every_case(tmp_path):
    sweep = tmp_path / "s.yaml"
    sweep.write_text(yaml.safe_dump({"base": {"model": "tiny-glm", "engine": "sim", "hardware": "H100-SXM",
                                              "num_prompts": 4, "gpu_cny_per_hour": {"H100-SXM": 12},
                                              "mix": "1:1"}}))
    out = tmp_path / "s.csv"
    assert main(["sweep", str(sweep), "--out", str(out), "--fx-cny-per-usd", "7", "--mix", "2:1"]) == 0
    (row,) = read_rows(out)
    assert (row["cost_basis"], float(row["gpu_cny_per_hour"])) == ("given", 12.0)  # the file's
    assert (row["cost_mix"], row["fx_cny_per_usd"]) == ("2:1", "7.0")  # the command line's, over the file's


def test_pricing_is_not_part_of_a_case(tmp_path, capsys):
    sweep = tmp_path / "s.yaml"
    sweep.write_text(yaml.safe_dump({"base": {"model": "tiny-glm", "engine": "sim", "hardware": "H100-SXM"},
                                     "grid": {"basis": ["rental", "owned"]}}))
    assert main(["sweep", str(sweep), "--dry-run", "--out", str(tmp_path / "s.csv")]) == 2
    assert "the same case as #1" in capsys.readouterr().err  # price one measurement twice with bench cost


# ---------------------------------------------------------------- the models -> what cost and serve use


def test_cost_options_of_the_models():
    opts = cost_options(GpuHourOptions(basis="tco", years=4, hosting_cny_per_month=100, cost_of_capital=0.1,
                                       gpu_cny_per_hour="H20=9.5"),
                        MoneyOptions(mix="1:1", fx_cny_per_usd=7.1), PricedAsOptions(utilization=0.5),
                        hardware="H20")
    assert opts == CostOptions(hardware="H20", basis="tco", amortization_years=4, hosting_cny_per_month_per_card=100,
                               cost_of_capital_per_year=0.1, gpu_cny_per_hour=None,
                               gpu_cny_per_hour_by_hardware=(("H20", 9.5),), mix=(1.0, 1.0), fx_cny_per_usd=7.1,
                               utilization=0.5)
    # the options' defaults are CostOptions' own (the defaults bench cost always had)
    assert cost_options(GpuHourOptions(), MoneyOptions(), PricedAsOptions()) == CostOptions()


def test_batch_api_is_a_batch_share_of_1_and_not_both():
    assert VendorTermsOptions(batch_api=True).batch_share is None
    with pytest.raises(ValidationError, match="give one of them"):
        VendorTermsOptions(batch_api=True, batch_share=0.5)


def test_one_slo_type_built_from_the_options():
    from bench.analysis import frontier
    from bench.config import serve as serveconfig
    from bench.measure import streaming

    assert frontier.Slo is streaming.Slo is Slo
    assert SloOptions(slo_tpot_ms=40, slo_percentile=50).slo == Slo(None, 40, percentile=50)
    assert Slo(ttft_ms=110, tpot_ms=40, percentile=50).text() == "TTFT p50 <= 110 ms and TPOT p50 <= 40 ms"
    cfg = serveconfig.parse({"model": "tiny-qwen2", "slo_ttft_ms": 250, "slo_tpot_ms": 50, "slo_attainment": 0.8})
    assert cfg.slo == Slo(250, 50, attainment=0.8)
    good = streaming.StreamedRequest(prompt_len=8, output_len=21, success=True, ttft_s=0.2, e2e_s=1.2)
    good.finish()  # TPOT (1.2 - 0.2) / (21 - 1) = 50 ms: within 50, and TTFT 200 ms within 250
    assert cfg.slo.is_good(good) and not Slo(tpot_ms=49.9).is_good(good)


def test_a_mix_is_a_tuple_that_writes_itself_as_typed():
    assert Mix(3, 1) == (3.0, 1.0) and str(Mix(3, 1)) == "3:1"
    assert MoneyOptions(mix=[2, 1]).mix == (2.0, 1.0)
    with pytest.raises(ValidationError, match="quoted in a YAML file"):
        MoneyOptions(mix=181)  # YAML's reading of an unquoted 3:1
