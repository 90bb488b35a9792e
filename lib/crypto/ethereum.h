#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "lib/crypto/keccak256.h"

namespace cai {

using EthereumAddress = std::array<uint8_t, 20>;

// EIP-191 personal_sign digest: keccak256("\x19Ethereum Signed Message:\n" + decimal len + text),
// where len is the byte length of `text` (eth_account's encode_defunct(text=...)).
Keccak256Digest PersonalSignHash(std::string_view text);

// Last 20 bytes of keccak256(x || y) of an uncompressed public key without its 0x04 prefix.
EthereumAddress AddressFromPublicKey(std::span<const uint8_t, 64> public_key);

// "0x" + 40 hex digits in EIP-55 mixed case.
std::string ChecksumAddress(const EthereumAddress& address);

// Parses "0x" + 40 hex digits. All-lowercase and all-uppercase forms carry no checksum and are
// accepted; a mixed-case form must be a valid EIP-55 checksum (InvalidArgument otherwise).
absl::StatusOr<EthereumAddress> ParseAddress(std::string_view text);

// Recovers the address that produced a personal_sign signature over `text`. `signature` is 65
// bytes r || s || v with v = 27 or 28 (InvalidArgument otherwise, also for r or s out of range).
// Like eth_account, it accepts high-s signatures; our signers only produce low-s ones.
// A signature made over another text or by another key recovers to another address, so callers
// must compare the result with the address they expect.
absl::StatusOr<EthereumAddress> RecoverPersonalSignAddress(std::string_view text,
                                                           std::span<const uint8_t> signature);

}  // namespace cai
