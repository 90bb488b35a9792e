#pragma once

// cuda_test_util.h plus the golden models and the logit comparison the CPU engine's tests use
// (C++20: not for .cu files).
#include "tests/golden/golden_model.h"
#include "tests/unit/cuda/cuda_test_util.h"

namespace cai::inference::cuda {

using golden::kModels;
using golden::MaxAbsDiff;
using golden::MaxDiffSoFar;
using golden::ReadConfig;
using golden::ReadGolden;

}  // namespace cai::inference::cuda
