#pragma once

// A stand-in for an NVIDIA Hopper GPU in confidential-computing mode: SPDM attestation reports
// with the real layout (64 measurement blocks, opaque data, P-384 signature) and a 5-certificate
// P-384 chain generated when the object is created. Names say "cai SIMULATED"; the root exists only
// in this process. Evidence from here proves nothing.
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

inline constexpr char kSimulatedGpuDriverVersion[] = "550.90.07";
// Extension carrying the FWID in the leaf certificate (TCG DICE TcbInfo), as on real GPUs.
inline constexpr char kDiceTcbInfoOid[] = "2.23.133.5.4.1";

class SimulatedGpu {
 public:
  static absl::StatusOr<std::unique_ptr<SimulatedGpu>> Create();

  // request || response for `nonce`, signed with the leaf key. Thread-safe.
  absl::StatusOr<std::vector<uint8_t>> AttestationReport(std::span<const uint8_t, 32> nonce);

  const std::string& certificate_chain_pem() const { return chain_pem_; }  // leaf first, 5 certs
  const std::string& root_certificate_pem() const { return root_pem_; }
  const std::array<uint8_t, 48>& fwid() const { return fwid_; }

 private:
  SimulatedGpu() = default;

  absl::Mutex mu_;
  EvpPkeyPtr leaf_key_ ABSL_GUARDED_BY(mu_);
  std::array<uint8_t, 48> fwid_{};
  std::string chain_pem_;
  std::string root_pem_;
};

}  // namespace cai
