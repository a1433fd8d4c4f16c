"""How many times each pricing, SLO and vendor option is declared in bench/ (read with ast, nothing imported).

A declaration is an `add_argument("--flag", ...)` call, or a field of a class body whose value is `option(...)`
(its flag: `flags=(...)`'s first, else --field-name). A field whose value is `reworded(Model, "name", ...)` re-reads
a declaration made elsewhere and is counted apart ("re-used"). Usage: python scripts/option_declarations.py [DIR]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

FLAGS = ("--basis", "--gpu-cny-per-hour", "--what-if-hardware", "--rental-tier", "--utilization", "--mix",
         "--fx-cny-per-usd", "--as-of", "--years", "--electricity-cny-per-kwh", "--pue", "--hosting-cny-per-month",
         "--cost-of-capital", "--colocation-cny-per-kw-month", "--slo-ttft-ms", "--slo-tpot-ms", "--slo-percentile",
         "--vendors", "--cache-hit-rate", "--batch-api", "--batch-share", "--off-peak-share", "--monthly-tokens",
         "--traffic-tpm", "--traffic-rpm")


def _call_name(node: ast.AST) -> str:
    f = node.func if isinstance(node, ast.Call) else None
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _strings(nodes) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _field_flag(target: str, call: ast.Call) -> str:
    for kw in call.keywords:
        if kw.arg == "flags" and isinstance(kw.value, (ast.Tuple, ast.List)) and _strings(kw.value.elts):
            return _strings(kw.value.elts)[0]
    return "--" + target.replace("_", "-")


def declarations(root: Path) -> dict[str, dict[str, list[str]]]:
    """flag -> {"declared": [places], "re-used": [places]}."""
    found = {f: {"declared": [], "re-used": []} for f in FLAGS}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) == "add_argument":
                for flag in _strings(node.args):
                    if flag in found:
                        found[flag]["declared"].append(f"{path}:{node.lineno}")
            elif (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                  and isinstance(node.value, ast.Call) and _call_name(node.value) in ("option", "reworded")):
                flag = _field_flag(node.target.id, node.value)
                kind = "declared" if _call_name(node.value) == "option" else "re-used"
                if flag in found:
                    found[flag][kind].append(f"{path}:{node.lineno}")
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "bench"
    found = declarations(root)
    print(f"{'option':30} declared  re-used")
    for flag, places in found.items():
        print(f"{flag:30} {len(places['declared']):8}  {len(places['re-used']):7}")
    total = sum(len(p["declared"]) for p in found.values())
    print(f"{'total':30} {total:8}  {sum(len(p['re-used']) for p in found.values()):7}  ({len(FLAGS)} options)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
