#!/usr/bin/env bash
# The whole test suite: install everything, check the style (ruff lint and format), the
# code shape (modules <= 500 lines, functions <= 80 lines and <= 20 branches) and the types
# (mypy), then run pytest, doctests included (extra arguments go to pytest).
# Any violation fails the script (set -e): CI (.ci/run) runs exactly this, without --fast.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --fast     # the same checks, pytest without the tests marked slow
#   bash scripts/test.sh --fast -k study -x    # any other argument goes to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
pytest_args=()
fast=0
for arg in "$@"; do
    if [[ "$arg" == "--fast" ]]; then
        fast=1
    else
        pytest_args+=("$arg")
    fi
done
if ((fast)); then
    # Leaves out the end-to-end tests marked `slow` (Ray clusters and Jobs, PostgreSQL
    # servers, Chromium, whole studies, kill drills); see the README's tests section.
    pytest_args=(-m "not slow" "${pytest_args[@]}")
fi
bash scripts/setup.sh
echo "[test] ruff check"
.venv/bin/ruff check sliceq22 tests benchmarks scripts
echo "[test] ruff format --check"
.venv/bin/ruff format --check sliceq22 tests benchmarks scripts
echo "[test] code shape"
.venv/bin/python scripts/codeshape.py
echo "[test] mypy"
.venv/bin/mypy
if ((fast)); then
    echo "[test] pytest, fast subset (-m \"not slow\")"
fi
exec .venv/bin/python -m pytest "${pytest_args[@]}"
