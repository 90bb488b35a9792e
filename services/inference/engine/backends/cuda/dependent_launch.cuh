#pragma once

// Programmatic dependent launch (Hopper, sm_90): a kernel launched with LaunchDependent may be
// scheduled while the kernel before it in the stream drains, instead of after it has fully ended,
// which hides most of the launch gap between the short kernels of a decode step. Correctness rests
// on one rule: such a kernel calls AwaitPreviousKernel() before it touches global memory. That
// waits until the previous kernel has completed and its writes are visible (and, through that
// kernel's own wait, every kernel before it), so the order of effects is exactly a plain launch's.
// Kernels that follow a copy rather than a kernel (the embedding after the step's inputs, the
// logit edits and the sampler after their uploads) launch plainly.
#include <cuda_runtime.h>

namespace cai::inference::cuda {

// Whether LaunchDependent asks for the overlap (SetProgrammaticLaunch in kernels.h).
bool ProgrammaticLaunch();

// First statement of every kernel launched by LaunchDependent: wait for the previous kernel, then
// let the next one be scheduled (it waits for this one in turn). Both are no-ops in a kernel
// launched plainly.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#error "programmatic dependent launch needs sm_90: without the wait below, an overlapped kernel would race"
#endif
__device__ __forceinline__ void AwaitPreviousKernel() {
#if defined(__CUDA_ARCH__)
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

template <typename... Params, typename... Args>
cudaError_t LaunchDependent(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
                            cudaStream_t stream, Args... args) {
  cudaLaunchAttribute overlap{};
  overlap.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  overlap.val.programmaticStreamSerializationAllowed = 1;
  const bool programmatic = ProgrammaticLaunch();
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  config.attrs = programmatic ? &overlap : nullptr;
  config.numAttrs = programmatic ? 1 : 0;
  const cudaError_t launched = cudaLaunchKernelEx(&config, kernel, args...);
  // A failed launch also sets the thread's last error, which a later launcher's cudaGetLastError()
  // would report as its own: it is taken here, as cudaGetLastError() after <<<>>> took it.
  if (launched != cudaSuccess) (void)cudaGetLastError();
  return launched;
}

}  // namespace cai::inference::cuda
