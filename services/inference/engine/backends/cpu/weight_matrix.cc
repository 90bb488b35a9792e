#include "services/inference/engine/backends/cpu/weight_matrix.h"

#include <algorithm>

namespace cai::inference {

WeightMatrix WeightMatrix::Borrow(DType dtype, const void* data, int64_t rows, int64_t cols) {
  WeightMatrix m;
  m.dtype_ = dtype;
  m.data_ = data;
  m.rows_ = rows;
  m.cols_ = cols;
  return m;
}

WeightMatrix WeightMatrix::OwnF32(std::vector<float> values, int64_t rows, int64_t cols) {
  auto owned = std::make_shared<std::vector<float>>(std::move(values));
  WeightMatrix m = Borrow(DType::kF32, owned->data(), rows, cols);
  m.owner_ = std::move(owned);
  return m;
}

WeightMatrix WeightMatrix::OwnBf16(std::vector<uint16_t> values, int64_t rows, int64_t cols) {
  auto owned = std::make_shared<std::vector<uint16_t>>(std::move(values));
  WeightMatrix m = Borrow(DType::kBF16, owned->data(), rows, cols);
  m.owner_ = std::move(owned);
  return m;
}

void WeightMatrix::RowToF32(int64_t r, float* out) const {
  if (dtype_ == DType::kF32) {
    std::copy_n(f32_row(r), cols_, out);
  } else {
    const uint16_t* row = bf16_row(r);
    for (int64_t i = 0; i < cols_; ++i) out[i] = Bf16ToF32(row[i]);
  }
}

}  // namespace cai::inference
