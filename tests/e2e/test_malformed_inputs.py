"""The property-based tier: generated malformed command lines, YAML files and CSVs (tests/malformed.py) fed to
every subcommand. Whatever the input, bench

  - exits 0, 2, 3 or 130 (compare also 1: a regression, its documented answer);
  - never prints a traceback, and on exit 2 prints one line, `error: ...` (a sweep file's problems are listed one
    a line under that line, by design);
  - leaves every file that was there byte for byte, except the results CSV a run/sweep/serve appends to (what it
    held stays, whole rows first) and a table cost/compare replaces because it wrote it; on exit 2 it writes
    nothing at all;
  - never touches the repository's own models.yaml, hardware.yaml, prices.yaml and sweeps.

Bounded: BENCH_FUZZ_CASES cases (default 200) in process, within BENCH_FUZZ_SECONDS (default 60) of wall time
(cases past it are not run; the count run is printed), plus a few through `python -m bench`. BENCH_FUZZ_SEED
(default 16) picks the cases: a failure names its seed and index, and the same seed replays it; BENCH_FUZZ_LOG=FILE
appends every case and bench's answer to FILE, to read the messages. No engine
package is used: vllm/transformers/torch/ray are reported missing, so no case can start a real engine.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

from bench.cli import build_parser, main
from bench.results.store import whole_length
from malformed import APPENDERS, ENV_FILES, REPLACERS, REPO, Case, generate

SEED = int(os.environ.get("BENCH_FUZZ_SEED", "16"))
CASES = int(os.environ.get("BENCH_FUZZ_CASES", "200"))
SECONDS = float(os.environ.get("BENCH_FUZZ_SECONDS", "60"))
SUBPROCESS_CASES = 6
LOG = os.environ.get("BENCH_FUZZ_LOG")  # a file to append each case and what bench answered
ENGINE_PACKAGES = ("vllm", "transformers", "torch", "ray")
REPO_FILES = [REPO / "models.yaml", REPO / "hardware.yaml", REPO / "prices.yaml", *sorted((REPO / "sweeps").glob("*"))]


def dead_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flags_by_command() -> dict[str, list[str]]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {name: [s for a in p._actions for s in a.option_strings] for name, p in sub.choices.items()}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The world every case starts from: a real results CSV (two sim rows) with its JSON folder, a copy, a torn
    copy, a foreign CSV, a sweep file, the catalog, folders and a file where a JSON folder would go."""
    root = tmp_path_factory.mktemp("world")
    assert main(["run", "--engine", "sim", "--hardware", "H100-SXM", "--model", "tiny-glm", "--num-prompts", "4",
                 "--max-num-seqs", "1,2", "--out", str(root / "A.csv")]) == 0
    data = (root / "A.csv").read_bytes()
    (root / "B.csv").write_bytes(data)
    (root / "torn.csv").write_bytes(data[: len(data) - 40])
    (root / "notes.csv").write_text("mine,not,bench\n1,2,3\n")
    (root / "sweep.yaml").write_text("base: {model: tiny-glm, engine: sim, hardware: H100-SXM, num_prompts: 4}\n"
                                     "grid: {max_num_seqs: [1, 2]}\n")
    catalog = (REPO / "models.yaml").read_text().replace("config: model_configs/", f"config: {REPO}/model_configs/")
    (root / "models.yaml").write_text(catalog)
    (root / "folder").mkdir()
    (root / "folder.csv").mkdir()
    (root / "blocked").write_text("a file where blocked.csv's JSON folder would go\n")
    (root / "link.csv").symlink_to("A.csv")  # another name for an input
    (root / "loop.csv").symlink_to("loop2.csv")
    (root / "loop2.csv").symlink_to("loop.csv")
    (root / "dangling.csv").symlink_to("nowhere/none.csv")
    (root / "modeldir").mkdir()
    shutil.copy(REPO / "model_configs" / "tiny-qwen2" / "config.json", root / "modeldir" / "config.json")
    return root


def sources(template: Path) -> dict[str, bytes]:
    return {"A.csv": (template / "A.csv").read_bytes(), "sweep.yaml": (template / "sweep.yaml").read_bytes(),
            "models.yaml": (template / "models.yaml").read_bytes(),
            "hardware.yaml": (REPO / "hardware.yaml").read_bytes(), "prices.yaml": (REPO / "prices.yaml").read_bytes(),
            "config.json": (REPO / "model_configs" / "tiny-qwen2" / "config.json").read_bytes()}


def snapshot(root: Path) -> dict[str, bytes]:
    files = {}
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            files[str(p.relative_to(root))] = p.read_bytes()
    return files


def world_for(case: Case, template: Path, where: Path) -> Path:
    world = where / f"case{case.index}"
    shutil.copytree(template, world, symlinks=True)
    for name, data in case.files.items():
        (world / name).write_bytes(data)
    return world


