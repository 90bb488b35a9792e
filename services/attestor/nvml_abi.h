#pragma once

// The slice of NVML's C ABI the attestor uses, declared here so that no NVML header is needed at
// build time (libnvidia-ml.so.1 is loaded with dlopen at run time). Layouts and values:
// shared/reference/attestation-formats.md C1 (nvml.h as used by nvtrust). The sizes are checked
// below: a wrong layout would hand the driver a buffer of the wrong size.
#include <cstddef>

namespace cai::nvml {

using Return = int;  // nvmlReturn_t
inline constexpr Return kSuccess = 0;
using Device = struct DeviceOpaque*;  // nvmlDevice_t
using Architecture = unsigned int;    // nvmlDeviceArchitecture_t
inline constexpr Architecture kArchHopper = 9;
inline constexpr Architecture kArchBlackwell = 10;

inline constexpr size_t kNonceSize = 0x20;
inline constexpr size_t kAttestationReportSize = 0x2000;
inline constexpr size_t kCecAttestationReportSize = 0x1000;
inline constexpr size_t kCertChainSize = 0x1000;
inline constexpr size_t kAttestationCertChainSize = 0x1400;

// nvmlConfComputeSystemState_t
struct ConfComputeSystemState {
  unsigned int environment;  // 0 unavailable, 1 SIM, 2 PROD
  unsigned int ccFeature;    // 0 off, 1 on
  unsigned int devToolsMode;
};

// nvmlConfComputeGpuAttestationReport_t. The caller fills `nonce` before the call.
struct ConfComputeGpuAttestationReport {
  unsigned int isCecAttestationReportPresent;
  unsigned int attestationReportSize;
  unsigned int cecAttestationReportSize;
  unsigned char nonce[kNonceSize];
  unsigned char attestationReport[kAttestationReportSize];
  unsigned char cecAttestationReport[kCecAttestationReportSize];
};

// nvmlConfComputeGpuCertificate_t
struct ConfComputeGpuCertificate {
  unsigned int certChainSize;
  unsigned int attestationCertChainSize;
  unsigned char certChain[kCertChainSize];
  unsigned char attestationCertChain[kAttestationCertChainSize];
};

static_assert(sizeof(ConfComputeSystemState) == 12);
static_assert(sizeof(ConfComputeGpuAttestationReport) == 12332);
static_assert(offsetof(ConfComputeGpuAttestationReport, nonce) == 12);
static_assert(offsetof(ConfComputeGpuAttestationReport, attestationReport) == 44);
static_assert(offsetof(ConfComputeGpuAttestationReport, cecAttestationReport) == 8236);
static_assert(sizeof(ConfComputeGpuCertificate) == 9224);
static_assert(offsetof(ConfComputeGpuCertificate, certChain) == 8);
static_assert(offsetof(ConfComputeGpuCertificate, attestationCertChain) == 4104);

// Signatures of the exported functions, by symbol name.
using InitV2Fn = Return (*)();                                                 // nvmlInit_v2
using ShutdownFn = Return (*)();                                               // nvmlShutdown
using ErrorStringFn = const char* (*)(Return);                                 // nvmlErrorString
using DeviceGetCountV2Fn = Return (*)(unsigned int*);                          // nvmlDeviceGetCount_v2
using DeviceGetHandleByIndexV2Fn = Return (*)(unsigned int, Device*);          // nvmlDeviceGetHandleByIndex_v2
using DeviceGetArchitectureFn = Return (*)(Device, Architecture*);             // nvmlDeviceGetArchitecture
using SystemGetConfComputeStateFn = Return (*)(ConfComputeSystemState*);       // nvmlSystemGetConfComputeState
using DeviceGetConfComputeGpuCertificateFn = Return (*)(Device, ConfComputeGpuCertificate*);
using DeviceGetConfComputeGpuAttestationReportFn = Return (*)(Device, ConfComputeGpuAttestationReport*);

}  // namespace cai::nvml
