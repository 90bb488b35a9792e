#include "services/attestor/nvml_provider.h"

#include <dlfcn.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "services/attestor/nvml_abi.h"
#include "services/attestor/quote_binding.h"

namespace cai {

struct NvmlGpuProvider::Api {
  nvml::InitV2Fn init = nullptr;
  nvml::ShutdownFn shutdown = nullptr;
  nvml::ErrorStringFn error_string = nullptr;
  nvml::DeviceGetCountV2Fn get_count = nullptr;
  nvml::DeviceGetHandleByIndexV2Fn get_handle = nullptr;
  nvml::DeviceGetArchitectureFn get_architecture = nullptr;
  nvml::SystemGetConfComputeStateFn get_cc_state = nullptr;
  nvml::DeviceGetConfComputeGpuCertificateFn get_certificate = nullptr;
  nvml::DeviceGetConfComputeGpuAttestationReportFn get_report = nullptr;
};

namespace {

template <typename Fn>
bool Resolve(void* library, const char* symbol, Fn* out, std::string* missing) {
  *out = reinterpret_cast<Fn>(dlsym(library, symbol));
  if (*out == nullptr && missing->empty()) *missing = symbol;
  return *out != nullptr;
}

std::string CallError(nvml::ErrorStringFn error_string, const char* call, nvml::Return result) {
  const char* text = error_string(result);
  return absl::StrCat(call, " failed: ", text != nullptr ? text : "unknown error", " (NVML error ", result, ")");
}

absl::StatusOr<std::string> ArchName(nvml::Architecture arch) {
  switch (arch) {
    case nvml::kArchHopper: return std::string("HOPPER");
    case nvml::kArchBlackwell: return std::string("BLACKWELL");
    default: return absl::FailedPreconditionError(absl::StrCat("architecture ", arch, " has no CC attestation"));
  }
}

}  // namespace

NvmlGpuProvider::NvmlGpuProvider(void* library, std::unique_ptr<Api> api)
    : library_(library), api_(std::move(api)) {}

NvmlGpuProvider::~NvmlGpuProvider() {
  api_->shutdown();
  dlclose(library_);
}

absl::StatusOr<std::unique_ptr<NvmlGpuProvider>> NvmlGpuProvider::Load(const std::string& library) {
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    return absl::NotFoundError(absl::StrCat("cannot load ", library, " (no NVIDIA driver?): ",
                                            error != nullptr ? error : "unknown dlopen error"));
  }
  auto api = std::make_unique<Api>();
  std::string missing;
  Resolve(handle, "nvmlInit_v2", &api->init, &missing);
  Resolve(handle, "nvmlShutdown", &api->shutdown, &missing);
  Resolve(handle, "nvmlErrorString", &api->error_string, &missing);
  Resolve(handle, "nvmlDeviceGetCount_v2", &api->get_count, &missing);
  Resolve(handle, "nvmlDeviceGetHandleByIndex_v2", &api->get_handle, &missing);
  Resolve(handle, "nvmlDeviceGetArchitecture", &api->get_architecture, &missing);
  Resolve(handle, "nvmlSystemGetConfComputeState", &api->get_cc_state, &missing);
  Resolve(handle, "nvmlDeviceGetConfComputeGpuCertificate", &api->get_certificate, &missing);
  Resolve(handle, "nvmlDeviceGetConfComputeGpuAttestationReport", &api->get_report, &missing);
  if (!missing.empty()) {
    dlclose(handle);
    return absl::FailedPreconditionError(absl::StrCat(
        library, " has no ", missing, " (confidential computing needs an NVIDIA driver R535 or newer)"));
  }
  if (nvml::Return result = api->init(); result != nvml::kSuccess) {
    std::string error = CallError(api->error_string, "nvmlInit_v2", result);
    dlclose(handle);
    return absl::FailedPreconditionError(error);
  }
  // From here the destructor shuts NVML down and closes the library.
  std::unique_ptr<NvmlGpuProvider> provider(new NvmlGpuProvider(handle, std::move(api)));
  absl::MutexLock lock(&provider->mu_);
  if (nvml::Return result = provider->api_->get_count(&provider->gpu_count_); result != nvml::kSuccess)
    return absl::FailedPreconditionError(provider->Describe("nvmlDeviceGetCount_v2", result));
  return provider;
}

std::string NvmlGpuProvider::Describe(const char* call, int result) const {
  return CallError(api_->error_string, call, result);
}

