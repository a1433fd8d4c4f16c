"""`bench import FILE... --out results.csv`: other tools' results files as bench rows, appended as bench's own rows
are (one fsynced line each, the JSON beside it first); `bench export RESULTS... --format br0.2 --out DIR`: bench's
rows as llm-d Benchmark Report v0.2 documents, one file per row. docs/interop.md.

Bad input (a file of no known kind or version, a truncated one, none of its benchmarks usable, an --out that is
not a results CSV) prints one line naming the file and the problem, exits 2, and nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from bench.cli.options import add_command, parsed
from bench.config.flags import option, reworded
from bench.config.given import GivenGpus, GivenHardware, GivenModel
from bench.config.pricing import SloOptions


class ImportCommand(BaseModel):
    """bench import's own options: the files, where the rows go, the latency targets of recomputed goodput."""

    files: list[Path] = option(help="other tools' results files, or folders of them: vllm bench serve/throughput "
                                    "JSON, AIPerf profile export, GuideLLM benchmarks.json, Benchmark Report v0.2 "
                                    "(told apart by content)", positional=True, nargs="+", metavar="FILE")
    out: Path = option(help="results CSV to append the rows to (a JSON per row in the folder named after it)",
                       metavar="FILE.csv")
    # the latency targets of the goodput bench recomputes from a file's per-request records, where the file states
    # none (the shared option, outside its group: bench import has no cost at the batch meeting them)
    slo_ttft_ms: float | None = reworded(SloOptions, "slo_ttft_ms", group=None)
    slo_tpot_ms: float | None = reworded(SloOptions, "slo_tpot_ms", group=None)


class ExportCommand(BaseModel):
    results: list[Path] = option(help="results CSVs (or other tools' files) whose ok rows are exported",
                                 positional=True, nargs="+", metavar="RESULTS.csv")
    format: Literal["br0.2"] = option(help="br0.2: the llm-d Benchmark Report v0.2 (one document per row)")
    out: Path = option(help="folder for the documents, <run_id>.yaml (created; files of the same names replaced)",
                       metavar="DIR")
    as_json: bool = option(False, "write JSON (<run_id>.json) instead of YAML", flags=("--json",))


def add_interop_commands(sub) -> None:
    add_command(sub, "import", "other tools' results (vLLM bench, AIPerf, GuideLLM, Benchmark Report) as bench rows",
                cmd_import, (ImportCommand, GivenHardware, GivenGpus, GivenModel))
    add_command(sub, "export", "bench's rows as llm-d Benchmark Report v0.2 documents", cmd_export, (ExportCommand,))


def given_of(args, hardware: str | None = None, slo=None):
    """The Given of a command's --model/--gpus (and the card for rows naming none)."""
    from bench.interop.source import Given

    model = parsed(args, GivenModel, "bench").model if hasattr(args, "model") else None
    gpus = parsed(args, GivenGpus, "bench").gpus if hasattr(args, "gpus") else None
    return Given(model=model, hardware=hardware, gpus=gpus, slo=slo)


def cmd_import(args) -> int:
    from bench.display.interop import print_imported
    from bench.interop.read import import_paths, say
    from bench.measure.slo import Slo
    from bench.results import store
    from bench.results.outputs import check_results_out, config_files

    command = parsed(args, ImportCommand, "bench import")
    hardware = parsed(args, GivenHardware, "bench import").hardware
    check_results_out(command.out, [*command.files, *config_files()])
    slo = Slo(command.slo_ttft_ms, command.slo_tpot_ms)
    imported = import_paths(command.files, given_of(args, hardware, slo if slo.given else None))
    kept = store.read_rows(command.out) if store.read_header(command.out) else []
    have = {(r.get("source_sha256"), str(r.get("source_benchmark"))) for r in kept}
    new = [(row, rec) for row, rec in zip(imported.rows, imported.records)
           if (row["source_sha256"], str(row["source_benchmark"])) not in have]
    for row, record in new:  # the JSON first: a row is never without it
        store.write_json(store.json_path(command.out, row["run_id"]), record)
        store.append_row(command.out, row)
    say(imported.notes + imported.disagreements)
    print_imported([r for r, _ in new], command.out, len(imported.rows) - len(new))
    return 0


def cmd_export(args) -> int:
    import json

    import yaml

    from bench.core.errors import BenchError
    from bench.interop.br_export import report
    from bench.interop.read import read_rows
    from bench.results import store
    from bench.results.outputs import check_report_dir

    command = parsed(args, ExportCommand, "bench export")
    check_report_dir(command.out, list(command.results))
    rows = []
    for path in command.results:
        rows += [r for r in read_rows(path)[1] if r.get("status") == "ok"]
    if not rows:
        raise BenchError(f"no row with status ok in {', '.join(str(p) for p in command.results)}; nothing to export")
    suffix = ".json" if command.as_json else ".yaml"
    for row in rows:
        doc = report(row)
        text = json.dumps(doc, indent=2) + "\n" if command.as_json else yaml.safe_dump(doc, sort_keys=False)
        store.write_atomic(command.out / f"{row['run_id']}{suffix}", text.encode())
    print(f"wrote {len(rows)} Benchmark Report v0.2 document(s) to {command.out}")
    return 0
