#!/usr/bin/env bash
# Installs what the CUDA backend builds with (nvcc, cudart, cuBLAS, cuRAND's headers) from NVIDIA's
# Debian 12 repository, for serving on an H100/H200 host (`scripts/up.sh --device cuda`) and for
# the inference-cuda image. The GPU driver is not installed: it belongs to the host.
#
#   scripts/install-cuda.sh [VERSION]     VERSION: major.minor, default 12.8 (or $CUDA_VERSION)
#
# CUDA 12.x runs on the 535+ drivers of confidential-computing H100 hosts; 13.x needs 580+.
set -euo pipefail
version="${1:-${CUDA_VERSION:-12.8}}"
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+$ ]]; then
  echo "install-cuda: a version is major.minor, such as 12.8; got '$version'" >&2
  exit 2
fi
v="${version/./-}"
packages=("cuda-nvcc-$v" "cuda-cudart-dev-$v" "libcublas-dev-$v" "libcurand-dev-$v")
nvcc="/usr/local/cuda-$version/bin/nvcc"

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-cuda: missing packages: ${missing[*]}; run as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! dpkg-query -W -f='${Status}' cuda-keyring 2>/dev/null | grep -q "ok installed"; then
    # The keyring package installs NVIDIA's signing key and the repository's apt source.
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends ca-certificates curl >/dev/null
    keyring="$(mktemp --suffix=.deb)"
    curl -fsSL -o "$keyring" \
      https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb
    dpkg -i "$keyring" >/dev/null
    rm -f "$keyring"
  fi
  echo "install-cuda: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$nvcc" --version | tail -1
echo "install-cuda: nvcc is $nvcc"
