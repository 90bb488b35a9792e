#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"

namespace cai {

// HKDF-SHA256 (RFC 5869) without a salt (so with 32 zero bytes, as the RFC defines): fills `out`
// (at most 255 * 32 bytes) from `secret` and `info`.
absl::Status HkdfSha256(std::span<const uint8_t> secret, std::string_view info, std::span<uint8_t> out);

}  // namespace cai
