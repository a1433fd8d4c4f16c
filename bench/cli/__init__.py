"""Thin command line over the library: one module per subcommand (run, sweep, serve, explain, models,
cost, prices, compare, report); this one builds the parser and runs the chosen command.

Bad input prints one line naming the problem and the fix, and exits 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys

from bench.cli.calibrate import add_calibrate_commands
from bench.cli.compare import add_compare_command
from bench.cli.cost import add_cost_command
from bench.cli.explain import add_explain_command
from bench.cli.models import add_models_command
from bench.cli.prices import add_prices_command
from bench.cli.report import add_report_command
from bench.cli.run import add_run_command
from bench.cli.serve import add_serve_command
from bench.cli.sweep import add_sweep_command
from bench.errors import BenchError
from bench.execution.signals import EXIT_INTERRUPTED, signal_name, sigterm_as_interrupt

# In `bench --help` order.
COMMANDS = (add_run_command, add_sweep_command, add_explain_command, add_models_command, add_cost_command,
            add_prices_command, add_compare_command, add_report_command, add_serve_command, add_calibrate_commands)


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise BenchError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bench", description="Measure LLM inference under vLLM and price it in CNY per million tokens.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add_command in COMMANDS:
        add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        with sigterm_as_interrupt():  # SIGTERM stops a case as Ctrl-C does: engine killed, row interrupted
            return args.func(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        print(f"interrupted ({signal_name(e)})", file=sys.stderr)
        return EXIT_INTERRUPTED
