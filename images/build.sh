#!/usr/bin/env bash
# Build the Enclave images that are missing and reuse those already built (cached by content
# hash; see images/build.py for what each hash covers). Makes sure Docker and debootstrap are
# there first. Prints "image X: reused (tag)" or "image X: built in N s (tag)" per image and
# records each tag in images/.built/<image>.tag.
# Usage: images/build.sh [--force] [image...]      images/build.sh --print-tag notebook
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if [[ " $* " != *" --print-tag "* && " $* " != *" -h "* && " $* " != *" --help "* ]]; then
    "$here/../scripts/ensure-docker.sh" >&2
fi
exec "${PYTHON:-python3}" "$here/build.py" "$@"
