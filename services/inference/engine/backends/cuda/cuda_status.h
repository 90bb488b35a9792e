#pragma once

#include <cuda_runtime_api.h>

#include "absl/status/status.h"

namespace cai::inference::cuda {

// OK for cudaSuccess; otherwise Internal "<what>: <cudaGetErrorString>".
absl::Status CudaStatus(cudaError_t error, const char* what);

// Errors after which this process's CUDA context is unusable: those CUDA documents as sticky ("the
// process must be terminated and relaunched": illegal or misaligned addresses, kernel asserts and
// traps, hardware faults), and by this project's choice uncorrectable ECC or NVLink errors and
// unknown errors (a GPU off the bus), which no retry in the same process cures either.
bool IsStickyCudaError(cudaError_t error);

// OK when at least one CUDA device is usable; otherwise FailedPrecondition
// "no CUDA device: <reason>" (no driver, no GPU, or a broken installation). Safe to call on a
// machine without a driver: the runtime loads libcuda lazily and reports its absence here.
absl::Status CheckCudaDevice();

}  // namespace cai::inference::cuda

#define CAI_CUDA_RETURN_IF_ERROR(expr)                                               \
  do {                                                                               \
    if (cudaError_t cai_cuda_error_ = (expr); cai_cuda_error_ != cudaSuccess) {      \
      return ::cai::inference::cuda::CudaStatus(cai_cuda_error_, #expr);            \
    }                                                                                \
  } while (0)
