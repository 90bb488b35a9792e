#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/common/secure_memory.h"
#include "lib/crypto/aes_256_gcm.h"

namespace cai {

// What both end-to-end encryption modes (ecies_secp256k1.h, ecies_x25519.h) share once a key
// agreement has given a shared secret: an AES-256-GCM key from HKDF-SHA256 of it (no salt, a
// mode-specific info), and the layout
//   ephemeral public key || nonce (12) || ciphertext || tag (16).

// What a sealed message adds after the ephemeral public key.
inline constexpr size_t kSealedOverheadBytes = kAesGcmNonceBytes + kAesGcmTagBytes;

// Seals messages to one recipient under one ephemeral key, as Phala does per response: one key
// agreement for a whole stream, and every Seal draws a fresh random nonce (2^32 messages per key
// stay far inside GCM's random-nonce bound). The AES key lives in a SecureBuffer. Move-only.
class Sealer {
 public:
  // `shared_secret` is the agreement between the recipient's key and a fresh ephemeral key whose
  // public half is `ephemeral_public`.
  static absl::StatusOr<Sealer> FromSharedSecret(std::vector<uint8_t> ephemeral_public,
                                                 const SecureBuffer& shared_secret, std::string_view info);

  // ephemeral public key || a fresh random nonce || AES-256-GCM(key, plaintext, aad).
  absl::StatusOr<std::vector<uint8_t>> Seal(std::string_view plaintext, std::string_view aad) const;

 private:
  Sealer(std::vector<uint8_t> ephemeral_public, SecureBuffer key)
      : ephemeral_public_(std::move(ephemeral_public)), key_(std::move(key)) {}

  std::vector<uint8_t> ephemeral_public_;
  SecureBuffer key_;
};

// Opens `nonce || ciphertext || tag` (what follows the ephemeral key) with the key of
// `shared_secret`. Every failure, a failed agreement included, is the same InvalidArgument
// "decryption failed", so a caller relaying it cannot become a decryption oracle.
absl::StatusOr<std::string> OpenWithSharedSecret(const absl::StatusOr<SecureBuffer>& shared_secret,
                                                 std::string_view info,
                                                 std::span<const uint8_t> nonce_ciphertext_tag, std::string_view aad);

absl::Status DecryptionFailed();

}  // namespace cai
