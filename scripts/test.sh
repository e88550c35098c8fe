#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what it needs, then lints and tests.
#   - Python venv with Enclave and its test tools (scripts/bootstrap.sh --test)
#   - Docker engine, started if not running (scripts/ensure-docker.sh)
#   - Chromium for the browser tests (scripts/ensure-browser.sh)
#   - configurable-http-proxy for JupyterHub (npm)
#   - the notebook image, built without a registry and reused by content hash (images/build.sh)
# Usage: scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1m[test]\033[0m %s\n' "$*"; }

step "python environment"
scripts/bootstrap.sh --test
step "docker engine"
scripts/ensure-docker.sh
step "chromium"
scripts/ensure-browser.sh
if ! command -v configurable-http-proxy >/dev/null 2>&1; then
    step "configurable-http-proxy (npm)"
    npm install -g --no-fund --no-audit configurable-http-proxy >/dev/null
fi
step "images"
images/build.sh notebook

step "ruff"
.venv/bin/ruff check .

step "pytest"
mkdir -p test-artifacts
.venv/bin/python -m pytest -n 2 --dist loadfile -p no:cacheprovider "$@"
