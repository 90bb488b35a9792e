#include "lib/crypto/ecies_x25519.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/crypto/openssl_error.h"
#include "lib/crypto/openssl_ptr.h"
#include "lib/crypto/sealed_message.h"

namespace cai {
namespace {

absl::StatusOr<SecureBuffer> Derive(EVP_PKEY* ours, std::span<const uint8_t, kX25519KeyBytes> peer_public) {
  EvpPkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public.data(), peer_public.size()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(ours, nullptr));
  absl::StatusOr<SecureBuffer> shared = SecureBuffer::Allocate(kX25519KeyBytes);
  if (!shared.ok()) return shared.status();
  size_t length = shared->size();
  if (!peer || !ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared->data(), &length) != 1 || length != kX25519KeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("X25519 failed: ", OpenSslErrorText()));
  }
  return shared;
}

}  // namespace

absl::StatusOr<X25519PublicKey> X25519FromEd25519Public(std::span<const uint8_t> ed25519_public) {
  if (ed25519_public.size() != kX25519KeyBytes) return absl::InvalidArgumentError("an Ed25519 public key is 32 bytes");
  std::array<uint8_t, kX25519KeyBytes> y_bytes;
  std::copy(ed25519_public.begin(), ed25519_public.end(), y_bytes.begin());
  y_bytes[31] &= 0x7f;  // the top bit is the sign of x, which the map does not use
  BnCtxPtr ctx(BN_CTX_new());
  BignumPtr p(BN_new()), numerator(BN_new()), denominator(BN_new()), inverse(BN_new()), u(BN_new());
  BignumPtr y(BN_lebin2bn(y_bytes.data(), static_cast<int>(y_bytes.size()), nullptr));
  if (!ctx || !p || !numerator || !denominator || !inverse || !u || !y || !BN_set_bit(p.get(), 255) ||
      !BN_sub_word(p.get(), 19)) {
    return OpenSslError("BIGNUM allocation failed");
  }
  if (BN_cmp(y.get(), p.get()) >= 0) return absl::InvalidArgumentError("the Ed25519 key's y is not below 2^255 - 19");
  if (BN_is_one(y.get())) return absl::InvalidArgumentError("the Ed25519 key (y = 1) has no X25519 image");
  // u = (1 + y) / (1 - y) mod p
  if (!BN_mod_add(numerator.get(), BN_value_one(), y.get(), p.get(), ctx.get()) ||
      !BN_mod_sub(denominator.get(), BN_value_one(), y.get(), p.get(), ctx.get()) ||
      !BN_mod_inverse(inverse.get(), denominator.get(), p.get(), ctx.get()) ||
      !BN_mod_mul(u.get(), numerator.get(), inverse.get(), p.get(), ctx.get())) {
    return OpenSslError("the birational map failed");
  }
  X25519PublicKey out{};
  if (BN_bn2lebinpad(u.get(), out.data(), static_cast<int>(out.size())) != static_cast<int>(out.size())) {
    return absl::InternalError("u does not fit 32 bytes");
  }
  return out;
}

absl::StatusOr<SecureBuffer> X25519SharedSecret(std::span<const uint8_t, kX25519KeyBytes> scalar,
                                                std::span<const uint8_t, kX25519KeyBytes> own_public,
                                                std::span<const uint8_t, kX25519KeyBytes> peer_public) {
  // OpenSSL 3.0 copies an imported private key to its ordinary heap (and wipes it when the key is
  // freed), so the scalar is imported only for this one agreement. With the public key beside it,
  // the import does not multiply again (EVP_PKEY_new_raw_private_key would).
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, const_cast<uint8_t*>(scalar.data()), scalar.size()),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(own_public.data()),
                                        own_public.size()),
      OSSL_PARAM_construct_end()};
  EvpPkeyCtxPtr import(EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!import || EVP_PKEY_fromdata_init(import.get()) != 1 ||
      EVP_PKEY_fromdata(import.get(), &raw, EVP_PKEY_KEYPAIR, params) != 1) {
    return OpenSslError("X25519 key import failed");
  }
  EvpPkeyPtr ours(raw);
  return Derive(ours.get(), peer_public);
}

absl::StatusOr<Sealer> SealerForX25519(std::span<const uint8_t, kX25519KeyBytes> recipient) {
  EvpPkeyPtr ephemeral(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!ephemeral) return OpenSslError("X25519 key generation failed");
  std::vector<uint8_t> ephemeral_public(kX25519KeyBytes);
  size_t length = ephemeral_public.size();
  if (EVP_PKEY_get_raw_public_key(ephemeral.get(), ephemeral_public.data(), &length) != 1 ||
      length != ephemeral_public.size()) {
    return OpenSslError("EVP_PKEY_get_raw_public_key(X25519) failed");
  }
  absl::StatusOr<SecureBuffer> shared = Derive(ephemeral.get(), recipient);
  if (!shared.ok()) return shared.status();
  return Sealer::FromSharedSecret(std::move(ephemeral_public), *shared, kX25519HkdfInfo);
}

absl::StatusOr<std::string> X25519Open(const Ed25519Signer& recipient, std::span<const uint8_t> sealed,
                                       std::string_view aad) {
  if (sealed.size() < kX25519SealedOverheadBytes) return DecryptionFailed();
  return OpenWithSharedSecret(recipient.SharedX25519(sealed.first<kX25519KeyBytes>()), kX25519HkdfInfo,
                              sealed.subspan(kX25519KeyBytes), aad);
}

}  // namespace cai
