#pragma once

// A stand-in for TDX hardware on machines without it: quotes with the real v4 layout and real
// ECDSA signatures, made with keys and an X.509 chain generated when the object is created. The
// certificates say "cai SIMULATED" and chain to a root that exists only in this process, so no
// verifier pinned to Intel's root accepts them. Evidence from here proves nothing.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/attestation/ec_crypto.h"

namespace cai {

class SimulatedTdx {
 public:
  // Draws fresh keys: root CA, intermediate CA, PCK leaf (all P-256) and the attestation key.
  static absl::StatusOr<std::unique_ptr<SimulatedTdx>> Create();

  // A v4 TDX quote carrying `report_data` unhashed at offset 568. Thread-safe.
  absl::StatusOr<std::vector<uint8_t>> Quote(std::span<const uint8_t, 64> report_data);

  // The simulated root, so a verifier can pin it explicitly.
  const std::string& root_certificate_pem() const { return root_pem_; }
  // PCK leaf, intermediate, root: the chain embedded in every quote.
  const std::string& pck_chain_pem() const { return chain_pem_; }

 private:
  SimulatedTdx() = default;

  absl::Mutex mu_;
  EvpPkeyPtr attestation_key_ ABSL_GUARDED_BY(mu_);
  EvpPkeyPtr pck_key_ ABSL_GUARDED_BY(mu_);
  std::vector<uint8_t> attestation_point_;  // x||y
  std::string root_pem_;
  std::string chain_pem_;
};

}  // namespace cai
