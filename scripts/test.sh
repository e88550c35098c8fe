#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, then lints and tests.
# Usage: scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh --test

echo "[test] ruff"
.venv/bin/ruff check .

echo "[test] pytest"
mkdir -p test-artifacts
.venv/bin/python -m pytest -n 2 --dist loadfile -p no:cacheprovider "$@"
