#pragma once

// Where evidence comes from. Real providers (dstack, configfs-tsm, NVML) and the simulated ones
// implement these; the service does not care which it has, only whether it is simulated.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cai {

class TdxQuoteProvider {
 public:
  virtual ~TdxQuoteProvider() = default;
  virtual std::string name() const = 0;  // "dstack" | "configfs-tsm" | "simulated"
  virtual bool simulated() const = 0;
  // Root certificate a verifier must pin to accept this provider's quotes; "" for real hardware
  // (Intel's root is known to verifiers).
  virtual std::string simulated_root_pem() const { return ""; }
  // A TDX quote with `report_data` in the TD report. Must be thread-safe.
  virtual absl::StatusOr<std::vector<uint8_t>> Quote(std::span<const uint8_t, 64> report_data) = 0;
};

struct GpuEvidenceItem {
  std::string arch;               // "HOPPER"
  std::string certificate_chain;  // PEM, leaf first
  std::vector<uint8_t> report;    // SPDM GET_MEASUREMENTS request || response
};

class GpuEvidenceProvider {
 public:
  virtual ~GpuEvidenceProvider() = default;
  virtual std::string name() const = 0;  // "nvml" | "simulated"
  virtual bool simulated() const = 0;
  virtual std::string simulated_root_pem() const { return ""; }
  // One item per GPU, each for `nonce`. Must be thread-safe.
  virtual absl::StatusOr<std::vector<GpuEvidenceItem>> Collect(std::span<const uint8_t, 32> nonce) = 0;
};

}  // namespace cai
