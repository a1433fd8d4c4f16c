"""Thin command line over the library: one module per subcommand (run, sweep, serve, explain, models,
cost, plan, prices, compare, report); this one builds the parser and runs the chosen command.

Bad input prints one line naming the problem and the fix, and exits 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys

from bench.core.errors import BenchError
from bench.execution.signals import EXIT_INTERRUPTED, signal_name, sigterm_as_interrupt


def commands() -> tuple:
    """Each subcommand's add_*_command, in `bench --help` order. Imported here, inside main's error handling,
    so a missing dependency (pydantic, PyYAML...) is one line, not a traceback."""
    from bench.cli.calibrate import add_calibrate_commands
    from bench.cli.compare import add_compare_command
    from bench.cli.cost import add_cost_command
    from bench.cli.explain import add_explain_command
    from bench.cli.interop import add_interop_commands
    from bench.cli.models import add_models_command
    from bench.cli.plan import add_plan_command
    from bench.cli.prices import add_prices_command
    from bench.cli.report import add_report_command
    from bench.cli.run import add_run_command
    from bench.cli.serve import add_serve_command
    from bench.cli.sweep import add_sweep_command

    return (add_run_command, add_sweep_command, add_explain_command, add_models_command, add_cost_command,
            add_plan_command, add_prices_command, add_compare_command, add_report_command, add_serve_command,
            add_calibrate_commands, add_interop_commands)


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise BenchError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bench", description="Measure LLM inference under vLLM and price it in CNY per million tokens.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add_command in commands():
        add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra:  # argparse names the top-level parser; the words belong to the subcommand
            raise BenchError(f"bench {args.command}: unrecognized argument(s): {' '.join(extra)} "
                             f"(see `bench {args.command} --help`)")
        with sigterm_as_interrupt():  # SIGTERM stops a case as Ctrl-C does: engine killed, row interrupted
            return args.func(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        print(f"interrupted ({signal_name(e)})", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as e:  # last resort: the checks before each command should have said it already
        print(f"error: {os_error_text(e)}", file=sys.stderr)
        return BenchError.exit_code
    except ModuleNotFoundError as e:
        print(f"error: {missing_module_text(e)}", file=sys.stderr)
        return BenchError.exit_code
    except MemoryError:
        print("error: out of memory; ask for less work (fewer --num-prompts, shorter lengths, fewer rows)",
              file=sys.stderr)
        return BenchError.exit_code


def os_error_text(e: OSError) -> str:
    """An OSError as one line: the path, what the system said, and what to do."""
    where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
    reason = e.strerror or str(e) or type(e).__name__
    return " ".join(f"{where + ': ' if where else ''}{reason} (check the path, its permissions and free "
                    "space)".split())


def missing_module_text(e: ModuleNotFoundError) -> str:
    """A package bench depends on, missing from this Python."""
    name = (e.name or "a package").split(".")[0]
    return (f"Python package {name} is not installed in this Python ({sys.executable}); bench needs it: "
            "`pip install -e .` installs bench's dependencies")
