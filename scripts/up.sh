#!/usr/bin/env bash
# Set up and run the whole Enclave platform on this host with embedded defaults:
# SQLite + local dataset store under $ENCLAVE_HOME (default ~/.enclave), single-host Docker,
# demo data when the state is empty. Runs the hub in the foreground (Ctrl-C stops it).
#   - Python venv with Enclave (scripts/bootstrap.sh)
#   - Docker engine, installed and started if absent (scripts/ensure-docker.sh)
#   - the notebook image, built without a registry, reused by content hash (images/build.sh)
#   - demo organisations, users, datasets, twins and grants (enclave demo) on first run
#   - JupyterHub + configurable-http-proxy + the airlock web app (scripts/hub.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1m[up]\033[0m %s\n' "$*"; }

step "python environment"
scripts/bootstrap.sh
step "docker engine"
scripts/ensure-docker.sh
step "notebook image"
images/build.sh notebook

export PATH="$PWD/.venv/bin:$PATH"
export ENCLAVE_HOME="${ENCLAVE_HOME:-$HOME/.enclave}"
if [[ ! -f "$ENCLAVE_HOME/enclave.db" ]]; then
    step "empty state in $ENCLAVE_HOME: seeding demo data"
    enclave demo
fi
enclave audit verify

cat <<MSG

Enclave 平台已就绪 / is starting.    状态目录 / state: $ENCLAVE_HOME
  打开 / open:        http://${ENCLAVE_PROXY_IP:-127.0.0.1}:${ENCLAVE_PROXY_PORT:-8000}/
  审核 / airlock:     http://${ENCLAVE_PROXY_IP:-127.0.0.1}:${ENCLAVE_PROXY_PORT:-8000}/services/airlock/
  演示账号 / demo logins (demo only):
    analyst1 / Analyst-demo-2025a     analyst2 / Analyst-demo-2025b
    reviewer1 / Review-demo-2025a     reviewer2 / Review-demo-2025b
    admin / Admin-demo-2025           auditor / Audit-demo-2025
  命令行 / CLI:       .venv/bin/enclave --help
MSG
exec scripts/hub.sh
