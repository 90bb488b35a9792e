#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/inference/engine/safetensors.h"

namespace cai::inference {

inline constexpr size_t kMaxShards = 4096;  // Llama 3.1 405B ships 191

// `model.safetensors.index.json`: which shard file holds each tensor.
struct SafetensorsIndex {
  std::vector<std::string> shards;                              // first-mention order, no repeats
  std::vector<std::pair<std::string, std::string>> weight_map;  // tensor -> shard
};
// InvalidArgument unless the text is {"weight_map": {tensor: shard, ...}} with at least one tensor,
// every shard a plain file name (the index must not reach outside the model directory), and at
// most kMaxShards shards.
absl::StatusOr<SafetensorsIndex> ParseSafetensorsIndex(std::string_view json_text);

// The weights of a Hugging Face model directory: `model.safetensors`, or the shards named by the
// `weight_map` of `model.safetensors.index.json`. Files stay memory-mapped while this lives.
class Checkpoint {
 public:
  static absl::StatusOr<std::unique_ptr<Checkpoint>> Open(const std::string& dir);
  // One already-parsed file (e.g. built in memory by a benchmark or a test).
  static std::unique_ptr<Checkpoint> FromFile(std::unique_ptr<SafetensorsFile> file);

  // NotFound naming the tensor when absent.
  absl::StatusOr<const Tensor*> Get(std::string_view name) const;
  // As Get, and InvalidArgument naming the tensor and both shapes unless it has `shape`.
  absl::StatusOr<const Tensor*> Get(std::string_view name, const std::vector<int64_t>& shape) const;
  size_t num_tensors() const { return tensors_.size(); }
  uint64_t total_bytes() const;  // of all tensor data

  // Reads every tensor's pages once, so a memory-mapped multi-GB model is in memory before the
  // first request instead of faulting in during it. `progress(done, total)` is called after each
  // tensor.
  void ReadIntoMemory(const std::function<void(uint64_t done, uint64_t total)>& progress) const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  absl::flat_hash_map<std::string, const Tensor*> tensors_;
};

}  // namespace cai::inference
