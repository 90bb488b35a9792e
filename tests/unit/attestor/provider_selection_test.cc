#include "services/attestor/provider_selection.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace cai {
namespace {

ProviderOptions Options(std::string tdx, std::string gpu, bool allow) {
  ProviderOptions o;
  o.tdx = std::move(tdx);
  o.gpu = std::move(gpu);
  o.allow_simulated = allow;
  o.tdx_probe_paths = {"/nonexistent/cai/dstack.sock", "/nonexistent/cai/tsm/report"};
  return o;
}

TEST(ProviderSelectionTest, AutoWithoutSimulationRefusesAndExplains) {
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> p = SelectTdxProvider(Options("auto", "auto", false));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  std::string message(p.status().message());
  EXPECT_NE(message.find("no TDX provider was found"), std::string::npos) << message;
  EXPECT_NE(message.find("/nonexistent/cai/dstack.sock"), std::string::npos) << message;
  EXPECT_NE(message.find("/nonexistent/cai/tsm/report"), std::string::npos) << message;
  EXPECT_NE(message.find("--allow_simulated"), std::string::npos) << message;
}

TEST(ProviderSelectionTest, DefaultProbePathsAreTheRealInterfaces) {
  ProviderOptions o;
  EXPECT_EQ(o.tdx_probe_paths,
            (std::vector<std::string>{"/var/run/dstack.sock", "/sys/kernel/config/tsm/report"}));
  EXPECT_FALSE(o.allow_simulated);
}

TEST(ProviderSelectionTest, FoundButUnsupportedInterfaceIsNamed) {
  std::string path = ::testing::TempDir() + "/cai_fake_dstack.sock";
  std::ofstream(path) << "";
  ProviderOptions o = Options("auto", "auto", false);
  o.tdx_probe_paths = {path};
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> p = SelectTdxProvider(o);
  std::remove(path.c_str());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(std::string(p.status().message()).find("found " + path), std::string::npos) << p.status();
}

TEST(ProviderSelectionTest, SimulatedNeedsAllowSimulated) {
  EXPECT_EQ(SelectTdxProvider(Options("simulated", "none", false)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SelectGpuProvider(Options("auto", "simulated", false)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ProviderSelectionTest, AllowSimulatedGivesSimulatedProviders) {
  for (const char* tdx : {"auto", "simulated"}) {
    absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> p = SelectTdxProvider(Options(tdx, "auto", true));
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_TRUE((*p)->simulated());
    EXPECT_EQ((*p)->name(), "simulated");
  }
  absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> gpu = SelectGpuProvider(Options("auto", "auto", true));
  ASSERT_TRUE(gpu.ok() && *gpu != nullptr);
  EXPECT_TRUE((*gpu)->simulated());
}

TEST(ProviderSelectionTest, GpuNoneAndAutoWithoutSimulationGiveNoGpus) {
  absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> none =
      SelectGpuProvider(Options("auto", "none", true));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> real =
      SelectGpuProvider(Options("auto", "auto", false));
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(*real, nullptr);
}

TEST(ProviderSelectionTest, UnknownValuesAreInvalid) {
  EXPECT_EQ(SelectTdxProvider(Options("dstack-typo", "none", true)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SelectGpuProvider(Options("auto", "nvml-typo", true)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cai
