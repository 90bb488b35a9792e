#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "services/inference/engine/dtype.h"

namespace cai::inference {

// A row-major [rows, cols] weight matrix stored as F32 or BF16 (the engine's two storage types;
// arithmetic is always F32). It either owns its elements or borrows them from a memory-mapped
// checkpoint, which must then outlive it. Copies share the storage.
class WeightMatrix {
 public:
  WeightMatrix() = default;
  // `data` must be aligned to its element size and hold rows * cols elements of `dtype`
  // (kF32 or kBF16).
  static WeightMatrix Borrow(DType dtype, const void* data, int64_t rows, int64_t cols);
  static WeightMatrix OwnF32(std::vector<float> values, int64_t rows, int64_t cols);
  static WeightMatrix OwnBf16(std::vector<uint16_t> values, int64_t rows, int64_t cols);

  DType dtype() const { return dtype_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t bytes() const { return rows_ * cols_ * static_cast<int64_t>(DTypeSize(dtype_)); }
  bool empty() const { return data_ == nullptr; }

  const float* f32_row(int64_t r) const { return static_cast<const float*>(data_) + r * cols_; }
  const uint16_t* bf16_row(int64_t r) const { return static_cast<const uint16_t*>(data_) + r * cols_; }
  // Widens row r into `out` (cols floats).
  void RowToF32(int64_t r, float* out) const;

 private:
  DType dtype_ = DType::kF32;
  int64_t rows_ = 0, cols_ = 0;
  const void* data_ = nullptr;
  std::shared_ptr<const void> owner_;  // null when borrowed
};

}  // namespace cai::inference