absl::Status NvmlGpuProvider::CheckConfidentialComputing() {
  absl::MutexLock lock(&mu_);
  return CheckConfidentialComputingLocked();
}

absl::Status NvmlGpuProvider::CheckConfidentialComputingLocked() {
  nvml::ConfComputeSystemState state{};
  if (nvml::Return result = api_->get_cc_state(&state); result != nvml::kSuccess)
    return absl::FailedPreconditionError(Describe("nvmlSystemGetConfComputeState", result));
  if (state.environment == 0 || state.ccFeature != 1) {
    return absl::FailedPreconditionError(absl::StrCat("GPU CC mode is off (nvmlSystemGetConfComputeState: environment=",
                                                      state.environment, ", ccFeature=", state.ccFeature, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<GpuEvidenceItem>> NvmlGpuProvider::Collect(std::span<const uint8_t, 32> nonce) {
  absl::MutexLock lock(&mu_);
  if (absl::Status cc = CheckConfidentialComputingLocked(); !cc.ok()) return cc;
  unsigned int count = 0;
  if (nvml::Return result = api_->get_count(&count); result != nvml::kSuccess)
    return absl::UnavailableError(Describe("nvmlDeviceGetCount_v2", result));
  if (count != gpu_count_) {
    // A GPU that went away must not silently drop out of the evidence.
    return absl::UnavailableError(absl::StrCat("NVML now reports ", count, " GPUs; the attestor started with ", gpu_count_));
  }
  std::vector<GpuEvidenceItem> items;
  for (unsigned int index = 0; index < gpu_count_; ++index) {
    absl::StatusOr<GpuEvidenceItem> item = CollectOne(index, nonce);
    if (!item.ok()) {
      return absl::Status(item.status().code(), absl::StrCat("GPU ", index, ": ", item.status().message()));
    }
    items.push_back(std::move(*item));
  }
  return items;
}

absl::StatusOr<GpuEvidenceItem> NvmlGpuProvider::CollectOne(unsigned int index, std::span<const uint8_t, 32> nonce) {
  nvml::Device device = nullptr;
  if (nvml::Return result = api_->get_handle(index, &device); result != nvml::kSuccess)
    return absl::UnavailableError(Describe("nvmlDeviceGetHandleByIndex_v2", result));
  nvml::Architecture arch = 0;
  if (nvml::Return result = api_->get_architecture(device, &arch); result != nvml::kSuccess)
    return absl::UnavailableError(Describe("nvmlDeviceGetArchitecture", result));
  absl::StatusOr<std::string> arch_name = ArchName(arch);
  if (!arch_name.ok()) return arch_name.status();

  auto certificate = std::make_unique<nvml::ConfComputeGpuCertificate>();  // 9 KiB: not on the stack
  if (nvml::Return result = api_->get_certificate(device, certificate.get()); result != nvml::kSuccess)
    return absl::UnavailableError(Describe("nvmlDeviceGetConfComputeGpuCertificate", result));
  if (certificate->attestationCertChainSize == 0 ||
      certificate->attestationCertChainSize > nvml::kAttestationCertChainSize) {
    return absl::UnavailableError(
        absl::StrCat("attestation certificate chain size ", certificate->attestationCertChainSize, " is out of range"));
  }

  auto report = std::make_unique<nvml::ConfComputeGpuAttestationReport>();
  std::memcpy(report->nonce, nonce.data(), nvml::kNonceSize);  // the driver reads the nonce from here
  if (nvml::Return result = api_->get_report(device, report.get()); result != nvml::kSuccess)
    return absl::UnavailableError(Describe("nvmlDeviceGetConfComputeGpuAttestationReport", result));
  const size_t report_size = report->attestationReportSize;
  if (report_size == 0 || report_size > nvml::kAttestationReportSize)
    return absl::UnavailableError(absl::StrCat("attestation report size ", report_size, " is out of range"));
  // Never return a report for another nonce (or one that is not an SPDM report at all).
  if (absl::Status bound = CheckGpuReportNonce({report->attestationReport, report_size}, nonce); !bound.ok()) {
    return absl::UnavailableError(bound.message());
  }

  GpuEvidenceItem item;
  item.arch = std::move(*arch_name);
  const char* chain = reinterpret_cast<const char*>(certificate->attestationCertChain);
  item.certificate_chain.assign(chain, certificate->attestationCertChainSize);
  while (!item.certificate_chain.empty() && item.certificate_chain.back() == '\0') item.certificate_chain.pop_back();
  item.report.assign(report->attestationReport, report->attestationReport + report_size);
  return item;
}

}  // namespace cai
