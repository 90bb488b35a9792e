#!/usr/bin/env bash
# Configures and builds cai into build/ (Ninja, ccache). Arguments name targets to build
# (default: everything). Binaries land in build/bin.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
elif grep -q '^CMAKE_CUDA_COMPILER:FILEPATH=NOTFOUND' build/CMakeCache.txt &&
     { command -v nvcc >/dev/null || compgen -G '/usr/local/cuda*/bin/nvcc' >/dev/null; }; then
  # The CUDA toolkit was installed after the first configure (scripts/install-cuda.sh): look again.
  echo "build: found the CUDA toolkit; reconfiguring with the CUDA backend"
  cmake -U CMAKE_CUDA_COMPILER -U CAI_CUDA -S . -B build
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build build -j "$(nproc)" "${targets[@]}"
