#pragma once

// The binding between a TDX quote and the service's signing key (DESIGN.md, "Attestation"):
//   report_data[0:32]  = key id (20-byte Ethereum address or 32-byte ed25519 key), zero-padded
//   report_data[32:64] = the verifier's 32-byte nonce
// All 64 bytes are compared, in constant time. There is no "skip when empty": both inputs are
// required (the Cocos advisories in code-style-anchors.md Part 3 are what that prevents).
#include <array>
#include <cstdint>
#include <span>

#include "absl/status/status.h"

namespace cai {

// report_data built from its parts; InvalidArgument when key_id is empty or longer than 32 bytes.
absl::Status ExpectedReportData(std::span<const uint8_t> key_id, std::span<const uint8_t, 32> nonce,
                                std::array<uint8_t, 64>* out);

// OK when report_data equals ExpectedReportData(key_id, nonce); the error says which half differs.
absl::Status CheckReportDataBinding(std::span<const uint8_t, 64> report_data, std::span<const uint8_t> key_id,
                                    std::span<const uint8_t, 32> nonce);

}  // namespace cai
