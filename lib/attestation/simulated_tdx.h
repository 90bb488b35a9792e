#pragma once

// A stand-in for TDX hardware on machines without it: quotes with the real v4 layout and real
// ECDSA signatures, made with keys and an X.509 chain generated when the object is created. The
// certificates say "cai SIMULATED" and chain to a root that exists only in this process, so no
// verifier pinned to Intel's root accepts them. Evidence from here proves nothing.
//
// It also writes matching collateral (QuoteCollateralV3 JSON: TCB info, QE identity, CRLs, all
// signed under the simulated root), so every collateral path of the verifier, revocation
// included, runs on evidence the tests make themselves.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/attestation/collateral.h"
#include "lib/attestation/ec_crypto.h"

namespace cai {

// The platform the simulated PCK certificate describes (its SGX extension) and the quote reports.
inline constexpr std::array<uint8_t, 6> kSimulatedFmspc = {0xc0, 0xff, 0xee, 0x00, 0x00, 0x00};
inline constexpr uint16_t kSimulatedPceSvn = 11;

struct SimulatedQuoteOptions {
  bool debug = false;  // set the DEBUG TD attribute (for negative tests)
};

struct SimulatedCollateralOptions {
  int64_t issue_date = 0;   // unix seconds; 0 = now minus one minute
  int64_t next_update = 0;  // 0 = issue_date + 30 days
  TcbStatus platform_status = TcbStatus::kUpToDate;  // status of the level the quote matches
  std::vector<std::string> advisory_ids;              // advisories of that level
  bool revoke_pck_certificate = false;                // list the PCK leaf in the PCK CRL
};

class SimulatedTdx {
 public:
  // Draws fresh keys: root CA, intermediate CA, PCK leaf, TCB signing (all P-256), attestation key.
  static absl::StatusOr<std::unique_ptr<SimulatedTdx>> Create();

  // A v4 TDX quote carrying `report_data` unhashed at offset 568. Thread-safe.
  absl::StatusOr<std::vector<uint8_t>> Quote(std::span<const uint8_t, 64> report_data,
                                              const SimulatedQuoteOptions& options = {});

  // QuoteCollateralV3 JSON for this platform. Thread-safe.
  absl::StatusOr<std::string> Collateral(const SimulatedCollateralOptions& options = {});

  // The simulated root, so a verifier can pin it explicitly.
  const std::string& root_certificate_pem() const { return root_pem_; }
  // PCK leaf, intermediate, root: the chain embedded in every quote.
  const std::string& pck_chain_pem() const { return chain_pem_; }

 private:
  SimulatedTdx() = default;

  absl::Mutex mu_;
  EvpPkeyPtr attestation_key_ ABSL_GUARDED_BY(mu_);
  EvpPkeyPtr pck_key_ ABSL_GUARDED_BY(mu_);
  EvpPkeyPtr root_key_ ABSL_GUARDED_BY(mu_);
  EvpPkeyPtr ca_key_ ABSL_GUARDED_BY(mu_);
  EvpPkeyPtr tcb_signing_key_ ABSL_GUARDED_BY(mu_);
  X509Ptr root_;
  X509Ptr ca_;
  X509Ptr pck_;
  std::vector<uint8_t> attestation_point_;  // x||y
  std::string root_pem_;
  std::string ca_pem_;
  std::string chain_pem_;
  std::string tcb_signing_chain_pem_;  // TCB signing certificate, root
};

}  // namespace cai
