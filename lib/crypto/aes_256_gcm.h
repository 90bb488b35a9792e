#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cai {

inline constexpr size_t kAes256KeyBytes = 32;
inline constexpr size_t kAesGcmNonceBytes = 12;
inline constexpr size_t kAesGcmTagBytes = 16;

// AES-256-GCM with a 96-bit nonce and a 128-bit tag. The caller owns nonce uniqueness per key.
// Returns ciphertext || tag.
absl::StatusOr<std::vector<uint8_t>> Aes256GcmSeal(std::span<const uint8_t, kAes256KeyBytes> key,
                                                   std::span<const uint8_t, kAesGcmNonceBytes> nonce,
                                                   std::span<const uint8_t> plaintext, std::string_view aad);

// The plaintext of ciphertext || tag, or InvalidArgument when it is too short or the tag does not
// match (wrong key, nonce, associated data, or altered bytes: deliberately not told apart).
absl::StatusOr<std::vector<uint8_t>> Aes256GcmOpen(std::span<const uint8_t, kAes256KeyBytes> key,
                                                   std::span<const uint8_t, kAesGcmNonceBytes> nonce,
                                                   std::span<const uint8_t> ciphertext_and_tag, std::string_view aad);

}  // namespace cai
