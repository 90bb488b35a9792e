#!/usr/bin/env bash
# Installs what is missing, builds, and starts the whole stack in the foreground (`cai up`).
# Arguments go to `cai up`: --port N, --model DIR, --api-keys-file FILE, ...
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-deps.sh
# Only what the stack needs: the four services, the CLI and the demo model writer.
echo "Building cai (the first build takes several minutes) ..."
scripts/build.sh cai cai-edge cai-signer cai-attestor cai-inference cai-demo-model
exec build/bin/cai up "$@"
