#include "services/attestor/provider_selection.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/unit/attestor/fake_nvml_control.h"

namespace cai {
namespace {

namespace fs = std::filesystem;
using fake_nvml::ConfigureFakeNvml;
using fake_nvml::FakeNvmlSetup;

// Nothing real is found, whatever machine the test runs on.
ProviderOptions Options(std::string tdx, std::string gpu, bool allow) {
  ProviderOptions o;
  o.tdx = std::move(tdx);
  o.gpu = std::move(gpu);
  o.allow_simulated = allow;
  o.dstack_sockets = {"/nonexistent/cai/dstack.sock", "/nonexistent/cai/run/dstack.sock"};
  o.tsm_root = "/nonexistent/cai/tsm/report";
  o.nvml_library = "libcai-no-such-nvml.so.1";
  return o;
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// A directory laid out like configfs-tsm with a tdx_guest provider (enough to select it).
class FakeTsmRoot {
 public:
  FakeTsmRoot() : root_(fs::path(::testing::TempDir()) / ("cai-select-tsm-" + std::to_string(getpid()))) {
    fs::create_directories(root_ / "com.intel.dcap");
    std::ofstream(root_ / "com.intel.dcap" / "provider") << "tdx_guest\n";
  }
  ~FakeTsmRoot() { fs::remove_all(root_); }
  std::string path() const { return root_.string(); }

 private:
  fs::path root_;
};

// A file where the dstack socket would be, with no agent behind it.
class DeadDstackSocket {
 public:
  DeadDstackSocket() : path_("/tmp/cai-select-dstack-" + std::to_string(getpid()) + ".sock") {
    std::ofstream(path_) << "";
  }
  ~DeadDstackSocket() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ProviderSelectionTest, AutoWithoutSimulationRefusesAndSaysWhatWasProbed) {
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> p = SelectTdxProvider(Options("auto", "auto", false));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message = Message(p.status());
  for (const char* expected : {"no TDX provider was found", "/nonexistent/cai/dstack.sock",
                               "/nonexistent/cai/run/dstack.sock", "/nonexistent/cai/tsm/report", "--allow_simulated"}) {
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

TEST(ProviderSelectionTest, DefaultsAreTheRealInterfaces) {
  ProviderOptions o;
  EXPECT_EQ(o.dstack_sockets, (std::vector<std::string>{"/var/run/dstack.sock", "/run/dstack.sock",
                                                          "/var/run/dstack/dstack.sock", "/run/dstack/dstack.sock"}));
  EXPECT_EQ(o.tsm_root, "/sys/kernel/config/tsm/report");
  EXPECT_EQ(o.nvml_library, "libnvidia-ml.so.1");
  EXPECT_EQ(o.tdx, "auto");
  EXPECT_EQ(o.gpu, "auto");
  EXPECT_FALSE(o.allow_simulated);
}

TEST(ProviderSelectionTest, AutoPicksConfigfsTsmWhenThereIsNoDstack) {
  FakeTsmRoot tsm;
  ProviderOptions o = Options("auto", "none", false);
  o.tsm_root = tsm.path();
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> p = SelectTdxProvider(o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->name(), "configfs-tsm");
  EXPECT_FALSE((*p)->simulated());
}

TEST(ProviderSelectionTest, AutoPrefersDstackAndABrokenOneIsAnError) {
  FakeTsmRoot tsm;
  DeadDstackSocket dstack;
  ProviderOptions o = Options("auto", "none", false);
  o.tsm_root = tsm.path();
  o.dstack_sockets = {"/nonexistent/cai/dstack.sock", dstack.path()};
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> p = SelectTdxProvider(o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(Message(p.status()).find("dstack agent at " + dstack.path()), std::string::npos) << p.status();

  o.allow_simulated = true;  // development: say so and simulate
  p = SelectTdxProvider(o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE((*p)->simulated());
}

TEST(ProviderSelectionTest, ExplicitRealProvidersFailClearlyWhenAbsent) {
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> dstack = SelectTdxProvider(Options("dstack", "none", true));
  ASSERT_FALSE(dstack.ok());
  EXPECT_NE(Message(dstack.status()).find("--tdx_provider=dstack: no dstack socket at /nonexistent/cai/dstack.sock"),
            std::string::npos)
      << dstack.status();
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> tsm = SelectTdxProvider(Options("configfs-tsm", "none", true));
  ASSERT_FALSE(tsm.ok());
  EXPECT_NE(Message(tsm.status()).find("/nonexistent/cai/tsm/report"), std::string::npos) << tsm.status();

  FakeTsmRoot root;
  ProviderOptions o = Options("configfs-tsm", "none", false);
  o.tsm_root = root.path();
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> ok = SelectTdxProvider(o);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->name(), "configfs-tsm");
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
  for (const char* gpu : {"auto", "simulated"}) {
    absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> p = SelectGpuProvider(Options("auto", gpu, true));
    ASSERT_TRUE(p.ok() && *p != nullptr);
    EXPECT_TRUE((*p)->simulated());
  }
}

TEST(ProviderSelectionTest, GpuNoneAndAutoWithoutNvmlGiveNoGpus) {
  absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> none = SelectGpuProvider(Options("auto", "none", true));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> absent = SelectGpuProvider(Options("auto", "auto", false));
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent, nullptr);
  absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> nvml = SelectGpuProvider(Options("auto", "nvml", false));
  ASSERT_FALSE(nvml.ok());
  EXPECT_EQ(nvml.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(Message(nvml.status()).find("cannot load libcai-no-such-nvml.so.1"), std::string::npos);
}

ProviderOptions WithFakeNvml(std::string gpu, bool allow) {
  ProviderOptions o = Options("auto", std::move(gpu), allow);
  o.nvml_library = fake_nvml::FakeNvmlPath();
  return o;
}

TEST(ProviderSelectionTest, AutoUsesNvmlWhenItReportsGpus) {
  ConfigureFakeNvml(FakeNvmlSetup().Gpus(2));
  for (const char* gpu : {"auto", "nvml"}) {
    absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> p = SelectGpuProvider(WithFakeNvml(gpu, false));
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_NE(*p, nullptr);
    EXPECT_EQ((*p)->name(), "nvml");
    EXPECT_FALSE((*p)->simulated());
  }
  ConfigureFakeNvml(FakeNvmlSetup().Gpus(0));
  absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> none = SelectGpuProvider(WithFakeNvml("auto", false));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> explicit_none = SelectGpuProvider(WithFakeNvml("nvml", false));
  ASSERT_FALSE(explicit_none.ok());
  EXPECT_NE(Message(explicit_none.status()).find("NVML reports no GPUs"), std::string::npos);
}

TEST(ProviderSelectionTest, GpusThatCannotBeAttestedStopTheStart) {
  ConfigureFakeNvml(FakeNvmlSetup().Gpus(1).CcFeature(0));
  absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> p = SelectGpuProvider(WithFakeNvml("auto", false));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(Message(p.status()).find("cannot be attested: GPU CC mode is off"), std::string::npos) << p.status();
  EXPECT_FALSE(SelectGpuProvider(WithFakeNvml("nvml", true)).ok());  // explicit nvml never simulates
  absl::StatusOr<std::unique_ptr<GpuEvidenceProvider>> dev = SelectGpuProvider(WithFakeNvml("auto", true));
  ASSERT_TRUE(dev.ok() && *dev != nullptr);
  EXPECT_TRUE((*dev)->simulated());
  ConfigureFakeNvml(FakeNvmlSetup());
}

TEST(ProviderSelectionTest, UnknownValuesAreInvalid) {
  EXPECT_EQ(SelectTdxProvider(Options("dstack-typo", "none", true)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SelectGpuProvider(Options("auto", "nvml-typo", true)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cai
