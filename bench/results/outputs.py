"""Where a command may write, checked before anything runs: run, sweep and serve append rows to a results CSV
(and put one JSON per row in the folder named after it); cost and compare replace a table; report fills a
folder. Each check raises BenchError (one line naming the path, the problem and the fix) and changes nothing.

What is refused, and why:
  - an output that is one of the command's inputs (compare A.csv A.csv --out A.csv replaced the results);
  - a table written over an existing results CSV, or over any file that is not the table this command
    writes (cost --out models.yaml turned the catalog into a CSV): tables are replaced, results only grow;
  - a suffix the command does not write (.csv; compare also .md): a results CSV without .csv would share its
    path with its own JSON folder;
  - a path that cannot be written: a directory where a file is wanted (or a file where the JSON folder goes),
    a read-only or immutable file, a folder without write permission, a read-only mount.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from bench.core.errors import BenchError

FIRST_BYTES = 64 * 1024  # enough to read any header line bench writes


def _named(path: Path, flag: str) -> None:
    if str(path).strip() in ("", "."):
        raise BenchError(f"{flag}: empty path; give a file name such as results/runs.csv")


def _suffix(path: Path, flag: str, suffixes: tuple[str, ...]) -> None:
    if path.suffix.lower() not in suffixes:
        wanted = " or ".join(suffixes)
        raise BenchError(f"{flag} {path}: give a file ending in {wanted}")


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (a link or another spelling included); False when either is missing."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _not_an_input(path: Path, flag: str, inputs: Iterable[Path]) -> None:
    for given in inputs:
        if given is not None and (same_file(path, given) or os.path.realpath(path) == os.path.realpath(given)):
            raise BenchError(f"{flag} {path} is also an input of this command; writing it would destroy what is "
                             "read: choose another file")


def _existing_ancestor(path: Path) -> Path:
    here = path.parent
    while not here.exists() and here != here.parent:
        here = here.parent
    return here


def writable_file(path: Path, flag: str) -> None:
    """`path` can be created or written: not a directory, its folder (or the nearest one that exists, where
    the missing ones will be made) a writable directory, the file itself writable if it exists. A symbolic link
    is judged by its target, which is what gets written (results.store.followed)."""
    from bench.results.store import followed

    path = followed(path)
    if path.is_dir():
        raise BenchError(f"{flag} {path} is a directory; give a file inside it, e.g. {path / 'runs.csv'}")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise BenchError(f"{flag} {path} is read-only (permissions, immutable or a read-only mount); choose "
                             "another file or make it writable")
        return
    writable_folder(path.parent if path.parent.exists() else _existing_ancestor(path), flag, path)


def writable_folder(folder: Path, flag: str, target: Path) -> None:
    if not folder.is_dir():
        raise BenchError(f"{flag} {target}: {folder} is not a folder; choose another path")
    if not os.access(folder, os.W_OK | os.X_OK) or not _can_create_in(folder):
        raise BenchError(f"{flag} {target}: cannot write in {folder} (permissions or a read-only mount); choose "
                         "another path")


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be made in `folder`: one is made and removed at once (access() alone misses
    immutable folders, ACLs and file systems such as /proc)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".bench-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def _first_line(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(FIRST_BYTES).split(b"\n", 1)[0].rstrip(b"\r")


def _is_results_csv(first_line: bytes) -> bool:
    names = {n.strip().strip('"') for n in first_line.lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace").split(",")}
    return {"schema_version", "run_id"} <= names


def _check_results_out(path: Path, inputs: Iterable[Path] = (), flag: str = "--out") -> None:
    """A results CSV that rows will be appended to (bench run, sweep, serve), and its JSON folder beside it."""
    from bench.results.store import check_appendable, json_dir

    _named(path, flag)
    _suffix(path, flag, (".csv",))
    _not_an_input(path, flag, inputs)
    writable_file(path, flag)
    folder = json_dir(path)
    if folder.exists():
        if not folder.is_dir():
            raise BenchError(f"{flag} {path}: {folder} (where each row's JSON goes) is a file; move it, or choose "
                             "another --out")
        writable_folder(folder, flag, path)
    check_appendable(path)


def _check_table_out(path: Path, inputs: Iterable[Path], suffixes: tuple[str, ...],
                    ours: Callable[[bytes], bool], what: str, flag: str = "--out") -> None:
    """A table a command replaces whole (bench cost, compare): not an input, not a results CSV, and if the
    file exists, one this command wrote (`ours(first line)`): anything else there is the user's."""
    _named(path, flag)
    _suffix(path, flag, suffixes)
    _not_an_input(path, flag, inputs)
    writable_file(path, flag)
    if path.exists() and path.stat().st_size:
        first = _first_line(path)
        if _is_results_csv(first):
            raise BenchError(f"{flag} {path} holds bench results (rows of bench run/sweep/serve); {what} would replace "
                             "them: choose another file")
        if not ours(first):
            raise BenchError(f"{flag} {path} exists and is not {what}; choose another file (or delete it first)")


def _check_report_dir(path: Path, inputs: Iterable[Path], flag: str = "--out") -> None:
    """A folder for a report's files: not an existing file, creatable or writable."""
    _named(path, flag)
    _not_an_input(path, flag, inputs)
    if path.exists() and not path.is_dir():
        raise BenchError(f"{flag} {path} is a file; give a directory (created if missing)")
    writable_folder(path if path.exists() else _existing_ancestor(path / "x"), flag, path)
    for name in ("index.html", "report.md"):
        if (path / name).is_dir():
            raise BenchError(f"{flag} {path}: {path / name} is a folder; the report writes a file there")


def config_files() -> list[Path]:
    """The YAML files every command may read (models, hardware, prices; each as its environment variable
    points): never a place to write."""
    from bench.config.catalog import catalog_path
    from bench.config.hardware import hardware_path
    from bench.config.prices import prices_path

    return [catalog_path(), hardware_path(), prices_path()]


def _as_input_error(check):
    """`check` with an OSError from the file system (a name too long, a loop of links) as one BenchError line."""
    def checked(path: Path, *args, flag: str = "--out", **kwargs) -> None:
        try:
            check(path, *args, flag=flag, **kwargs)
        except OSError as e:
            raise BenchError(f"{flag} {path}: {e.strerror or e}; choose another path") from None
    checked.__doc__ = check.__doc__
    return checked


check_results_out = _as_input_error(_check_results_out)
check_table_out = _as_input_error(_check_table_out)
check_report_dir = _as_input_error(_check_report_dir)
