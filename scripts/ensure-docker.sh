#!/usr/bin/env bash
# Make sure a Docker engine answers on this Debian host, and that debootstrap is installed
# (images/build.sh needs both). Idempotent: every step is skipped when already done.
#   - installs docker.io (apt) when dockerd is missing, debootstrap when it is missing;
#   - starts dockerd in the background when `docker info` fails (there is no systemd here);
#   - waits until the engine answers, or fails with a clear message after a timeout.
# Usage: scripts/ensure-docker.sh [LOG_DIR]     (default LOG_DIR: /var/log/enclave)
# Env:   ENCLAVE_DOCKER_TIMEOUT  seconds to wait for the engine (default 60)
set -euo pipefail

log_dir="${1:-/var/log/enclave}"
timeout_s="${ENCLAVE_DOCKER_TIMEOUT:-60}"

say() { printf '[ensure-docker] %s\n' "$*"; }
die() { printf '[ensure-docker] 错误 / error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
    if ((!apt_updated)); then
        as_root apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "dockerd is missing and this is not a Debian host (no apt-get); install Docker by hand / 缺少 Docker 引擎"
    say "installing docker.io (apt)"
    apt_install docker.io
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "debootstrap is missing and this is not a Debian host / 缺少 debootstrap"
    say "installing debootstrap (apt)"
    apt_install debootstrap
fi

if docker info >/dev/null 2>&1; then
    say "Docker engine is running"
    exit 0
fi

mkdir -p "$log_dir"
log_file="$log_dir/dockerd.log"
if pgrep -x dockerd >/dev/null 2>&1; then
    # Started by someone else (maybe still coming up): wait for it rather than start a second one.
    say "a dockerd process exists but \`docker info\` fails yet; waiting for it (DOCKER_HOST=${DOCKER_HOST:-default})"
else
    say "starting dockerd in the background (log: $log_file)"
    as_root nohup dockerd >"$log_file" 2>&1 &
fi

for ((waited = 0; waited < timeout_s; waited++)); do
    if docker info >/dev/null 2>&1; then
        say "Docker engine is ready after ${waited} s"
        exit 0
    fi
    sleep 1
done
tail -n 20 "$log_file" >&2 2>/dev/null || true
die "the Docker engine did not answer within ${timeout_s} s (see $log_file) / Docker 引擎在 ${timeout_s} 秒内未就绪"
