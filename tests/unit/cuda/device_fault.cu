#include "tests/unit/cuda/device_fault.h"

namespace cai::inference::cuda {
namespace {

__global__ void WriteThroughNull(int* p) { *p = 1; }

}  // namespace

cudaError_t LaunchIllegalWrite() {
  WriteThroughNull<<<1, 1>>>(nullptr);
  return cudaGetLastError();
}

}  // namespace cai::inference::cuda
