#!/usr/bin/env bash
# The CUDA checks, in one go, on a machine with an NVIDIA H100/H200: builds the engine, the CUDA
# backend, the gpu-labelled tests and the benches alone (-DCAI_ENGINE_ONLY=ON: no gRPC, OpenSSL or
# Boost needed), runs `ctest -L gpu`, cai-bench-cuda-decode and cai-bench-sampler, writes every log
# to $OUT (default build-gpu/out) and ends with a summary of the failures and the CUDA figures.
# Libraries the machine lacks come from the Debian packages in .gpu-deps/
# (scripts/fetch-gpu-deps.sh), unpacked into a private folder, never into /.
#
#   scripts/gpu-check.sh [ctest -R pattern]
#   scripts/gpu-check.sh --sanitize   # compute-sanitizer over the gpu tests instead (a second call:
#                                     # it reuses build-gpu/ where the machine kept it)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-build-gpu/out}"
mkdir -p "$out"
if compgen -G ".gpu-deps/*.deb" >/dev/null; then
  root=/tmp/cai-gpu-deps
  for deb in .gpu-deps/*.deb; do dpkg -x "$deb" "$root"; done
  export CMAKE_PREFIX_PATH="$root/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nvcc --version | tail -1; } \
  2>&1 | tee "$out/machine.txt"

# Another compiler than Debian 12's may warn where ours does not: warnings stay warnings here.
if ! cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCAI_ENGINE_ONLY=ON -DCAI_WERROR=OFF \
    >"$out/configure.log" 2>&1; then
  tail -30 "$out/configure.log"
  exit 1
fi
if ! cmake --build build-gpu -j"$(nproc)" >"$out/build.log" 2>&1; then
  grep -E "error|Error" "$out/build.log" | head -40
  exit 1
fi
# Here a GPU that cannot be used fails the gpu tests instead of skipping them. Each step has a time
# limit, so one hung kernel cannot use up the whole call and leave the benches unrun.
export CAI_REQUIRE_GPU=1
status=0
if [[ "${1:-}" == --sanitize ]]; then
  # Out-of-bounds or misaligned accesses and reads of uninitialised memory can pass a comparison
  # with the CPU by luck; memcheck and initcheck report them. racecheck (shared-memory hazards) is
  # slow, so it runs the kernel tests alone. Each step is bounded; a timeout shows as exit 124.
  tests=build-gpu/tests/unit/cuda/cuda_backend_test
  for tool in memcheck initcheck; do
    # The death test faults on purpose.
    timeout 240 compute-sanitizer --tool "$tool" --error-exitcode 1 "$tests" --gtest_filter='-*DeathTest*' 2>&1 |
      tee "$out/sanitize-$tool.log" || status=1
  done
  timeout 240 compute-sanitizer --tool racecheck --error-exitcode 1 "$tests" --gtest_filter='CudaKernels.*:CudaSampling.*' 2>&1 |
    tee "$out/sanitize-racecheck.log" || status=1
  exit "$status"
fi
ctest --test-dir build-gpu -L gpu --output-on-failure --timeout 120 ${1:+-R "$1"} 2>&1 | tee "$out/ctest-gpu.log" ||
  status=1
timeout 300 build-gpu/bin/cai-bench-cuda-decode 2>&1 | tee "$out/bench-cuda-decode.log" || status=1
timeout 60 build-gpu/bin/cai-bench-sampler 2>&1 | tee "$out/bench-sampler.log" || status=1
# The lines that matter, last, so a caller that keeps only the end of the output still has them.
echo "== summary (logs in $out)"
grep -E "tests passed|tests failed|\*\*\*Failed|\(Failed\)|\(Timeout\)" "$out/ctest-gpu.log" | tail -20
grep -vE "^command:" "$out/bench-cuda-decode.log" | tail -40
exit "$status"
