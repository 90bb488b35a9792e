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
#include "lib/crypto/sealed_message.h"
#include "lib/crypto/secp256k1_signer.h"

namespace cai {

// ECIES over secp256k1: the "ecdsa" mode of Phala's and NEAR's end-to-end encryption, so their
// clients work unchanged. ECDH between an ephemeral key and the recipient's key; HKDF-SHA256 of
// the shared x coordinate (no salt, info "ecdsa_encryption") gives an AES-256-GCM key. A sealed
// message is
//   ephemeral public key (65 bytes: 0x04 || x || y) || nonce (12) || ciphertext || tag (16).

inline constexpr size_t kEciesPublicKeyBytes = 65;
inline constexpr size_t kEciesOverheadBytes = kEciesPublicKeyBytes + kSealedOverheadBytes;
inline constexpr std::string_view kEciesHkdfInfo = "ecdsa_encryption";

using Secp256k1PublicKey = std::array<uint8_t, kEciesPublicKeyBytes>;  // 0x04 || x || y

// A point on the curve from 64 bytes (x || y, as attestation reports publish it) or 65
// (0x04 || x || y). Compressed points are refused: the peers never send them.
absl::StatusOr<Secp256k1PublicKey> ParseSecp256k1PublicKey(std::span<const uint8_t> bytes);

// A Sealer to `recipient` under a fresh ephemeral secp256k1 key.
absl::StatusOr<Sealer> SealerForSecp256k1(std::span<const uint8_t, kEciesPublicKeyBytes> recipient);

// Opens a message sealed to `recipient`'s public key with associated data `aad` (empty for none).
// Every failure (length, point, tag) is the same InvalidArgument, so a caller relaying it cannot
// become a decryption oracle.
absl::StatusOr<std::string> EciesOpen(const EthereumSigner& recipient, std::span<const uint8_t> sealed,
                                      std::string_view aad);

}  // namespace cai
