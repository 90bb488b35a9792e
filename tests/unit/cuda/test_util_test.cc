// The GPU tests' error measure must not let a NaN through (std::max(x, NaN) is x).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/unit/cuda/cuda_test_util.h"

namespace cai::inference::cuda {
namespace {

TEST(CudaTestUtil, MaxAbsDiffIsNanOnceAnyDifferenceIs) {
  const float nan = std::nanf("");
  EXPECT_EQ(MaxAbsDiff({1, 2, 3}, {1, 2.5f, 3}), 0.5);
  EXPECT_TRUE(std::isnan(MaxAbsDiff({nan, 2, 3}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(MaxAbsDiff({1, 2, nan}, {1, 9, 3})));
  EXPECT_TRUE(std::isnan(MaxAbsDiff({nan, nan}, {nan, nan})));
  EXPECT_FALSE(MaxAbsDiff({nan}, {1}) <= 1e-3);  // what the tests assert
}

}  // namespace
}  // namespace cai::inference::cuda
