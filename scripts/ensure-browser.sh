#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (idempotent).
# The tests drive it with Playwright's Python API through executable_path=/usr/bin/chromium;
# Playwright's own browser download (`playwright install`) is never used.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
    exit 0
fi
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd="sudo"
fi
echo "installing chromium (apt) ..." >&2
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium
/usr/bin/chromium --version
