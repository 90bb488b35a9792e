// TEST DOUBLE OF THE NVIDIA DRIVER'S libnvidia-ml, built only for tests. It is not a product
// simulation (that is simulated_providers): it exists to exercise NvmlGpuProvider's dlopen, symbol
// resolution, struct marshalling and error paths without a GPU. Reports and chains come from
// lib/attestation's SimulatedGpu, so tests can verify what came through end to end.
//
// It deliberately reads and writes the NVML structs by raw byte offset (attestation-formats.md C1),
// not through services/attestor/nvml_abi.h, so a wrong struct declaration there shows up as a
// failing test rather than as two copies of the same mistake agreeing with each other.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "lib/attestation/simulated_gpu.h"

#define FAKE_NVML_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

constexpr int kSuccess = 0;
constexpr int kErrorInvalidArgument = 2;
constexpr int kErrorUnknown = 999;

struct State {
  std::mutex mu;
  unsigned int gpu_count = 1;
  unsigned int environment = 2;  // PROD
  unsigned int cc_feature = 1;
  unsigned int arch = 9;  // HOPPER
  int failing_gpu = -1;
  bool wrong_nonce = false;
  int init_calls = 0;
  int shutdown_calls = 0;
  std::vector<std::unique_ptr<cai::SimulatedGpu>> gpus;
};

State& state() {
  static State* s = new State;
  return *s;
}

// Handles are 1-based indices, like opaque pointers that are never null.
int Index(void* device) { return static_cast<int>(reinterpret_cast<uintptr_t>(device)) - 1; }

cai::SimulatedGpu* Gpu(void* device) {
  State& s = state();
  int index = Index(device);
  if (index < 0 || index >= static_cast<int>(s.gpu_count)) return nullptr;
  while (static_cast<int>(s.gpus.size()) <= index) s.gpus.push_back(std::move(*cai::SimulatedGpu::Create()));
  return s.gpus[static_cast<size_t>(index)].get();
}

void PutU32(unsigned char* at, uint32_t value) { std::memcpy(at, &value, 4); }

}  // namespace

// Test controls.
FAKE_NVML_EXPORT void CaiFakeNvmlConfigure(unsigned int gpu_count, unsigned int environment, unsigned int cc_feature,
                                           unsigned int arch, int failing_gpu, bool wrong_nonce) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.gpu_count = gpu_count;
  s.environment = environment;
  s.cc_feature = cc_feature;
  s.arch = arch;
  s.failing_gpu = failing_gpu;
  s.wrong_nonce = wrong_nonce;
}
FAKE_NVML_EXPORT int CaiFakeNvmlInitCalls() { return state().init_calls; }
FAKE_NVML_EXPORT int CaiFakeNvmlShutdownCalls() { return state().shutdown_calls; }

// The NVML ABI.
FAKE_NVML_EXPORT int nvmlInit_v2() {
  std::lock_guard<std::mutex> lock(state().mu);
  ++state().init_calls;
  return kSuccess;
}
FAKE_NVML_EXPORT int nvmlShutdown() {
  std::lock_guard<std::mutex> lock(state().mu);
  ++state().shutdown_calls;
  return kSuccess;
}
FAKE_NVML_EXPORT const char* nvmlErrorString(int result) {
  switch (result) {
    case kSuccess: return "Success";
    case kErrorInvalidArgument: return "Invalid Argument";
    case kErrorUnknown: return "Unknown Error";
    default: return "fake NVML error";
  }
}
FAKE_NVML_EXPORT int nvmlDeviceGetCount_v2(unsigned int* count) {
  std::lock_guard<std::mutex> lock(state().mu);
  *count = state().gpu_count;
  return kSuccess;
}
FAKE_NVML_EXPORT int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  std::lock_guard<std::mutex> lock(state().mu);
  if (index >= state().gpu_count) return kErrorInvalidArgument;
  *device = reinterpret_cast<void*>(static_cast<uintptr_t>(index) + 1);
  return kSuccess;
}
FAKE_NVML_EXPORT int nvmlDeviceGetArchitecture(void* device, unsigned int* arch) {
  std::lock_guard<std::mutex> lock(state().mu);
  if (Gpu(device) == nullptr) return kErrorInvalidArgument;
  *arch = state().arch;
  return kSuccess;
}
FAKE_NVML_EXPORT int nvmlSystemGetConfComputeState(unsigned char* state_struct) {
  std::lock_guard<std::mutex> lock(state().mu);
  PutU32(state_struct + 0, state().environment);
  PutU32(state_struct + 4, state().cc_feature);
  PutU32(state_struct + 8, 0);
  return kSuccess;
}
// nvmlConfComputeGpuCertificate_t: certChainSize @0, attestationCertChainSize @4, certChain[4096] @8,
// attestationCertChain[5120] @4104.
FAKE_NVML_EXPORT int nvmlDeviceGetConfComputeGpuCertificate(void* device, unsigned char* certificate) {
  std::lock_guard<std::mutex> lock(state().mu);
  cai::SimulatedGpu* gpu = Gpu(device);
  if (gpu == nullptr) return kErrorInvalidArgument;
  const std::string& chain = gpu->certificate_chain_pem();
  if (chain.size() > 0x1400) return kErrorUnknown;
  PutU32(certificate + 0, 0);
  PutU32(certificate + 4, static_cast<uint32_t>(chain.size()));
  std::memcpy(certificate + 4104, chain.data(), chain.size());
  return kSuccess;
}
// nvmlConfComputeGpuAttestationReport_t: isCecAttestationReportPresent @0, attestationReportSize @4,
// cecAttestationReportSize @8, nonce[32] @12 (written by the caller), attestationReport[8192] @44.
FAKE_NVML_EXPORT int nvmlDeviceGetConfComputeGpuAttestationReport(void* device, unsigned char* report) {
  std::lock_guard<std::mutex> lock(state().mu);
  cai::SimulatedGpu* gpu = Gpu(device);
  if (gpu == nullptr) return kErrorInvalidArgument;
  if (Index(device) == state().failing_gpu) return kErrorUnknown;
  std::array<uint8_t, 32> nonce;
  std::memcpy(nonce.data(), report + 12, nonce.size());
  if (state().wrong_nonce) nonce[0] ^= 0xff;
  absl::StatusOr<std::vector<uint8_t>> bytes = gpu->AttestationReport(nonce);
  if (!bytes.ok() || bytes->size() > 0x2000) return kErrorUnknown;
  PutU32(report + 0, 0);
  PutU32(report + 4, static_cast<uint32_t>(bytes->size()));
  PutU32(report + 8, 0);
  std::memcpy(report + 44, bytes->data(), bytes->size());
  return kSuccess;
}
