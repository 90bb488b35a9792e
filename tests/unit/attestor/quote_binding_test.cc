// The binding checks the attestor applies to what a provider returns, with named bad inputs.
#include "services/attestor/quote_binding.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "lib/attestation/simulated_gpu.h"

namespace cai {
namespace {

class GpuReportNonceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SimulatedGpu>> gpu = SimulatedGpu::Create();
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    nonce_.fill(0x5a);
    absl::StatusOr<std::vector<uint8_t>> report = (*gpu)->AttestationReport(nonce_);
    ASSERT_TRUE(report.ok()) << report.status();
    report_ = *report;
  }

  std::array<uint8_t, 32> nonce_{};
  std::vector<uint8_t> report_;
};

TEST_F(GpuReportNonceTest, AcceptsTheReportForItsNonce) { EXPECT_TRUE(CheckGpuReportNonce(report_, nonce_).ok()); }

TEST_F(GpuReportNonceTest, RejectsAnotherNonce) {
  std::array<uint8_t, 32> other = nonce_;
  other[31] ^= 1;
  const absl::Status s = CheckGpuReportNonce(report_, other);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("does not carry the requested nonce"), std::string_view::npos) << s;
}

TEST_F(GpuReportNonceTest, RejectsBytesThatAreNotAReport) {
  const std::vector<uint8_t> empty, truncated(report_.begin(), report_.begin() + 20), zeros(report_.size(), 0);
  for (const std::vector<uint8_t>& bad : {empty, truncated, zeros}) {
    const absl::Status s = CheckGpuReportNonce(bad, nonce_);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("does not parse"), std::string_view::npos) << s;
  }
}

}  // namespace
}  // namespace cai
