#include "services/inference/engine/backend_factory.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/inference/engine/backends/cpu/cpu_backend.h"

#if CAI_HAVE_CUDA
#include "services/inference/engine/backends/cuda/cuda_backend.h"
#include "services/inference/engine/backends/cuda/cuda_status.h"
#include "services/inference/engine/backends/cuda/cuda_transformer.h"
#endif

namespace cai::inference {

absl::StatusOr<Device> ParseDevice(std::string_view name) {
  if (name == "auto") return Device::kAuto;
  if (name == "cpu") return Device::kCpu;
  if (name == "cuda") return Device::kCuda;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown device '", std::string(name.substr(0, 64)), "' (auto, cpu or cuda)"));
}

std::string_view DeviceName(Device device) {
  switch (device) {
    case Device::kAuto: return "auto";
    case Device::kCpu: return "cpu";
    case Device::kCuda: return "cuda";
  }
  return "?";
}

#if CAI_HAVE_CUDA
static_assert(kMaxGpuDecodePartitions == cuda::kMaxDecodePartitions);
#endif

bool CudaBackendBuilt() { return CAI_HAVE_CUDA != 0; }

absl::Status CudaUsable() {
#if CAI_HAVE_CUDA
  return cuda::CheckCudaDevice();
#else
  return absl::FailedPreconditionError(
      "this cai-inference was built without the CUDA backend (CMake found no nvcc); rebuild on a machine with the "
      "CUDA toolkit");
#endif
}

Device ResolveDevice(Device device, std::string* why) {
  if (device != Device::kAuto) return device;
  absl::Status cuda = CudaUsable();
  if (cuda.ok()) return Device::kCuda;
  if (why != nullptr) *why = std::string(cuda.message());
  return Device::kCpu;
}

absl::StatusOr<LoadedBackend> LoadBackend(const ModelConfig& config, std::shared_ptr<const Checkpoint> checkpoint,
                                          const BackendOptions& options) {
  if (options.max_context < 0 || options.max_batch_tokens < 1 || options.max_batch_sequences < 1 ||
      options.cpu_kv_cache_bytes < 0) {
    return absl::InvalidArgumentError("backend options out of range");
  }
  LoadedBackend loaded;
  const Device device = ResolveDevice(options.device);
  if (device == Device::kCuda) {
#if CAI_HAVE_CUDA
    // Load says first what it cannot run about the model, then whether there is a device.
    cuda::CudaEngineOptions cuda_options;
    cuda_options.kv_cache_fraction = options.gpu_kv_cache_fraction;
    cuda_options.decode_partitions = options.gpu_decode_partitions;
    cuda_options.tensor_core_attention = options.gpu_tensor_core_attention;
    cuda_options.programmatic_launch = options.gpu_programmatic_launch;
    cuda_options.max_batch_tokens = options.max_batch_tokens;
    cuda_options.max_seqs = options.max_batch_sequences;
    if (options.max_context > 0) cuda_options.max_context = options.max_context;
    absl::StatusOr<std::unique_ptr<cuda::CudaTransformer>> model =
        cuda::CudaTransformer::Load(config, *checkpoint, cuda_options);
    if (!model.ok()) return model.status();
    loaded.backend = std::make_unique<cuda::CudaBackend>(*std::move(model));
    return loaded;
#else
    return CudaUsable();
#endif
  }

  absl::StatusOr<std::unique_ptr<TransformerModel>> model =
      TransformerModel::Load(config, std::move(checkpoint), options.cpu_threads);
  if (!model.ok()) return model.status();
  loaded.cpu_model = *std::move(model);
  int64_t kv_bytes = options.cpu_kv_cache_bytes;
  if (kv_bytes == 0) {
    const int64_t context = options.max_context > 0 ? std::min(options.max_context, config.max_position_embeddings)
                                                    : config.max_position_embeddings;
    kv_bytes = CpuBackend::DefaultKvCacheBytes(*loaded.cpu_model, context,
                                               int64_t{sysconf(_SC_PHYS_PAGES)} * sysconf(_SC_PAGESIZE));
  }
  loaded.backend = std::make_unique<CpuBackend>(*loaded.cpu_model, kv_bytes, options.max_context);
  return loaded;
}

}  // namespace cai::inference
