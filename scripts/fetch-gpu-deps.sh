#!/usr/bin/env bash
# Downloads the Debian 12 packages that scripts/gpu-check.sh needs on a GPU machine whose image
# lacks them (abseil, nlohmann-json, PCRE2, GoogleTest) into .gpu-deps/, which git ignores. Carry
# that folder to the GPU machine with the command (e.g. the device tool's `carry`).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu-deps
cd .gpu-deps
apt-get update -qq
apt-get download -qq libabsl-dev libabsl20220623 nlohmann-json3-dev libpcre2-dev libpcre2-8-0 libgtest-dev \
  libgmock-dev
ls -l
