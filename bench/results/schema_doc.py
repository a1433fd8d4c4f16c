"""The generated parts of docs/schema.md (its title, the versions table, the columns table) and README's
schema table, all from the declarations (bench.results.schema) and the upgrade's rules (bench.results.upgrade).

`python -m bench.results.schema_doc` prints them; `--write` puts them into docs/schema.md in place (each
block replaces the lines from its first line to the next blank line). tests/test_schema.py keeps the page
equal to them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.results import schema, upgrade

# What a version changed beyond the columns it added (they are listed from `since`), for the versions table.
NOTES = {
    2: "Offline rows now also fill `ttft_p90_ms` and `e2e_mean_ms` (declared in version 1, written only by "
       "`bench serve` then).",
    4: "With a dataset, `input_len` and `output_len` hold its mean lengths.",
    5: "A serving level is `failed` when its `failure_rate` exceeds `max_failure_rate`; `failed` is the sum of the "
       "five failure classes ([serve.md](serve.md#when-a-level-fails)).",
    6: "`--repeats N` writes one row per repeat (`repeat_index`); percentiles carry their sample counts, a p99 over "
       "fewer than 100 samples is flagged unreliable, and SLO checks at p99 use its 95% bound where there is one.",
    7: "Rows read from other tools' files (the writer `import`: `bench import`, and `cost`, `plan`, `report` and "
       "`compare` reading such a file) fill these and any other column the file holds; their `gpu_count` is the GPUs "
       "that served them, which price them ([interop.md](interop.md)).",
}
PAGE = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def title() -> str:
    return f"# Results schema (version {schema.SCHEMA_VERSION})\n"


def columns_table() -> str:
    """The columns, in CSV order, with what each declares."""
    lines = ["| column | since | group | unit | reads as | better | written by | filled | meaning |",
             "|---|---|---|---|---|---|---|---|---|"]
    arrows = {schema.HIGHER: "higher", schema.LOWER: "lower", None: ""}
    for c in schema.DECLARED:
        meaning = c.meaning.replace("|", "\\|")
        kind = c.kind + (" (inf allowed)" if c.inf else "")
        lines.append(f"| `{c.name}` | {c.since} | {c.group} | {c.unit} | {kind} | {arrows[c.better]} | "
                     f"{', '.join(c.writers)} | {c.filled} | {meaning} |")
    return "\n".join(lines) + "\n"


def _one_line(doc: str | None) -> str:
    return " ".join((doc or "").split())


def versions_table(declared: tuple[schema.Column, ...] = schema.DECLARED) -> str:
    """One line per version: the columns it added (schema: `since`), what else it changed (NOTES), and what a row
    of the version before gains on the upgrade (upgrade.RULES, else empty cells)."""
    lines = ["| version | columns added (at the end) | also | an older row upgraded to it |", "|---|---|---|---|"]
    for v, names in schema.added_by_version(declared).items():
        if v == 1:
            added = f"the first {len(names)}, `{names[0]}` to `{names[-1]}`, in the order below"
            lifted = ""
        else:
            added = f"{len(names)}: " + ", ".join(f"`{n}`" for n in names) if len(names) > 1 else f"`{names[0]}`"
            rule = upgrade.RULES.get(v)
            lifted = _one_line(rule.__doc__) if rule else "every added column empty (none follows from an older " \
                                                            "row's cells)"
        lines.append(f"| {v} | {added} | {NOTES.get(v, '')} | {lifted} |")
    return "\n".join(lines) + "\n"


def group_table() -> str:
    """One line per group: its columns, and which writers fill them (README's schema table)."""
    groups: dict[str, list[schema.Column]] = {}
    for c in schema.DECLARED:
        groups.setdefault(c.group, []).append(c)
    lines = ["| group | columns | written by |", "|---|---|---|"]
    for group, cols in groups.items():
        writers = sorted({w for c in cols for w in c.writers}, key=schema.WRITERS.index)
        names = [f"`{c.name}`" + (f" ({c.writers[0]} only)" if len(c.writers) < len(writers) else "") for c in cols]
        lines.append(f"| {group} | {', '.join(names)} | {', '.join(writers)} |")
    return "\n".join(lines) + "\n"


def blocks() -> list[str]:
    """The generated blocks of docs/schema.md, in page order."""
    return [title(), versions_table(), columns_table()]


def rewritten(page: str) -> str:
    """`page` with each block in place of the lines from the block's first line (the same first words: a title's
    version may change) to the next blank line."""
    lines = page.split("\n")
    for block in blocks():
        head = block.split("\n")[0]
        key = head.split("(")[0] if head.startswith("#") else "|" + head.split("|")[1] + "|"
        at = next(i for i, line in enumerate(lines) if line.startswith(key))
        end = next((i for i in range(at, len(lines)) if not lines[i].strip()), len(lines))
        lines[at:end] = block.rstrip("\n").split("\n")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m bench.results.schema_doc [--write]
    if sys.argv[1:] == ["--write"]:
        PAGE.write_text(rewritten(PAGE.read_text()))
    else:
        sys.stdout.write("\n".join(blocks()))
