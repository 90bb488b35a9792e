#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite. CI runs exactly this.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

scripts/install-deps.sh
scripts/build.sh

# Python test clients (openai, eth-account, pytest) come from PyPI into a venv under build/.
venv=build/venv
if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/requirements.txt "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r tests/requirements.txt
  cp tests/requirements.txt "$venv/requirements.txt"
fi

# libFuzzer targets need clang: they live in a second, small build of the parsers only.
if command -v clang++ >/dev/null; then
  if [ ! -f build/fuzz/build.ninja ]; then
    cmake -S . -B build/fuzz -G Ninja -DCAI_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
  fi
  cmake --build build/fuzz -j "$(nproc)"
fi

status=0
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@" || status=1
if [ -f build/fuzz/CTestTestfile.cmake ]; then
  ctest --test-dir build/fuzz --output-on-failure -j "$(nproc)" || status=1
fi
exit $status
