#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/common/secure_memory.h"

namespace cai {

// What both end-to-end encryption modes share once a key agreement has given a shared secret: an
// AES-256-GCM key from HKDF-SHA256 (no salt, a mode-specific info), and the layout
//   ephemeral public key || nonce (12) || ciphertext || tag (16).

inline constexpr size_t kSealedNonceBytes = 12;
inline constexpr size_t kSealedTagBytes = 16;

absl::StatusOr<SecureBuffer> DeriveSealingKey(const SecureBuffer& shared_secret, std::string_view info);

// ephemeral_public || a fresh random nonce || AES-256-GCM(key, plaintext, aad).
absl::StatusOr<std::vector<uint8_t>> SealUnderKey(const SecureBuffer& key, std::span<const uint8_t> ephemeral_public,
                                                  std::string_view plaintext, std::string_view aad);

// The plaintext of `nonce || ciphertext || tag` (the part after the ephemeral key). Every failure
// is the same InvalidArgument "decryption failed".
absl::StatusOr<std::string> OpenUnderKey(const SecureBuffer& key, std::span<const uint8_t> nonce_ciphertext_tag,
                                         std::string_view aad);

absl::Status DecryptionFailed();

}  // namespace cai
