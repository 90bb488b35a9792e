#pragma once

// NVIDIA GPU attestation reports: an SPDM 1.1 GET_MEASUREMENTS request followed by the signed
// MEASUREMENTS response, as NVML returns them. Layout: shared/reference/attestation-formats.md
// C2; the signature is ECDSA P-384/SHA-384 (raw r||s) over everything before it.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cai {

inline constexpr size_t kSpdmReportMaxSize = 0x2000;  // NVML_CC_GPU_ATTESTATION_REPORT_SIZE
inline constexpr size_t kSpdmRequestSize = 37;
inline constexpr size_t kSpdmNonceSize = 32;
inline constexpr size_t kSpdmSignatureSize = 96;
inline constexpr uint8_t kSpdmVersion11 = 0x11;
inline constexpr uint8_t kSpdmGetMeasurements = 0xE0;
inline constexpr uint8_t kSpdmMeasurements = 0x60;

// Opaque-data field types used by verifiers (the full list is in C2).
inline constexpr uint16_t kSpdmOpaqueDriverVersion = 3;
inline constexpr uint16_t kSpdmOpaqueVbiosVersion = 6;
inline constexpr uint16_t kSpdmOpaqueFwid = 20;

struct SpdmMeasurementBlock {
  uint8_t index = 0;
  uint8_t spec = 0;            // 1 = DMTF
  uint8_t value_type = 0;      // DMTF only
  std::vector<uint8_t> value;  // DMTF: the digest; otherwise the whole measurement
};

struct SpdmOpaqueField {
  uint16_t type = 0;
  std::vector<uint8_t> value;
};

struct SpdmReport {
  // Request (bytes 0..36).
  uint8_t request_param1 = 0;
  uint8_t request_param2 = 0;
  std::array<uint8_t, kSpdmNonceSize> request_nonce{};  // the caller's nonce: the one to check
  uint8_t slot_id = 0;
  // Response.
  uint8_t response_param1 = 0;
  uint8_t response_param2 = 0;
  std::vector<SpdmMeasurementBlock> blocks;
  std::array<uint8_t, kSpdmNonceSize> responder_nonce{};
  std::vector<uint8_t> opaque_data;
  std::vector<SpdmOpaqueField> opaque_fields;  // opaque_data split into {u16 type, u16 size} TLVs
  std::array<uint8_t, kSpdmSignatureSize> signature{};
  std::vector<uint8_t> signed_bytes;  // request || response without the signature

  // The value of the first opaque field of `type`, if any.
  std::optional<std::span<const uint8_t>> FindOpaque(uint16_t type) const;
  // Opaque type 3 without its NUL terminator, "" when absent.
  std::string DriverVersion() const;
  // Opaque type 6 rendered as NVIDIA does ("96.00.9f.00.01"), "" when absent.
  std::string VbiosVersion() const;
};

// Parses request || response. Every length is checked; the signature must end the report exactly.
absl::StatusOr<SpdmReport> ParseSpdmReport(std::span<const uint8_t> bytes);

// ECDSA P-384/SHA-384 over signed_bytes with the public key of the first certificate (the leaf)
// of `certificate_chain_pem`. Does not check the chain itself.
absl::Status VerifySpdmSignature(const SpdmReport& report, std::string_view certificate_chain_pem);

// request_nonce == expected, InvalidArgument otherwise.
absl::Status CheckSpdmNonce(const SpdmReport& report, std::span<const uint8_t> expected_nonce);

}  // namespace cai
