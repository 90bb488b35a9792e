// Fuzzes the safetensors parser (the bytes of a checkpoint file are outside input) and, when a
// file parses, widens every tensor to float32 as the model loader does; and the shard index
// (model.safetensors.index.json), whose accepted shards must stay inside the model directory.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <span>
#include <vector>

#include "services/inference/engine/checkpoint.h"
#include "services/inference/engine/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (auto index = cai::inference::ParseSafetensorsIndex(std::string_view(reinterpret_cast<const char*>(data), size));
      index.ok()) {
    if (index->weight_map.empty() || index->shards.size() > cai::inference::kMaxShards) std::abort();
    for (const std::string& shard : index->shards) {
      if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos) std::abort();
    }
  }
  absl::StatusOr<cai::inference::TensorMap> tensors = cai::inference::ParseSafetensors(std::span(data, size));
  if (!tensors.ok()) return 0;
  std::vector<float> out;
  for (const auto& [name, tensor] : *tensors) {
    if (tensor.num_elements > (1 << 20)) continue;
    out.resize(static_cast<size_t>(tensor.num_elements));
    cai::inference::ConvertToF32(tensor.dtype, tensor.data.data(), out.size(), out.data());
  }
  return 0;
}
