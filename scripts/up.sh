#!/usr/bin/env bash
# Set up and run Enclave on this host with embedded defaults:
# SQLite + local dataset store under $ENCLAVE_HOME (default ~/.enclave), demo data when empty.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
export ENCLAVE_HOME="${ENCLAVE_HOME:-$HOME/.enclave}"

if [[ ! -f "$ENCLAVE_HOME/enclave.db" ]]; then
    echo "[up] empty state in $ENCLAVE_HOME: seeding demo data"
    enclave demo
fi
enclave audit verify
enclave catalog list
enclave grant list
cat <<MSG

Enclave control plane is ready.  状态目录 / state: $ENCLAVE_HOME
Try:  .venv/bin/enclave --help
      .venv/bin/enclave scan --json <file>
Demo logins are listed in README.md ("Demo accounts").
MSG
