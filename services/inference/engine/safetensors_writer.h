#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/inference/engine/dtype.h"

namespace cai::inference {

// Builds a safetensors file: tensors laid out back to back in the order they were added, the
// header padded with spaces to a multiple of 8 bytes so the data buffer starts aligned.
class SafetensorsWriter {
 public:
  // `values` is row-major with shape.product() elements, stored as `dtype` (rounded if narrower).
  void Add(std::string name, DType dtype, std::vector<int64_t> shape, std::span<const float> values);
  // Raw little-endian bytes, unchecked: tests use it to build malformed files.
  void AddRaw(std::string name, std::string dtype, std::vector<int64_t> shape, std::string bytes);

  std::string Serialize() const;
  absl::Status WriteFile(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    std::string bytes;
  };
  std::vector<Entry> entries_;
};

}  // namespace cai::inference
