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

struct TdxEvidence {
  std::vector<uint8_t> quote;  // raw DCAP quote, report_data at the body's REPORTDATA
  std::string event_log;       // JSON text (dstack format); "" when the provider has none
  std::string vm_config;       // JSON text; "" when unknown
};

class TdxQuoteProvider {
 public:
  virtual ~TdxQuoteProvider() = default;
  virtual std::string name() const = 0;  // "dstack" | "configfs-tsm" | "simulated"
  virtual bool simulated() const = 0;
  // Root certificate a verifier must pin to accept this provider's quotes; "" for real hardware
  // (Intel's root is known to verifiers).
  virtual std::string simulated_root_pem() const { return ""; }
  // Facts fixed at start (dstack app id, compose hash, ...) as a JSON object text.
  virtual std::string info_json() const { return "{}"; }
  // A TDX quote with `report_data` in the TD report, never one for other data. Thread-safe.
  virtual absl::StatusOr<TdxEvidence> Quote(std::span<const uint8_t, 64> report_data) = 0;
};

struct GpuEvidenceItem {
  std::string arch;               // "HOPPER" | "BLACKWELL"
  std::string certificate_chain;  // PEM, leaf first
  std::vector<uint8_t> report;    // SPDM GET_MEASUREMENTS request || response
};

class GpuEvidenceProvider {
 public:
  virtual ~GpuEvidenceProvider() = default;
  virtual std::string name() const = 0;  // "nvml" | "simulated"
  virtual bool simulated() const = 0;
  virtual std::string simulated_root_pem() const { return ""; }
  // One item per GPU, each for `nonce`; fails as a whole if any GPU fails. Thread-safe.
  virtual absl::StatusOr<std::vector<GpuEvidenceItem>> Collect(std::span<const uint8_t, 32> nonce) = 0;
};

}  // namespace cai
