"""The engine table (bench/config/engines.py): every question bench asks of an engine by name derives from it, an
engine without an install hint gets pip's words, and no code outside bench/engines compares engine names."""

from __future__ import annotations

import ast
from pathlib import Path

from bench.cli import main
from bench.config import engines as table
from bench.config.run import RunConfig

REPO = Path(__file__).resolve().parents[2]


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def test_what_bench_asks_of_an_engine_derives_from_the_table():
    assert RunConfig.model_fields["engine"].description == table.engines_help() == (
        "vllm; sim: the roofline's prediction for --hardware, no GPU needed; hf: transformers generate, static "
        "batches; hf-cb: transformers continuous batching (when the installed transformers has it); see "
        "docs/engines.md")
    assert table.gpu_engines() == ("vllm", "hf", "hf-cb")
    assert [name for name in table.ENGINE_TABLE if table.is_predicted(name)] == ["sim"]
    assert not any(table.is_predicted(n) for n in ("vllm", "hf", "fault-ok", "vllm-server", "", None))
    assert (table.modelled_engine("sim"), table.modelled_engine("hf"), table.modelled_engine(None)) == ("vllm", "hf",
                                                                                                          None)
    assert table.engine_version("sim") == table.SIM_MODEL_VERSION == "roofline-3"
    assert table.engine_version("fault-ok") == "unknown"
    assert table.ENGINE_PACKAGES == {"vllm": "vllm", "hf": "transformers", "hf-cb": "transformers"}


def test_an_engine_entered_without_an_install_hint_is_one_line(capsys, monkeypatch, tmp_path):
    """An engine whose package had no entry in the install hints failed with KeyError."""
    monkeypatch.setitem(table.ENGINE_TABLE, "new", table.EngineEntry("bench.engines.sim:SimEngine", "measured",
                                                                      package="bench_no_such_package"))
    monkeypatch.setitem(table.ENGINES, "new", "bench.engines.sim:SimEngine")
    out = tmp_path / "r.csv"
    code = main(["run", "--model", "tiny-qwen2", "--engine", "new", "--out", str(out)])
    err = one_line(capsys.readouterr().err)
    assert code == 2 and "bench_no_such_package is not installed in this Python" in err
    assert "pip install bench_no_such_package" in err and not out.exists()


def sim_comparisons(text: str) -> list[str]:
    """Comparisons with the literal "sim" (==, !=, in, not in; alone or in a tuple, list or set), and
    startswith/endswith("sim")."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            literals = [c for o in operands for c in ([o] if isinstance(o, ast.Constant) else
                                                      getattr(o, "elts", []) if isinstance(o, (ast.Tuple, ast.List,
                                                                                               ast.Set)) else [])]
            if any(isinstance(c, ast.Constant) and c.value == "sim" for c in literals):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("startswith", "endswith") and \
                any(isinstance(a, ast.Constant) and a.value == "sim" for a in node.args):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_check_finds_each_form_of_a_sim_comparison():
    code = ('a = r.engine == "sim"\nb = row.get("engine") != "sim"\nc = e in ("sim", "", None)\nd = "sim" in names\n'
            'f = name.startswith("sim")\ng = r.engine == "vllm"\nh = {"engine": "sim"}\n')
    assert [x.split(":")[0] for x in sim_comparisons(code)] == ["line 1", "line 2", "line 3", "line 4", "line 5"]


def test_no_code_outside_the_engines_compares_an_engine_name_with_sim():
    """Whether a row is predicted is the table's is_predicted; rows keep engine=sim."""
    bench = REPO / "bench"
    found = [f"{p.relative_to(REPO)} {hit}" for p in sorted(bench.rglob("*.py"))
             if p.relative_to(bench).parts[0] != "engines" and p != bench / "config" / "engines.py"
             for hit in sim_comparisons(p.read_text())]
    assert found == []
