#!/usr/bin/env bash
# Install what Enclave needs on a Debian 12 machine, idempotently:
#   system packages (tesseract OCR with Simplified Chinese), a Python venv in .venv with Enclave
#   and its test tools. Re-running is cheap: each step is skipped when already done.
# Usage: scripts/bootstrap.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

log() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

apt_packages=(tesseract-ocr tesseract-ocr-chi-sim)
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    log "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
    log "creating Python virtual environment in .venv"
    python3 -m venv .venv
fi

extras=""
((want_test)) && extras="[test]"
stamp=".venv/.enclave-installed${extras:+-test}"
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$digest" ]]; then
    log "installing Enclave${extras} into .venv (pip)"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".${extras}"
    echo "$digest" > "$stamp"
else
    log "Python packages up to date"
fi
