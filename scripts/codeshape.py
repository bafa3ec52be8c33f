"""Report the code-shape limits of the package: module length, function length, branches.

Usage: ``python scripts/codeshape.py [PACKAGE_DIR]`` prints every module over
``MAX_MODULE_LINES`` lines and every function over ``MAX_FUNCTION_LINES`` lines
(counted from ``def`` to its last line, docstring included) and exits 1 if any.
Branches per function are checked by ruff (``PLR0912``, ``max-branches`` in
``pyproject.toml``).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def module_lengths(root: Path) -> dict[Path, int]:
    """Lines per module under ``root``."""
    return {path: len(path.read_text().splitlines()) for path in sorted(root.rglob("*.py"))}


def function_lengths(root: Path) -> dict[str, int]:
    """Lines per function (``def`` to its end) as ``"path:line name" -> lines``."""
    lengths: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                end = node.end_lineno or node.lineno
                lengths[f"{path}:{node.lineno} {node.name}"] = end - node.lineno + 1
    return lengths


def problems(root: Path) -> list[str]:
    """Every module and function over its limit, one line each."""
    found = [
        f"{path}: {lines} lines (module limit {MAX_MODULE_LINES})"
        for path, lines in module_lengths(root).items()
        if lines > MAX_MODULE_LINES
    ]
    found += [
        f"{where}: {lines} lines (function limit {MAX_FUNCTION_LINES})"
        for where, lines in function_lengths(root).items()
        if lines > MAX_FUNCTION_LINES
    ]
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "sliceq22"
    found = problems(root)
    modules = module_lengths(root)
    functions = function_lengths(root)
    print(
        f"{len(modules)} modules (longest {max(modules.values())} lines), "
        f"{len(functions)} functions (longest {max(functions.values())} lines)"
    )
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
