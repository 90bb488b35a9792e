#pragma once

// Helpers of the CUDA backend tests: skip without a device, move vectors to and from it.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "services/inference/engine/backends/cuda/cuda_status.h"
#include "services/inference/engine/backends/cuda/device_buffer.h"

namespace cai::inference::cuda {

// Every test that needs a GPU starts with this: on a machine without one it skips, naming why.
// Skips without a usable GPU, unless CAI_REQUIRE_GPU is set (scripts/gpu-check.sh sets it): on the
// GPU machine a device that cannot be used is a failure, not 22 quiet skips.
#define CAI_SKIP_WITHOUT_CUDA_DEVICE()                                                   \
  do {                                                                                   \
    if (absl::Status device_ = ::cai::inference::cuda::CheckCudaDevice(); !device_.ok()) { \
      if (std::getenv("CAI_REQUIRE_GPU") != nullptr) FAIL() << device_.message();        \
      GTEST_SKIP() << device_.message();                                                 \
    }                                                                                    \
  } while (0)

#ifdef CAI_GOLDEN_DIR
// The golden models of tests/golden (config, weights, tokenizer, golden.json with HF's outputs).
inline const std::filesystem::path kModels = std::filesystem::path(CAI_GOLDEN_DIR) / "models";
#endif

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

template <typename T>
DeviceBuffer<T> ToDevice(const std::vector<T>& values) {
  absl::StatusOr<DeviceBuffer<T>> buffer = DeviceBuffer<T>::Allocate(std::max<size_t>(values.size(), 1));
  EXPECT_TRUE(buffer.ok()) << buffer.status();
  if (!buffer.ok()) return {};
  if (!values.empty()) {
    EXPECT_EQ(cudaMemcpy(buffer->get(), values.data(), values.size() * sizeof(T), cudaMemcpyHostToDevice),
              cudaSuccess);
  }
  return *std::move(buffer);
}

template <typename T>
std::vector<T> ToHost(const DeviceBuffer<T>& buffer, size_t count) {
  std::vector<T> values(count);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(values.data(), buffer.get(), count * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return values;
}

inline std::vector<float> RandomFloats(size_t n, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// The largest |a - b|, and NaN once any difference is NaN, so `EXPECT_LE(MaxAbsDiff(...), tol)` fails
// on a NaN (std::max would skip it).
inline double MaxDiffSoFar(double max, double a, double b) {
  const double d = std::abs(a - b);
  return d <= max || std::isnan(max) ? max : d;
}

inline double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double max = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) max = MaxDiffSoFar(max, a[i], b[i]);
  return max;
}

}  // namespace cai::inference::cuda
