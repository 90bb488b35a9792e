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
#include "lib/crypto/ed25519_signer.h"
#include "lib/crypto/sealed_message.h"

namespace cai {

// ECIES over X25519: the "ed25519" mode of Phala's end-to-end encryption (NEAR's ed25519 modes use
// other ciphers and are not this). Ed25519 keys are used through their X25519 twins: the public
// key by the birational map u = (1 + y) / (1 - y) mod 2^255 - 19 (RFC 7748 section 4.1), the
// private key as the clamped first half of SHA-512(seed), the scalar Ed25519 itself uses. X25519
// with an ephemeral key; HKDF-SHA256 of the shared secret (no salt, info "ed25519_encryption")
// gives an AES-256-GCM key. A sealed message is
//   ephemeral X25519 public key (32) || nonce (12) || ciphertext || tag (16).

inline constexpr size_t kX25519KeyBytes = 32;
inline constexpr size_t kX25519SealedOverheadBytes = kX25519KeyBytes + kSealedOverheadBytes;
inline constexpr std::string_view kX25519HkdfInfo = "ed25519_encryption";

using X25519PublicKey = std::array<uint8_t, kX25519KeyBytes>;

// The X25519 public key of an Ed25519 public key (32 bytes). InvalidArgument for a wrong length, a
// y coordinate not below 2^255 - 19 (stricter than Phala, which reduces it), or y = 1 (which has no
// image). Other small-order points map to u values X25519 then refuses (X25519SharedSecret).
absl::StatusOr<X25519PublicKey> X25519FromEd25519Public(std::span<const uint8_t> ed25519_public);

// A Sealer to `recipient` (an X25519 key) under a fresh ephemeral X25519 key. InvalidArgument
// when the recipient has small order (the agreement would be all zeros).
absl::StatusOr<Sealer> SealerForX25519(std::span<const uint8_t, kX25519KeyBytes> recipient);

// Opens a message sealed to `recipient`'s Ed25519 key. Every failure (length, a low-order
// ephemeral key, tag) is the same InvalidArgument.
absl::StatusOr<std::string> X25519Open(const Ed25519Signer& recipient, std::span<const uint8_t> sealed,
                                       std::string_view aad);

// X25519(scalar, peer) through OpenSSL, which refuses an all-zero result (a low-order peer).
// `own_public` is X25519(scalar, 9), given so that OpenSSL need not compute it again at import
// (that doubled the cost of every agreement); it takes no part in the agreement itself.
absl::StatusOr<SecureBuffer> X25519SharedSecret(std::span<const uint8_t, kX25519KeyBytes> scalar,
                                                std::span<const uint8_t, kX25519KeyBytes> own_public,
                                                std::span<const uint8_t, kX25519KeyBytes> peer_public);

}  // namespace cai
