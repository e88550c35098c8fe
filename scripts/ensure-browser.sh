#!/usr/bin/env bash
# Make sure Debian's Chromium (and a small CJK font, so zh-CN screenshots are legible) is
# installed for the browser tests. Idempotent: does nothing when both are present.
# The tests drive Chromium with Playwright's Python API through executable_path=/usr/bin/chromium;
# Playwright's own browser download (`playwright install`) is never used.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -eq 0 ]; then
    echo "browser ready: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
    exit 0
fi
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd="sudo"
fi
echo "installing ${missing[*]} (apt) ..." >&2
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
echo "browser ready: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
