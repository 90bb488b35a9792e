#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/inference/engine/backends/cpu/transformer_model.h"
#include "services/inference/engine/checkpoint.h"
#include "services/inference/engine/forward_backend.h"
#include "services/inference/engine/model_config.h"

namespace cai::inference {

// Where the model runs (`cai-inference --device`).
enum class Device { kAuto, kCpu, kCuda };

// "auto", "cpu" or "cuda"; InvalidArgument otherwise.
absl::StatusOr<Device> ParseDevice(std::string_view name);
std::string_view DeviceName(Device device);

// Whether this binary was built with the CUDA backend (CMake found nvcc).
bool CudaBackendBuilt();
// OK when the CUDA backend is built and a GPU is usable; otherwise FailedPrecondition saying which
// of the two is missing ("no CUDA device: ..." or "built without the CUDA backend ...").
absl::Status CudaUsable();
// kAuto becomes kCuda when CudaUsable(), else kCpu; `why` (if given) then says why not CUDA.
Device ResolveDevice(Device device, std::string* why = nullptr);

// The most key ranges a decode's attention can be split into on the GPU (cuda::kMaxDecodePartitions).
inline constexpr int kMaxGpuDecodePartitions = 16;

struct BackendOptions {
  Device device = Device::kCpu;
  int cpu_threads = 0;                 // 0: every core
  int64_t cpu_kv_cache_bytes = 0;      // 0: CpuBackend::DefaultKvCacheBytes
  double gpu_kv_cache_fraction = 0.9;  // of the device memory free after weights and scratch
  int gpu_decode_partitions = 1;       // split-K decode attention, 1..kMaxGpuDecodePartitions
  bool gpu_tensor_core_attention = true;  // prefill attention on tensor cores where the cache allows
  bool gpu_programmatic_launch = true;    // kernels overlap their launch with the previous kernel's end
                                          // (CudaEngineOptions::programmatic_launch)
  int max_context = 0;                 // positions per sequence; 0: the model's (the GPU caps it at 8192)
  // The GPU sizes its scratch for these; the CPU's scratch grows as needed.
  int max_batch_tokens = 2048;
  int max_batch_sequences = 256;
};

// A model's weights on the device `options` names (kAuto resolved as ResolveDevice does). On the
// CPU, `cpu_model` holds the weights (borrowed from `checkpoint` where their dtype allows) and
// `backend` borrows it; on a GPU the weights are copied to the device and `cpu_model` is null.
struct LoadedBackend {
  std::unique_ptr<TransformerModel> cpu_model;
  std::unique_ptr<ForwardBackend> backend;
};
absl::StatusOr<LoadedBackend> LoadBackend(const ModelConfig& config, std::shared_ptr<const Checkpoint> checkpoint,
                                          const BackendOptions& options);

}  // namespace cai::inference
