#pragma once

#include <cuda_runtime_api.h>

namespace cai::inference::cuda {

// Launches a kernel that writes through a null pointer, as a bug or a hardware fault would: the
// process's CUDA context is then lost (cudaErrorIllegalAddress from every later call). Only for a
// test that runs in a process of its own (a death test).
cudaError_t LaunchIllegalWrite();

}  // namespace cai::inference::cuda
