#!/usr/bin/env bash
# The whole test suite: install everything, check the style (ruff lint and format) and the
# types (mypy), then run pytest, doctests included (extra arguments go to pytest).
# Any violation fails the script (set -e): CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] ruff check"
.venv/bin/ruff check sliceq22 tests benchmarks
echo "[test] ruff format --check"
.venv/bin/ruff format --check sliceq22 tests benchmarks
echo "[test] mypy"
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
