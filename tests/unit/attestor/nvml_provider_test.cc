#include "services/attestor/nvml_provider.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "lib/attestation/nvidia_spdm.h"
#include "tests/unit/attestor/fake_nvml_control.h"

namespace cai {
namespace {

using fake_nvml::ConfigureFakeNvml;
using fake_nvml::FakeNvmlPath;
using fake_nvml::FakeNvmlSetup;

std::array<uint8_t, 32> Nonce(uint8_t seed) {
  std::array<uint8_t, 32> nonce;
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(seed + 3 * i);
  return nonce;
}

std::unique_ptr<NvmlGpuProvider> LoadFake(const FakeNvmlSetup& setup) {
  ConfigureFakeNvml(setup);
  absl::StatusOr<std::unique_ptr<NvmlGpuProvider>> provider = NvmlGpuProvider::Load(FakeNvmlPath());
  EXPECT_TRUE(provider.ok()) << provider.status();
  return provider.ok() ? std::move(*provider) : nullptr;
}

void ExpectError(const absl::Status& status, const std::string& fragment) {
  ASSERT_FALSE(status.ok()) << "expected an error containing: " << fragment;
  EXPECT_NE(std::string(status.message()).find(fragment), std::string::npos) << status;
}

size_t CountCertificates(const std::string& pem) {
  size_t count = 0;
  for (size_t at = pem.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
       at = pem.find("-----BEGIN CERTIFICATE-----", at + 1)) {
    ++count;
  }
  return count;
}

TEST(NvmlProviderTest, AbsentLibraryIsNotFoundAndSaysWhich) {
  absl::StatusOr<std::unique_ptr<NvmlGpuProvider>> provider = NvmlGpuProvider::Load("libcai-no-such-nvml.so.1");
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(provider.status().message(),
                               "cannot load libcai-no-such-nvml.so.1 (no NVIDIA driver?): "))
      << provider.status();
  EXPECT_STREQ(kNvmlLibrary, "libnvidia-ml.so.1");
}

TEST(NvmlProviderTest, LibraryWithoutTheSymbolsIsRefused) {
  absl::StatusOr<std::unique_ptr<NvmlGpuProvider>> provider = NvmlGpuProvider::Load("libm.so.6");
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kFailedPrecondition);
  ExpectError(provider.status(), "libm.so.6 has no nvmlInit_v2");
}

TEST(NvmlProviderTest, EveryGpuGivesAVerifiableReportForTheNonce) {
  std::unique_ptr<NvmlGpuProvider> provider = LoadFake(FakeNvmlSetup().Gpus(2));
  ASSERT_NE(provider, nullptr);
  EXPECT_EQ(provider->gpu_count(), 2u);
  EXPECT_EQ(provider->name(), "nvml");
  EXPECT_FALSE(provider->simulated());
  EXPECT_TRUE(provider->CheckConfidentialComputing().ok());

  for (uint8_t seed : {1, 2}) {
    const std::array<uint8_t, 32> nonce = Nonce(seed);
    absl::StatusOr<std::vector<GpuEvidenceItem>> items = provider->Collect(nonce);
    ASSERT_TRUE(items.ok()) << items.status();
    ASSERT_EQ(items->size(), 2u);
    for (const GpuEvidenceItem& item : *items) {
      EXPECT_EQ(item.arch, "HOPPER");
      EXPECT_EQ(CountCertificates(item.certificate_chain), 5u);
      EXPECT_NE(item.certificate_chain.back(), '\0');
      absl::StatusOr<SpdmReport> report = ParseSpdmReport(item.report);
      ASSERT_TRUE(report.ok()) << report.status();
      EXPECT_TRUE(CheckSpdmNonce(*report, nonce).ok());
      EXPECT_TRUE(VerifySpdmSignature(*report, item.certificate_chain).ok());
    }
    EXPECT_NE((*items)[0].certificate_chain, (*items)[1].certificate_chain);  // one chain per GPU
  }
}

TEST(NvmlProviderTest, BlackwellIsNamedAndOlderArchitecturesAreRefused) {
  std::unique_ptr<NvmlGpuProvider> blackwell = LoadFake(FakeNvmlSetup().Arch(10));
  absl::StatusOr<std::vector<GpuEvidenceItem>> items = blackwell->Collect(Nonce(1));
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ((*items)[0].arch, "BLACKWELL");

  std::unique_ptr<NvmlGpuProvider> ampere = LoadFake(FakeNvmlSetup().Arch(7));
  ExpectError(ampere->Collect(Nonce(1)).status(), "GPU 0: architecture 7 has no CC attestation");
}

TEST(NvmlProviderTest, CcModeOffIsAClearError) {
  std::unique_ptr<NvmlGpuProvider> provider = LoadFake(FakeNvmlSetup().CcFeature(0));
  ExpectError(provider->CheckConfidentialComputing(), "GPU CC mode is off");
  ExpectError(provider->Collect(Nonce(1)).status(), "GPU CC mode is off");
  std::unique_ptr<NvmlGpuProvider> unavailable = LoadFake(FakeNvmlSetup().Environment(0));
  ExpectError(unavailable->CheckConfidentialComputing(), "GPU CC mode is off (nvmlSystemGetConfComputeState: environment=0");
}

TEST(NvmlProviderTest, AFailingGpuFailsTheWholeCallAndIsNamed) {
  std::unique_ptr<NvmlGpuProvider> provider = LoadFake(FakeNvmlSetup().Gpus(3).FailingGpu(1));
  absl::StatusOr<std::vector<GpuEvidenceItem>> items = provider->Collect(Nonce(1));
  ExpectError(items.status(),
              "GPU 1: nvmlDeviceGetConfComputeGpuAttestationReport failed: Unknown Error (NVML error 999)");
}

TEST(NvmlProviderTest, AReportForAnotherNonceIsRefused) {
  std::unique_ptr<NvmlGpuProvider> provider = LoadFake(FakeNvmlSetup().WrongNonce());
  ExpectError(provider->Collect(Nonce(1)).status(), "GPU 0: the attestation report does not carry the requested nonce");
}

TEST(NvmlProviderTest, AVanishedGpuIsAnErrorNotAShorterList) {
  std::unique_ptr<NvmlGpuProvider> provider = LoadFake(FakeNvmlSetup().Gpus(2));
  ConfigureFakeNvml(FakeNvmlSetup().Gpus(1));
  ExpectError(provider->Collect(Nonce(1)).status(), "NVML now reports 1 GPUs; the attestor started with 2");
}

TEST(NvmlProviderTest, ShutdownMatchesInit) {
  const int inits = fake_nvml::FakeNvmlCalls("CaiFakeNvmlInitCalls");
  const int shutdowns = fake_nvml::FakeNvmlCalls("CaiFakeNvmlShutdownCalls");
  { LoadFake(FakeNvmlSetup()); }
  EXPECT_EQ(fake_nvml::FakeNvmlCalls("CaiFakeNvmlInitCalls"), inits + 1);
  EXPECT_EQ(fake_nvml::FakeNvmlCalls("CaiFakeNvmlShutdownCalls"), shutdowns + 1);
}

}  // namespace
}  // namespace cai
