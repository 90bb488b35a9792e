#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/inference/engine/dtype.h"

namespace cai::inference {

// Limits on outside bytes: a header larger than this is rejected before it is parsed.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;
inline constexpr size_t kMaxSafetensorsTensors = 1 << 20;
inline constexpr size_t kMaxTensorRank = 8;

struct Tensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  int64_t num_elements = 0;
  std::span<const uint8_t> data;  // inside the file's bytes; unaligned
};

using TensorMap = std::map<std::string, Tensor, std::less<>>;

// Parses a whole safetensors file held in `bytes`: the 8-byte little-endian header length, the
// JSON header, and a check that every tensor is a supported dtype whose byte range matches its
// shape and lies inside the data buffer without overlapping another. The returned spans point into
// `bytes`. `__metadata__` is ignored.
absl::StatusOr<TensorMap> ParseSafetensors(std::span<const uint8_t> bytes);

// A parsed safetensors file that owns its bytes: a read-only memory map, or an in-memory copy.
class SafetensorsFile {
 public:
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> FromBytes(std::string bytes);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const TensorMap& tensors() const { return tensors_; }
  const Tensor* Find(std::string_view name) const;

 private:
  SafetensorsFile() = default;

  void* map_ = nullptr;  // from mmap, or null
  size_t map_size_ = 0;
  std::string owned_;    // FromBytes
  TensorMap tensors_;
};

}  // namespace cai::inference
