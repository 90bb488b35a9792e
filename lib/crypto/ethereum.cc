#include "lib/crypto/ethereum.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "lib/common/hex.h"

namespace cai {

Keccak256Digest PersonalSignHash(std::string_view text) {
  std::string message = "\x19" "Ethereum Signed Message:\n" + std::to_string(text.size());
  message.append(text);
  return Keccak256(message);
}

EthereumAddress AddressFromPublicKey(std::span<const uint8_t, 64> public_key) {
  Keccak256Digest digest = Keccak256(std::span<const uint8_t>(public_key));
  EthereumAddress address;
  std::copy(digest.end() - address.size(), digest.end(), address.begin());
  return address;
}

std::string ChecksumAddress(const EthereumAddress& address) {
  std::string hex = HexEncode(address);
  // EIP-55: uppercase the i-th letter when the i-th nibble of keccak256(lowercase hex) is >= 8.
  Keccak256Digest digest = Keccak256(hex);
  for (size_t i = 0; i < hex.size(); ++i) {
    uint8_t nibble = (i % 2 == 0) ? digest[i / 2] >> 4 : digest[i / 2] & 0x0f;
    if (nibble >= 8) hex[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
  }
  return "0x" + hex;
}

absl::StatusOr<EthereumAddress> ParseAddress(std::string_view text) {
  if (text.size() != 42 || text[0] != '0' || text[1] != 'x') {
    return absl::InvalidArgumentError("an address is 0x followed by 40 hex digits");
  }
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecodeExact(text.substr(2), 20);
  if (!bytes.ok()) return bytes.status();
  EthereumAddress address;
  std::copy(bytes->begin(), bytes->end(), address.begin());

  std::string_view digits = text.substr(2);
  bool has_lower = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'a' && c <= 'f'; });
  bool has_upper = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'A' && c <= 'F'; });
  if (has_lower && has_upper && ChecksumAddress(address) != text) {
    return absl::InvalidArgumentError("address has an invalid EIP-55 checksum");
  }
  return address;
}

absl::StatusOr<EthereumAddress> RecoverPersonalSignAddress(std::string_view text,
                                                           std::span<const uint8_t> signature) {
  if (signature.size() != 65) {
    return absl::InvalidArgumentError(absl::StrCat("ecdsa signature must be 65 bytes, got ", signature.size()));
  }
  const uint8_t v = signature[64];
  if (v != 27 && v != 28) return absl::InvalidArgumentError("ecdsa signature v must be 27 or 28");

  // Recovery only verifies, so the static context (no secrets, no randomisation) suffices.
  const secp256k1_context* ctx = secp256k1_context_static;
  secp256k1_ecdsa_recoverable_signature sig;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, signature.data(), v - 27)) {
    return absl::InvalidArgumentError("ecdsa signature r or s out of range");
  }
  Keccak256Digest digest = PersonalSignHash(text);
  secp256k1_pubkey pubkey;
  if (!secp256k1_ecdsa_recover(ctx, &pubkey, &sig, digest.data())) {
    return absl::InvalidArgumentError("ecdsa signature does not recover to a public key");
  }
  uint8_t serialized[65];
  size_t len = sizeof(serialized);
  secp256k1_ec_pubkey_serialize(ctx, serialized, &len, &pubkey, SECP256K1_EC_UNCOMPRESSED);
  return AddressFromPublicKey(std::span<const uint8_t, 64>(serialized + 1, 64));
}

}  // namespace cai