def problems(case: Case, code, err: str, before: dict[str, bytes], after: dict[str, bytes],
             repo_before: dict[Path, bytes], world: Path) -> list[str]:
    """What this outcome breaks of the promises in the module docstring (empty: all kept)."""
    found = []
    allowed = {0, 2, 3, 130} | ({1} if case.command == "compare" else set())
    if code not in allowed:
        found.append(f"exit code {code!r}")
    if "Traceback" in err:
        found.append("a traceback on stderr")
    lines = err.splitlines()
    if code == 2:
        sweep_list = case.command == "sweep" and lines and lines[0].endswith("nothing was run") and all(
            line.startswith("  ") for line in lines[1:])
        if not lines or not lines[0].startswith("error: ") or (len(lines) != 1 and not sweep_list):
            found.append(f"exit 2 without one `error: ...` line: {err[:300]!r}")
        if lines and lines[0].strip() in ("error:", "error: None"):
            found.append("an empty message")
        new = sorted(set(after) - set(before))
        if new:
            found.append(f"exit 2, yet files were written: {new[:5]}")
    out = case.out()
    if out is None and case.command in APPENDERS:
        out = None  # the default (results/...) is a new file: nothing that was there can change
    for name, data in before.items():
        if name not in after:
            found.append(f"{name} was removed")
        elif after[name] != data:
            same_out = out is not None and (Path(name) == Path(out) or  # or a link to it: --out link.csv -> A.csv
                                            os.path.realpath(world / name) == os.path.realpath(world / out))
            if same_out and case.command in APPENDERS and code != 2 and after[name].startswith(data[:whole_length(data)]):
                continue  # rows appended; a torn last row moved to <name>.torn
            if same_out and case.command in REPLACERS and code in (0, 1):
                continue  # its own table, replaced
            found.append(f"{name} was changed ({len(data)} -> {len(after[name])} bytes)")
    for path, data in repo_before.items():
        if path.read_bytes() != data:
            found.append(f"the repository's {path.name} was changed")
    return found


def no_engine_packages(monkeypatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name.split(".")[0] in ENGINE_PACKAGES else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_generated_malformed_inputs_in_process(template, tmp_path, monkeypatch, capsys):
    no_engine_packages(monkeypatch)
    for variable in [*ENV_FILES, "BENCH_ENGINES"]:
        monkeypatch.delenv(variable, raising=False)
    cases = generate(SEED, CASES, flags_by_command(), dead_port(), sources(template))
    repo_before = {p: p.read_bytes() for p in REPO_FILES if p.is_file()}
    failures, ran, codes = [], 0, {}
    deadline = time.monotonic() + SECONDS
    for case in cases:
        if time.monotonic() > deadline:
            break
        world = world_for(case, template, tmp_path)
        before = snapshot(world)
        capsys.readouterr()
        with monkeypatch.context() as m:
            m.chdir(world)
            for variable, name in case.env.items():
                m.setenv(variable, name)
            try:
                code = main(list(case.argv))
            except SystemExit as e:  # argparse's --help
                code = e.code
            except BaseException:  # noqa: BLE001 - the finding itself
                code = f"escaped: {traceback.format_exc(limit=-3)}"
        err = capsys.readouterr().err
        if LOG:  # every message, to read them for clarity
            with open(LOG, "a") as log:
                log.write(f"{case}\n  -> {code}: {err.strip()[:500]}\n")
        found = problems(case, code, err, before, snapshot(world), repo_before, world)
        if found:
            failures.append(f"{case} (seed {SEED}) -> exit {code}: {'; '.join(found)}\n    stderr: {err[-400:]!r}")
        ran += 1
        codes[code if isinstance(code, int) else "escaped"] = codes.get(code if isinstance(code, int) else "escaped",
                                                                        0) + 1
        shutil.rmtree(world, ignore_errors=True)
    print(f"{ran} of {len(cases)} generated cases run (seed {SEED}); exit codes {dict(sorted(codes.items(), key=str))}")
    assert ran >= min(len(cases), 20), "too few cases ran within the time budget to mean anything"
    assert not failures, f"{len(failures)} case(s) broke a promise:\n" + "\n".join(failures[:15])


def test_generated_malformed_inputs_through_the_entry_point(template, tmp_path):
    """A few cases as a user runs them, `python -m bench ...` in a fresh process: the same promises, and no
    traceback from anything the in-process run cannot see (the entry point, interpreter start, imports).
    The engine packages are hidden by an import hook in a sitecustomize on PYTHONPATH."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import importlib.util as u\n_real = u.find_spec\n"
        f"u.find_spec = lambda n, *a, **k: None if n.split('.')[0] in {ENGINE_PACKAGES!r} else _real(n, *a, **k)\n")
    cases = generate(SEED + 1, SUBPROCESS_CASES, flags_by_command(), dead_port(), sources(template))
    repo_before = {p: p.read_bytes() for p in REPO_FILES if p.is_file()}
    failures = []
    for case in cases:
        world = world_for(case, template, tmp_path)
        before = snapshot(world)
        env = {k: v for k, v in os.environ.items() if k not in ENV_FILES and k != "BENCH_ENGINES"}
        env.update(case.env, PYTHONPATH=os.pathsep.join([str(hook), str(REPO), env.get("PYTHONPATH", "")]))
        proc = subprocess.run([sys.executable, "-m", "bench", *case.argv], cwd=world, env=env, capture_output=True,
                              text=True, timeout=120)
        found = problems(case, proc.returncode, proc.stderr, before, snapshot(world), repo_before, world)
        if found:
            failures.append(f"{case} (seed {SEED + 1}) -> exit {proc.returncode}: {'; '.join(found)}\n"
                            f"    stderr: {proc.stderr[-400:]!r}")
    assert not failures, "\n".join(failures)
