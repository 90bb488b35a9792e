#!/usr/bin/env bash
# Installs what is missing, builds, and starts the whole stack in the foreground (`cai up`).
# Arguments go to `cai up`: --port N, --model DIR, --api-keys-file FILE, ...
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-deps.sh
scripts/build.sh >/dev/null
exec build/bin/cai up "$@"
