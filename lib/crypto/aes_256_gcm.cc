#include "lib/crypto/aes_256_gcm.h"

#include <openssl/evp.h>

#include <climits>
#include <memory>

#include "lib/crypto/openssl_error.h"
#include "lib/crypto/openssl_ptr.h"

namespace cai {
namespace {

// OpenSSL takes lengths as int.
bool FitsInt(size_t n) { return n <= static_cast<size_t>(INT_MAX); }

absl::StatusOr<EvpCipherCtxPtr> Start(bool encrypt, std::span<const uint8_t, kAes256KeyBytes> key,
                                std::span<const uint8_t, kAesGcmNonceBytes> nonce, std::string_view aad) {
  if (!FitsInt(aad.size())) return absl::InvalidArgumentError("associated data too long");
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslError("EVP_CIPHER_CTX_new");
  // The default GCM IV length is 12 bytes, the nonce size used here.
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data(), encrypt ? 1 : 0) != 1) {
    return OpenSslError("AES-256-GCM init");
  }
  int ignored = 0;
  if (!aad.empty() && EVP_CipherUpdate(ctx.get(), nullptr, &ignored, reinterpret_cast<const uint8_t*>(aad.data()),
                                       static_cast<int>(aad.size())) != 1) {
    return OpenSslError("AES-256-GCM associated data");
  }
  return ctx;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> Aes256GcmSeal(std::span<const uint8_t, kAes256KeyBytes> key,
                                                   std::span<const uint8_t, kAesGcmNonceBytes> nonce,
                                                   std::span<const uint8_t> plaintext, std::string_view aad) {
  if (!FitsInt(plaintext.size())) return absl::InvalidArgumentError("plaintext too long");
  absl::StatusOr<EvpCipherCtxPtr> ctx = Start(true, key, nonce, aad);
  if (!ctx.ok()) return ctx.status();
  std::vector<uint8_t> out(plaintext.size() + kAesGcmTagBytes);
  int written = 0, final_written = 0;
  if (EVP_EncryptUpdate(ctx->get(), out.data(), &written, plaintext.data(), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx->get(), out.data() + written, &final_written) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_GET_TAG, kAesGcmTagBytes, out.data() + plaintext.size()) != 1) {
    return OpenSslError("AES-256-GCM encrypt");
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> Aes256GcmOpen(std::span<const uint8_t, kAes256KeyBytes> key,
                                                   std::span<const uint8_t, kAesGcmNonceBytes> nonce,
                                                   std::span<const uint8_t> ciphertext_and_tag, std::string_view aad) {
  const absl::Status rejected = absl::InvalidArgumentError("AES-256-GCM: authentication failed");
  if (ciphertext_and_tag.size() < kAesGcmTagBytes || !FitsInt(ciphertext_and_tag.size())) return rejected;
  const size_t length = ciphertext_and_tag.size() - kAesGcmTagBytes;
  absl::StatusOr<EvpCipherCtxPtr> ctx = Start(false, key, nonce, aad);
  if (!ctx.ok()) return ctx.status();
  std::vector<uint8_t> out(length);
  int written = 0, final_written = 0;
  if (EVP_DecryptUpdate(ctx->get(), out.data(), &written, ciphertext_and_tag.data(), static_cast<int>(length)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_SET_TAG, kAesGcmTagBytes,
                          const_cast<uint8_t*>(ciphertext_and_tag.data() + length)) != 1) {
    return OpenSslError("AES-256-GCM decrypt");
  }
  if (EVP_DecryptFinal_ex(ctx->get(), out.data() + written, &final_written) != 1) {
    OpenSslErrorText();  // clears the queue
    return rejected;
  }
  return out;
}

}  // namespace cai
