#pragma once

// One simulated TDX module (keys and certificate chain made once) for the attestor tests that
// need quotes; no test changes it.
#include <gtest/gtest.h>

#include <memory>

#include "absl/status/statusor.h"
#include "lib/attestation/simulated_tdx.h"

namespace cai {

inline SimulatedTdx& SharedSimulatedTdx() {
  static SimulatedTdx* tdx = [] {
    absl::StatusOr<std::unique_ptr<SimulatedTdx>> created = SimulatedTdx::Create();
    EXPECT_TRUE(created.ok());
    return created->release();
  }();
  return *tdx;
}

}  // namespace cai
