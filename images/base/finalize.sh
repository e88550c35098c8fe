#!/bin/sh
# Trim and harden a freshly debootstrapped root file system before `docker import`.
# Runs on the host against the root directory given as $1 (no chroot needed).
# Why: the sandbox never installs packages or changes identity, so package caches, docs and
# every setuid/setgid program (su, mount, passwd, ...) are dead weight or attack surface.
set -eu
root="$1"
[ -d "$root/usr" ] || { echo "finalize: $root is not a root file system" >&2; exit 1; }

rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
       "$root"/var/log/* "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
# Keep only the message catalogs a zh/en user can read.
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -type d \
     ! -name 'zh_CN' ! -name 'en*' ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true

# No way to switch user inside the sandbox: remove su/sudo and strip setuid/setgid bits.
rm -f "$root/bin/su" "$root/usr/bin/su" "$root/usr/bin/sudo" "$root/usr/sbin/sudo"
find "$root" -xdev -type f \( -perm -4000 -o -perm -2000 \) -exec chmod ug-s {} +
