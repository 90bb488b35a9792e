// Programmatic dependent launch (dependent_launch.cuh) on the device: a kernel launched with
// LaunchDependent after a slow one is scheduled before the slow one ends (the overlap the decode
// step relies on to hide launch gaps), and AwaitPreviousKernel still makes it see everything the
// slow one wrote. Plain launches never overlap.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "services/inference/engine/backends/cuda/dependent_launch.cuh"
#include "services/inference/engine/backends/cuda/kernels.h"
#include "tests/unit/cuda/cuda_test_util.h"

namespace cai::inference::cuda {
namespace {

__device__ uint64_t Nanoseconds() {
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// times[0]: when it finished. Lets its dependents be scheduled at once, then spins for `spin_ns`
// before it writes `value`.
__global__ void SlowWriter(int* value, uint64_t* times, uint64_t spin_ns) {
  AwaitPreviousKernel();
  const uint64_t start = Nanoseconds();
  while (Nanoseconds() - start < spin_ns) {
  }
  *value = 42;
  __threadfence();
  times[0] = Nanoseconds();
}

// times[1]: when it started (written before its wait, into memory the writer never touches: the
// one access here that a real kernel must not make). seen: the value after the wait.
__global__ void Reader(const int* value, int* seen, uint64_t* times) {
  times[1] = Nanoseconds();
  AwaitPreviousKernel();
  *seen = *value;
}

struct Outcome {
  int seen = 0;
  bool overlapped = false;
};

Outcome WriteThenRead(bool programmatic) {
  SetProgrammaticLaunch(programmatic);
  DeviceBuffer<int> value = ToDevice(std::vector<int>{0}), seen = ToDevice(std::vector<int>{0});
  DeviceBuffer<uint64_t> times = ToDevice(std::vector<uint64_t>{0, 0});
  cudaStream_t stream = nullptr;
  EXPECT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  EXPECT_EQ(LaunchDependent(SlowWriter, 1, 32, 0, stream, value.get(), times.get(), uint64_t{2'000'000}),
            cudaSuccess);
  EXPECT_EQ(LaunchDependent(Reader, 1, 32, 0, stream, static_cast<const int*>(value.get()), seen.get(), times.get()),
            cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  cudaStreamDestroy(stream);
  SetProgrammaticLaunch(true);
  const std::vector<uint64_t> t = ToHost(times, 2);
  return Outcome{ToHost(seen, 1)[0], t[1] < t[0]};
}

TEST(DependentLaunch, OverlapsTheLaunchAndStillWaitsForTheData) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const Outcome programmatic = WriteThenRead(true);
  EXPECT_EQ(programmatic.seen, 42) << "the dependent kernel read before the writer had finished";
  // With 2 ms of spinning on one block of an idle GPU, the dependent is scheduled long before.
  EXPECT_TRUE(programmatic.overlapped) << "the dependent kernel did not start early: no overlap";
  const Outcome plain = WriteThenRead(false);
  EXPECT_EQ(plain.seen, 42);
  EXPECT_FALSE(plain.overlapped) << "a plain launch started before the previous kernel ended";
}

}  // namespace
}  // namespace cai::inference::cuda
