#include "services/inference/engine/backends/cuda/cuda_status.h"

#include "absl/strings/str_cat.h"

namespace cai::inference::cuda {

absl::Status CudaStatus(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", cudaGetErrorString(error)));
}

bool IsStickyCudaError(cudaError_t error) {
  switch (error) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorLaunchTimeout:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorMpsClientTerminated:
    case cudaErrorExternalDevice:
#if CUDART_VERSION >= 12080
    case cudaErrorContained:
    case cudaErrorTensorMemoryLeak:
#endif
    // Not documented as sticky, but a GPU with uncorrectable memory or NVLink errors, or one that
    // has fallen off the bus (reported as unknown), is no better after them.
    case cudaErrorECCUncorrectable:
    case cudaErrorNvlinkUncorrectable:
    case cudaErrorUnknown:
      return true;
    default:
      return false;
  }
}

absl::Status CheckCudaDevice() {
  int count = 0;
  cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls report their own
    // Without a driver the runtime says "driver version is insufficient", which sends people
    // looking for an upgrade: say what is usually missing.
    const char* hint = error == cudaErrorInsufficientDriver || error == cudaErrorNoDevice
                           ? " (is the NVIDIA driver installed and /dev/nvidia0 visible, e.g. a container "
                             "started with the GPU?)"
                           : "";
    return absl::FailedPreconditionError(absl::StrCat("no CUDA device: ", cudaGetErrorString(error), hint));
  }
  if (count == 0) return absl::FailedPreconditionError("no CUDA device: the driver reports 0 devices");
  return absl::OkStatus();
}

}  // namespace cai::inference::cuda
