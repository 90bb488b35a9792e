#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/common/secure_memory.h"
#include "lib/crypto/secp256k1_signer.h"

namespace cai {

// ECIES over secp256k1: the "ecdsa" mode of Phala's and NEAR's end-to-end encryption, so their
// clients work unchanged. ECDH between an ephemeral key and the recipient's key; HKDF-SHA256 of
// the shared x coordinate (no salt, info "ecdsa_encryption") gives an AES-256-GCM key. A sealed
// message is
//   ephemeral public key (65 bytes: 0x04 || x || y) || nonce (12) || ciphertext || tag (16).

inline constexpr size_t kEciesPublicKeyBytes = 65;
inline constexpr size_t kEciesOverheadBytes = kEciesPublicKeyBytes + 12 + 16;
inline constexpr std::string_view kEciesHkdfInfo = "ecdsa_encryption";

using Secp256k1PublicKey = std::array<uint8_t, kEciesPublicKeyBytes>;  // 0x04 || x || y

// A point on the curve from 64 bytes (x || y, as attestation reports publish it) or 65
// (0x04 || x || y). Compressed points are refused: the peers never send them.
absl::StatusOr<Secp256k1PublicKey> ParseSecp256k1PublicKey(std::span<const uint8_t> bytes);

// Seals messages to one recipient under one ephemeral key, as Phala does per response: one ECDH
// for a whole stream, and every Seal draws a fresh random nonce (2^32 messages per key stay far
// inside GCM's random-nonce bound). The AES key lives in a SecureBuffer. Move-only.
class EciesSealer {
 public:
  static absl::StatusOr<EciesSealer> Create(const Secp256k1PublicKey& recipient);

  absl::StatusOr<std::vector<uint8_t>> Seal(std::string_view plaintext, std::string_view aad) const;

 private:
  EciesSealer(const Secp256k1PublicKey& ephemeral_public, SecureBuffer key)
      : ephemeral_public_(ephemeral_public), key_(std::move(key)) {}

  Secp256k1PublicKey ephemeral_public_;
  SecureBuffer key_;
};

// Opens a message sealed to `recipient`'s public key with associated data `aad` (empty for none).
// Every failure (length, point, tag) is the same InvalidArgument, so a caller relaying it cannot
// become a decryption oracle.
absl::StatusOr<std::string> EciesOpen(const EthereumSigner& recipient, std::span<const uint8_t> sealed,
                                      std::string_view aad);

}  // namespace cai
