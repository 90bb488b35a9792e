#pragma once

// The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1, reference B7): the
// platform's FMSPC, PCE id and the TCB (16 component SVNs, PCESVN, CPUSVN) the certificate was
// issued for. TCB info levels are matched against these values.
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace cai {

inline constexpr char kSgxExtensionOid[] = "1.2.840.113741.1.13.1";

struct PckExtension {
  std::vector<uint8_t> ppid;  // 16 bytes
  std::array<uint8_t, 16> component_svns{};
  uint16_t pce_svn = 0;
  std::array<uint8_t, 16> cpu_svn{};
  std::array<uint8_t, 2> pce_id{};
  std::array<uint8_t, 6> fmspc{};
  int sgx_type = -1;  // 0 standard, 1 scalable, ...; -1 when absent
};

// Parses the DER value of the extension (a SEQUENCE of {OID, value} pairs). FMSPC, PCE id and the
// complete TCB (all 16 components, PCESVN, CPUSVN) are required; unknown entries are ignored; an
// OID that appears twice in the extension or in its TCB is refused.
// At most 4 KiB.
absl::StatusOr<PckExtension> ParsePckExtensionDer(std::span<const uint8_t> der);

// Finds the extension in `cert` and parses it.
absl::StatusOr<PckExtension> ParsePckExtension(X509* cert);

// Builds the DER value for a PCK certificate (used by the simulated provider and tests).
std::vector<uint8_t> EncodePckExtensionDer(const PckExtension& ext);

}  // namespace cai
