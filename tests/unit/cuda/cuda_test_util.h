#pragma once

// Helpers of the CUDA backend tests: skip without a device, move vectors to and from it. C++17, so
// .cu tests include it too (cuda_golden_test_util.h adds the golden models for the C++20 ones).
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include "services/inference/engine/backends/cuda/cuda_status.h"
#include "services/inference/engine/backends/cuda/device_buffer.h"

namespace cai::inference::cuda {

// Every test that needs a GPU starts with this: on a machine without one it skips, naming why,
// unless CAI_REQUIRE_GPU is set (scripts/gpu-check.sh sets it): on the GPU machine a device that
// cannot be used is a failure, not a run of quiet skips.
#define CAI_SKIP_WITHOUT_CUDA_DEVICE()                                                   \
  do {                                                                                   \
    if (absl::Status device_ = ::cai::inference::cuda::CheckCudaDevice(); !device_.ok()) { \
      if (std::getenv("CAI_REQUIRE_GPU") != nullptr) FAIL() << device_.message();        \
      GTEST_SKIP() << device_.message();                                                 \
    }                                                                                    \
  } while (0)

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

}  // namespace cai::inference::cuda
