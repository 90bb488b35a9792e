#include "lib/crypto/ed25519_signer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "lib/common/status_macros.h"
#include "lib/crypto/ecies_x25519.h"
#include "lib/crypto/openssl_error.h"
#include "lib/crypto/openssl_ptr.h"

namespace cai {
namespace {

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

void Ed25519Signer::KeyDeleter::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }

Ed25519Signer::Ed25519Signer(Ed25519Signer&&) noexcept = default;
Ed25519Signer& Ed25519Signer::operator=(Ed25519Signer&&) noexcept = default;
Ed25519Signer::~Ed25519Signer() = default;

absl::StatusOr<Ed25519Signer> Ed25519Signer::Generate() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return OpenSslError("ED25519 key generation");
  return FromKey(std::move(key));
}

absl::StatusOr<Ed25519Signer> Ed25519Signer::FromSeedForTesting(std::span<const uint8_t, 32> seed) {
  Key key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) return OpenSslError("EVP_PKEY_new_raw_private_key(ED25519)");
  return FromKey(std::move(key));
}

absl::StatusOr<Ed25519Signer> Ed25519Signer::FromKey(Key key) {
  // RFC 8032 section 5.1.5: the scalar is the clamped first half of SHA-512(seed).
  absl::StatusOr<SecureBuffer> seed = SecureBuffer::Allocate(32);
  absl::StatusOr<SecureBuffer> hash = SecureBuffer::Allocate(64);
  absl::StatusOr<SecureBuffer> scalar = SecureBuffer::Allocate(32);
  if (!seed.ok()) return seed.status();
  if (!hash.ok()) return hash.status();
  if (!scalar.ok()) return scalar.status();
  size_t seed_length = seed->size();
  unsigned int hash_length = 0;
  if (EVP_PKEY_get_raw_private_key(key.get(), seed->data(), &seed_length) != 1 || seed_length != 32 ||
      EVP_Digest(seed->data(), seed->size(), hash->data(), &hash_length, EVP_sha512(), nullptr) != 1 ||
      hash_length != 64) {
    return OpenSslError("cannot derive the X25519 scalar of the Ed25519 key");
  }
  std::copy(hash->data(), hash->data() + 32, scalar->data());
  scalar->data()[0] &= 248;
  scalar->data()[31] &= 127;
  scalar->data()[31] |= 64;

  Ed25519Signer signer(std::move(key), *std::move(scalar));
  size_t len = signer.public_key_.size();
  if (EVP_PKEY_get_raw_public_key(signer.key_.get(), signer.public_key_.data(), &len) != 1 ||
      len != signer.public_key_.size()) {
    return OpenSslError("EVP_PKEY_get_raw_public_key(ED25519) failed");
  }
  CAI_ASSIGN_OR_RETURN(signer.x25519_public_, X25519FromEd25519Public(signer.public_key_));
  return signer;
}

std::array<uint8_t, 64> Ed25519Signer::Sign(std::string_view message) const {
  std::array<uint8_t, 64> signature;
  size_t len = signature.size();
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  // Ed25519 is one-shot and has no digest parameter; failure means allocation failure.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &len, Bytes(message), message.size()) != 1 ||
      len != signature.size()) {
    std::abort();
  }
  return signature;
}

absl::StatusOr<SecureBuffer> Ed25519Signer::SharedX25519(std::span<const uint8_t, 32> peer) const {
  return X25519SharedSecret(std::span<const uint8_t, 32>(x25519_scalar_.data(), 32), x25519_public_, peer);
}

bool Ed25519Verify(std::span<const uint8_t> public_key, std::string_view message,
                   std::span<const uint8_t> signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (!key) return false;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), Bytes(message), message.size()) == 1;
}

}  // namespace cai
