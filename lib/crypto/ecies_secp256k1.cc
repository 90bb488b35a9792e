#include "lib/crypto/ecies_secp256k1.h"

#include <secp256k1.h>

#include <algorithm>
#include <utility>

#include "lib/common/random.h"
#include "lib/common/status_macros.h"
#include "lib/crypto/aes_256_gcm.h"
#include "lib/crypto/hkdf_sha256.h"

namespace cai {
namespace {

absl::Status DecryptionFailed() { return absl::InvalidArgumentError("decryption failed"); }

absl::StatusOr<SecureBuffer> AesKeyFromSharedX(const SecureBuffer& shared_x) {
  absl::StatusOr<SecureBuffer> key = SecureBuffer::Allocate(kAes256KeyBytes);
  if (!key.ok()) return key.status();
  CAI_RETURN_IF_ERROR(HkdfSha256(shared_x.span(), kEciesHkdfInfo, key->span()));
  return key;
}

std::span<const uint8_t, kAes256KeyBytes> KeySpan(const SecureBuffer& key) {
  return std::span<const uint8_t, kAes256KeyBytes>(key.data(), kAes256KeyBytes);
}

}  // namespace

absl::StatusOr<Secp256k1PublicKey> ParseSecp256k1PublicKey(std::span<const uint8_t> bytes) {
  Secp256k1PublicKey key;
  if (bytes.size() == 64) {
    key[0] = 0x04;
    std::copy(bytes.begin(), bytes.end(), key.begin() + 1);
  } else if (bytes.size() == 65 && bytes[0] == 0x04) {
    std::copy(bytes.begin(), bytes.end(), key.begin());
  } else {
    return absl::InvalidArgumentError("a secp256k1 public key must be 64 bytes (x || y) or 65 (0x04 || x || y)");
  }
  secp256k1_pubkey point;
  if (!secp256k1_ec_pubkey_parse(secp256k1_context_static, &point, key.data(), key.size())) {
    return absl::InvalidArgumentError("the public key is not a point on secp256k1");
  }
  return key;
}

absl::StatusOr<EciesSealer> EciesSealer::Create(const Secp256k1PublicKey& recipient) {
  // An ephemeral key pair: the private half lives (and dies) in the signer's SecureBuffer.
  absl::StatusOr<EthereumSigner> ephemeral = EthereumSigner::Generate();
  if (!ephemeral.ok()) return ephemeral.status();
  absl::StatusOr<SecureBuffer> shared = ephemeral->SharedX(recipient);
  if (!shared.ok()) return shared.status();
  absl::StatusOr<SecureBuffer> key = AesKeyFromSharedX(*shared);
  if (!key.ok()) return key.status();
  Secp256k1PublicKey ephemeral_public;
  ephemeral_public[0] = 0x04;
  std::copy(ephemeral->public_key().begin(), ephemeral->public_key().end(), ephemeral_public.begin() + 1);
  return EciesSealer(ephemeral_public, *std::move(key));
}

absl::StatusOr<std::vector<uint8_t>> EciesSealer::Seal(std::string_view plaintext, std::string_view aad) const {
  std::array<uint8_t, kAesGcmNonceBytes> nonce;
  CAI_RETURN_IF_ERROR(FillRandom(nonce));
  absl::StatusOr<std::vector<uint8_t>> ciphertext =
      Aes256GcmSeal(KeySpan(key_), nonce,
                    std::span(reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size()), aad);
  if (!ciphertext.ok()) return ciphertext.status();
  std::vector<uint8_t> sealed;
  sealed.reserve(kEciesPublicKeyBytes + nonce.size() + ciphertext->size());
  sealed.insert(sealed.end(), ephemeral_public_.begin(), ephemeral_public_.end());
  sealed.insert(sealed.end(), nonce.begin(), nonce.end());
  sealed.insert(sealed.end(), ciphertext->begin(), ciphertext->end());
  return sealed;
}

absl::StatusOr<std::string> EciesOpen(const EthereumSigner& recipient, std::span<const uint8_t> sealed,
                                      std::string_view aad) {
  if (sealed.size() < kEciesOverheadBytes) return DecryptionFailed();
  const auto ephemeral = sealed.first<kEciesPublicKeyBytes>();
  const auto nonce = sealed.subspan<kEciesPublicKeyBytes, kAesGcmNonceBytes>();
  const auto ciphertext = sealed.subspan(kEciesPublicKeyBytes + kAesGcmNonceBytes);
  absl::StatusOr<SecureBuffer> shared = recipient.SharedX(ephemeral);
  if (!shared.ok()) return DecryptionFailed();
  absl::StatusOr<SecureBuffer> key = AesKeyFromSharedX(*shared);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::vector<uint8_t>> plaintext = Aes256GcmOpen(KeySpan(*key), nonce, ciphertext, aad);
  if (!plaintext.ok()) return DecryptionFailed();
  return std::string(plaintext->begin(), plaintext->end());
}

}  // namespace cai
