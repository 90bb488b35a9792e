#pragma once

// NVIDIA GPU evidence through NVML's confidential-computing API, loaded with dlopen at run time so
// the attestor builds and runs on machines without the driver.
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/attestor/providers.h"

namespace cai {

inline constexpr char kNvmlLibrary[] = "libnvidia-ml.so.1";

class NvmlGpuProvider final : public GpuEvidenceProvider {
 public:
  // Loads `library`, resolves the symbols, runs nvmlInit_v2 and counts GPUs. NotFound when the
  // library cannot be loaded; FailedPrecondition when it lacks a symbol or NVML fails.
  // gpu_count() may be 0; confidential computing is not checked yet.
  static absl::StatusOr<std::unique_ptr<NvmlGpuProvider>> Load(const std::string& library = kNvmlLibrary);
  ~NvmlGpuProvider() override;  // nvmlShutdown, dlclose

  NvmlGpuProvider(const NvmlGpuProvider&) = delete;
  NvmlGpuProvider& operator=(const NvmlGpuProvider&) = delete;

  std::string name() const override { return "nvml"; }
  bool simulated() const override { return false; }
  unsigned int gpu_count() const { return gpu_count_; }
  // FailedPrecondition "GPU CC mode is off ..." unless NVML says confidential computing is on.
  absl::Status CheckConfidentialComputing();

  // Every GPU found at start, in index order; any failure fails the whole call and names the GPU.
  absl::StatusOr<std::vector<GpuEvidenceItem>> Collect(std::span<const uint8_t, 32> nonce) override;

 private:
  struct Api;
  NvmlGpuProvider(void* library, std::unique_ptr<Api> api);
  absl::Status CheckConfidentialComputingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<GpuEvidenceItem> CollectOne(unsigned int index, std::span<const uint8_t, 32> nonce)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string Describe(const char* call, int result) const;

  absl::Mutex mu_;  // one NVML conversation at a time
  void* library_;
  std::unique_ptr<Api> api_;
  unsigned int gpu_count_ = 0;
};

}  // namespace cai
