#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace cai {

using Keccak256Digest = std::array<uint8_t, 32>;

// Keccak-256 as Ethereum uses it: the original Keccak padding (0x01 ... 0x80), which differs from
// FIPS 202 SHA3-256 (0x06 ... 0x80). OpenSSL 3.0 offers only the latter, hence this implementation.
Keccak256Digest Keccak256(std::span<const uint8_t> data);
Keccak256Digest Keccak256(std::string_view data);

}  // namespace cai
