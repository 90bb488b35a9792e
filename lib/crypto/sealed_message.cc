#include "lib/crypto/sealed_message.h"

#include <array>

#include "lib/common/random.h"
#include "lib/common/status_macros.h"
#include "lib/crypto/hkdf_sha256.h"

namespace cai {
namespace {

absl::StatusOr<SecureBuffer> DeriveKey(const SecureBuffer& shared_secret, std::string_view info) {
  absl::StatusOr<SecureBuffer> key = SecureBuffer::Allocate(kAes256KeyBytes);
  if (!key.ok()) return key.status();
  CAI_RETURN_IF_ERROR(HkdfSha256(shared_secret.span(), info, key->span()));
  return key;
}

std::span<const uint8_t, kAes256KeyBytes> KeySpan(const SecureBuffer& key) {
  return std::span<const uint8_t, kAes256KeyBytes>(key.data(), kAes256KeyBytes);
}

}  // namespace

absl::Status DecryptionFailed() { return absl::InvalidArgumentError("decryption failed"); }

absl::StatusOr<Sealer> Sealer::FromSharedSecret(std::vector<uint8_t> ephemeral_public,
                                                const SecureBuffer& shared_secret, std::string_view info) {
  absl::StatusOr<SecureBuffer> key = DeriveKey(shared_secret, info);
  if (!key.ok()) return key.status();
  return Sealer(std::move(ephemeral_public), *std::move(key));
}

absl::StatusOr<std::vector<uint8_t>> Sealer::Seal(std::string_view plaintext, std::string_view aad) const {
  std::array<uint8_t, kAesGcmNonceBytes> nonce;
  CAI_RETURN_IF_ERROR(FillRandom(nonce));
  absl::StatusOr<std::vector<uint8_t>> ciphertext = Aes256GcmSeal(
      KeySpan(key_), nonce, std::span(reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size()), aad);
  if (!ciphertext.ok()) return ciphertext.status();
  std::vector<uint8_t> sealed;
  sealed.reserve(ephemeral_public_.size() + nonce.size() + ciphertext->size());
  sealed.insert(sealed.end(), ephemeral_public_.begin(), ephemeral_public_.end());
  sealed.insert(sealed.end(), nonce.begin(), nonce.end());
  sealed.insert(sealed.end(), ciphertext->begin(), ciphertext->end());
  return sealed;
}

absl::StatusOr<std::string> OpenWithSharedSecret(const absl::StatusOr<SecureBuffer>& shared_secret,
                                                 std::string_view info, std::span<const uint8_t> rest,
                                                 std::string_view aad) {
  if (!shared_secret.ok() || rest.size() < kSealedOverheadBytes) return DecryptionFailed();
  absl::StatusOr<SecureBuffer> key = DeriveKey(*shared_secret, info);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::vector<uint8_t>> plaintext =
      Aes256GcmOpen(KeySpan(*key), rest.first<kAesGcmNonceBytes>(), rest.subspan(kAesGcmNonceBytes), aad);
  if (!plaintext.ok()) return DecryptionFailed();
  return std::string(plaintext->begin(), plaintext->end());
}

}  // namespace cai
