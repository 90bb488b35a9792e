// Which CUDA errors end the process's CUDA context (the engine then reports itself lost and the
// service restarts), and how errors read. Host code: runs without a GPU.
#include "services/inference/engine/backends/cuda/cuda_status.h"

#include <gtest/gtest.h>

namespace cai::inference::cuda {
namespace {

TEST(CudaStatus, StickyErrorsAreTheOnesThatEndTheContext) {
  for (cudaError_t sticky :
       {cudaErrorIllegalAddress, cudaErrorLaunchFailure, cudaErrorMisalignedAddress, cudaErrorIllegalInstruction,
        cudaErrorHardwareStackError, cudaErrorAssert, cudaErrorLaunchTimeout, cudaErrorInvalidPc,
        cudaErrorInvalidAddressSpace, cudaErrorMpsClientTerminated, cudaErrorExternalDevice,
#if CUDART_VERSION >= 12080
        cudaErrorContained, cudaErrorTensorMemoryLeak,
#endif
        // by the project's choice: no retry in the same process cures these either
        cudaErrorECCUncorrectable, cudaErrorNvlinkUncorrectable, cudaErrorUnknown}) {
    EXPECT_TRUE(IsStickyCudaError(sticky)) << cudaGetErrorName(sticky);
  }
  // A step refused for its arguments or its size leaves the context usable.
  for (cudaError_t passing : {cudaSuccess, cudaErrorInvalidValue, cudaErrorMemoryAllocation,
                              cudaErrorInvalidConfiguration, cudaErrorLaunchOutOfResources, cudaErrorNoDevice,
                              cudaErrorInsufficientDriver, cudaErrorNotReady}) {
    EXPECT_FALSE(IsStickyCudaError(passing)) << cudaGetErrorName(passing);
  }
}

TEST(CudaStatus, SaysWhatFailedAndWhy) {
  EXPECT_TRUE(CudaStatus(cudaSuccess, "upload").ok());
  const absl::Status status = CudaStatus(cudaErrorMemoryAllocation, "upload");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(), std::string("upload: ") + cudaGetErrorString(cudaErrorMemoryAllocation));
}

}  // namespace
}  // namespace cai::inference::cuda
