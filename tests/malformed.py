"""A seeded generator of malformed input for every subcommand (tests/e2e/test_malformed_inputs.py runs it).

One `Case` is a command line (a valid one for the subcommand, then mutated: a value replaced by a hostile one,
a token dropped, an option added or given twice, a path swapped for another file of the world), the files of
a small world (a real results CSV, a sweep file, a damaged copy of each), and the environment (BENCH_CATALOG,
BENCH_HARDWARE, BENCH_PRICES pointing at damaged copies of the YAML files, sometimes). The same seed gives the
same cases, so a failure is reproduced by its seed and index alone. No dependency beyond the standard library.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from bench import REPO_ROOT as REPO  # noqa: F401  (the checkout whose bench is imported; test_malformed_inputs uses it)
from bench.results.schema import SCHEMA_VERSION

# Values a hostile or careless user types: empty, blank, signs, overflows, NaN, lists with holes and repeats,
# other types, paths, dates that do not exist, very long, non-ASCII. No NUL: a command line cannot hold one.
HOSTILE = ["", " ", "-1", "0", "1e999", "-1e999", "nan", "inf", "abc", "1,,2", "2,2", ",", "1.5", "4,", ",4",
           "99999999999999999999", "é", "../", "/", "-", "true", "null", "{}", "[1]", "2024-13-01", "2024-02-30",
           "0x10", " 4", "\t", "x" * 300, "1:1", "0:0", "3:", "H100-SXM=", "=5", "a=b=c", "tiny-GLM",
           "H100-sxm", "qwen", "0.0", "1e-9", "-0", "１２", "☃", "%s", "{A}", "--out", "-tp"]
# Files of the world a path option may be pointed at: results (valid, damaged, torn, another version), inputs,
# folders, missing and unwritable places, files of other kinds.
PATHS = ["A.csv", "B.csv", "bad.csv", "torn.csv", "folder", "folder.csv", "missing.csv", "new.csv", "new.md",
         "sweep.yaml", "bad.yaml", "notes.csv", "blocked.csv", "reports", "A", "A.csv/x.csv", "/proc/bench-x.csv",
         "new", "models.yaml", "sub/dir/new.csv", "", ".", "link.csv", "loop.csv", "dangling.csv", "x" * 300 + ".csv",
         "./modeldir", "./folder"]
# BENCH_ENGINES as a user might get it wrong: not name=module:Class, a module that is not there, a class that is
# not there, a built-in engine shadowed.
PLUGINS = ["x", "=a:b", "fake=", "fake=nomod:Engine", "fake=json:Nope", "sim=json:Nope", ",,", "fake=a.b.c:D"]
ENDPOINTS = ["http://127.0.0.1:{port}", "http://127.0.0.1:{port}/v1", "http://localhost:{port}/v1/chat/completions",
             "http://127.0.0.1:abc", "http://127.0.0.1:99999", "http://127.0.0.1:0", "", "ftp://127.0.0.1",
             "http://[::1", "http://user:pw@127.0.0.1:{port}", "127.0.0.1:{port}", "http://10.0.0.1:{port}",
             "http://127.0.0.1:{port}/v1?x=1"]

SIM = ["--engine", "sim", "--hardware", "H100-SXM", "--model", "tiny-glm", "--num-prompts", "4"]
# A valid command line per subcommand; {port} is a port nothing listens on.
TEMPLATES = {
    "run": ["run", *SIM, "--max-num-seqs", "1,2", "--out", "A.csv"],
    "sweep": ["sweep", "sweep.yaml", "--dry-run", "--out", "new.csv"],
    "serve": ["serve", "--model", "tiny-glm", "--endpoint", "http://127.0.0.1:{port}", "--num-prompts", "2",
              "--concurrency", "1", "--no-warmup", "--timeout", "2", "--out", "A.csv"],
    "cost": ["cost", "A.csv", "--hardware", "H100-SXM", "--out", "new.csv"],
    "compare": ["compare", "A.csv", "B.csv", "--out", "new.md"],
    "report": ["report", "A.csv", "--out", "reports"],
    "explain": ["explain", "tiny-glm", "--hardware", "H20", "--batch", "1,8"],
    "models": ["models", "--all"],
    "prices": ["prices", "--as-of", "2024-06-01"],
}
# How often each is drawn: the slow ones (a sim case starts a process, a report draws charts) less often.
WEIGHTS = {"run": 3, "sweep": 3, "serve": 2, "cost": 3, "compare": 3, "report": 1, "explain": 2, "models": 1,
           "prices": 2}
# Options never added: --help prints and exits 0 by design, --ray reaches for a cluster.
NEVER = {"--help", "--ray", "-h"}
# Commands whose purpose is to append rows to their --out (the file may grow; what it held stays).
APPENDERS = ("run", "sweep", "serve")
# Commands that replace their --out table when it is theirs.
REPLACERS = ("cost", "compare")
ENV_FILES = {"BENCH_CATALOG": "models.yaml", "BENCH_HARDWARE": "hardware.yaml", "BENCH_PRICES": "prices.yaml"}


@dataclass
class Case:
    index: int
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # variable -> a file of the world
    files: dict[str, bytes] = field(default_factory=dict)  # damaged files to write into the world

    @property
    def command(self) -> str:
        return self.argv[0] if self.argv else ""

    def out(self) -> str | None:
        """The value of the last --out (what argparse keeps), if any."""
        found = None
        for i, tok in enumerate(self.argv[:-1]):
            if tok == "--out":
                found = self.argv[i + 1]
        return found

    def __str__(self) -> str:
        env = " ".join(f"{k}={v}" for k, v in self.env.items())
        return f"case {self.index}: {env + ' ' if env else ''}bench {' '.join(repr(a) for a in self.argv)}"


def mutate_bytes(rng: random.Random, data: bytes, kind: str) -> bytes:
    """One to three damages a file of `kind` ('csv' or 'yaml') suffers in the wild."""
    for _ in range(rng.randint(1, 3)):
        lines = data.split(b"\n")
        op = rng.randrange(12)
        if op == 0 and data:  # cut anywhere: a torn row, a torn header
            data = data[: rng.randrange(len(data))]
        elif op == 1:  # a bad byte, a NUL, a stray quote or separator
            at = rng.randrange(len(data) + 1)
            data = data[:at] + rng.choice([b"\xff", b"\x00", b'"', b"\r", b",", b"\n", b":", b"\t", b"\xc3"]) + data[at:]
        elif op == 2:
            data = b"\xef\xbb\xbf" + data  # a byte-order mark
        elif op == 3 and len(lines) > 1:  # a line written twice: a duplicate key, a duplicate row
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            data = b"\n".join(lines)
        elif op == 4 and len(lines) > 1:
            del lines[rng.randrange(len(lines))]
            data = b"\n".join(lines)
        elif op == 5 and lines:  # another case: a name that differs only in case
            i = rng.randrange(len(lines))
            lines[i] = lines[i].swapcase() if rng.random() < 0.5 else lines[i].upper()
            data = b"\n".join(lines)
        elif op == 6 and kind == "csv":  # another schema version, or none
            this = f"\n{SCHEMA_VERSION},".encode()
            data = data.replace(this, b"\n" + rng.choice([b"99", b"0", b"", b"x", b"2", b"1", b"3", b"4.0"]) + b",", 1)
        elif op == 7 and kind == "csv":  # a status that is not ok, a number that is not one
            data = data.replace(rng.choice([b",ok,", b",sim,", b",4,"]),
                                rng.choice([b",failed,", b",,", b",nan,", b",-1,", b",inf,", b",x,"]), 1)
        elif op == 8 and kind == "yaml" and lines:  # a value replaced
            i = rng.randrange(len(lines))
            key, sep, _ = lines[i].partition(b":")
            if sep:
                lines[i] = key + b": " + rng.choice(HOSTILE).encode()
            data = b"\n".join(lines)
        elif op == 9 and lines:  # indentation shifted
            i = rng.randrange(len(lines))
            lines[i] = (b"  " + lines[i]) if rng.random() < 0.5 else lines[i].lstrip()
            data = b"\n".join(lines)
        elif op == 10:
            data = rng.choice([b"", b"\n", b" ", b"---\n", b"[]\n", b"{}\n", b"null\n", b"- 1\n"])
        elif op == 11 and kind == "csv" and lines:  # the header loses or repeats a column
            names = lines[0].split(b",")
            i = rng.randrange(len(names))
            names.insert(i, names[i]) if rng.random() < 0.5 else names.pop(i)
            lines[0] = b",".join(names)
            data = b"\n".join(lines)
    return data


def _flags(parser_actions: dict[str, list[str]], command: str) -> list[str]:
    return [f for f in parser_actions.get(command, []) if f not in NEVER]


def _is_path_slot(argv: list[str], i: int) -> bool:
    """A file or folder the command reads or writes: a positional file argument, or the value of --out."""
    return argv[i - 1] == "--out" or argv[i].endswith((".csv", ".yaml", ".md")) or argv[i] == "reports"


def _model_dir_slot(rng: random.Random, argv: list[str]) -> list[str]:
    """--model (run, serve) or explain's MODEL pointed at the world's model folder, whose config.json is damaged."""
    if "--model" in argv[:-1]:
        argv[argv.index("--model") + 1] = "./modeldir"
    elif argv[:1] == ["explain"] and len(argv) > 1:
        argv[1] = "./modeldir"
    return argv


def mutate_argv(rng: random.Random, argv: list[str], flags: list[str], port: int) -> list[str]:
    argv = list(argv)
    for _ in range(rng.randint(1, 3)):
        op = rng.choices(range(6), weights=[30, 25, 15, 10, 10, 10])[0]
        slots = [i for i in range(1, len(argv)) if _is_path_slot(argv, i)]
        values = [i for i in range(1, len(argv)) if not argv[i].startswith("-")]
        if op == 0 and slots:  # a file swapped for another file of the world
            argv[rng.choice(slots)] = rng.choice(PATHS)
        elif op == 1 and values:  # a value replaced
            argv[rng.choice(values)] = rng.choice(HOSTILE)
        elif op == 2 and flags:  # an option added (or given again) with a hostile value or a path
            flag = rng.choice(flags)
            argv += [flag, rng.choice(HOSTILE + PATHS)] if rng.random() < 0.85 else [flag]
        elif op == 3 and len(argv) > 1:  # a token dropped
            del argv[rng.randrange(1, len(argv))]
        elif op == 4 and "--endpoint" in argv[:-1]:
            argv[argv.index("--endpoint") + 1] = rng.choice(ENDPOINTS).format(port=port)
        elif op == 5 and len(argv) > 2:  # two tokens swapped
            i, j = rng.randrange(1, len(argv)), rng.randrange(1, len(argv))
            argv[i], argv[j] = argv[j], argv[i]
    return argv


def generate(seed: int, count: int, flags_by_command: dict[str, list[str]], port: int,
             sources: dict[str, bytes]) -> list[Case]:
    """`count` cases from `seed`; `sources`: the world's valid files (A.csv, sweep.yaml, models.yaml, ...) the
    damaged copies are made from."""
    rng = random.Random(seed)
    names = list(WEIGHTS)
    weights = [WEIGHTS[n] for n in names]
    cases = []
    for index in range(count):
        command = rng.choices(names, weights)[0]
        argv = [a.format(port=port) for a in TEMPLATES[command]]
        if rng.random() < 0.2:
            argv = _model_dir_slot(rng, argv)
        if rng.random() < 0.9:  # a few valid lines keep the happy path under the same checks
            argv = mutate_argv(rng, argv, _flags(flags_by_command, command), port)
        case = Case(index, argv)
        case.files["bad.csv"] = mutate_bytes(rng, sources["A.csv"], "csv")
        case.files["bad.yaml"] = mutate_bytes(rng, sources["sweep.yaml"], "yaml")
        case.files["modeldir/config.json"] = mutate_bytes(rng, sources["config.json"], "json")
        if rng.random() < 0.05:
            case.env["BENCH_ENGINES"] = rng.choice(PLUGINS)
        if command == "sweep" and rng.random() < 0.5:  # the sweep file itself damaged (still --dry-run only if so)
            case.files["sweep.yaml"] = case.files["bad.yaml"]
            if "--dry-run" not in case.argv:
                case.argv.append("--dry-run")
        for variable, name in ENV_FILES.items():
            if rng.random() < 0.12:
                case.files[f"env-{name}"] = mutate_bytes(rng, sources[name], "yaml")
                case.env[variable] = f"env-{name}"
            elif rng.random() < 0.02:
                case.env[variable] = rng.choice(["folder", "missing.yaml", "A.csv", ""])
        cases.append(case)
    return cases
