#!/usr/bin/env bash
# Start the Enclave JupyterHub on this host.
#   - installs configurable-http-proxy with `npm install -g` if it is missing;
#   - installs the sandbox firewall (idempotent; needs root for iptables);
#   - runs `jupyterhub -f hub/jupyterhub_config.py` with its state in $ENCLAVE_HOME/hub/.
# Environment: ENCLAVE_HOME (default ~/.enclave), ENCLAVE_HUB_PORT (8081), ENCLAVE_PROXY_IP
# (127.0.0.1), ENCLAVE_PROXY_PORT (8000), ENCLAVE_PROXY_API_PORT (8001), ENCLAVE_NOTEBOOK_IMAGE
# (default: the tag recorded by images/build.sh). Extra arguments go to jupyterhub.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${ENCLAVE_VENV:-$repo/.venv}"
export ENCLAVE_HOME="${ENCLAVE_HOME:-$HOME/.enclave}"
export PATH="$venv/bin:$PATH"

if ! command -v configurable-http-proxy >/dev/null 2>&1; then
    echo "installing configurable-http-proxy (npm) ..." >&2
    npm install -g configurable-http-proxy >&2
fi
if ! docker info >/dev/null 2>&1; then
    echo "错误：Docker 引擎未运行 / error: the Docker engine is not running" >&2
    exit 1
fi

state="$ENCLAVE_HOME/hub"
mkdir -p "$state"
chmod 700 "$state"
cd "$state"  # JupyterHub writes nothing outside it (db, secrets, pid files are configured there)
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
echo "Enclave hub: http://${ENCLAVE_PROXY_IP:-127.0.0.1}:${ENCLAVE_PROXY_PORT:-8000}/ (state $state)" >&2
exec "$venv/bin/jupyterhub" -f "$repo/hub/jupyterhub_config.py" "$@"
