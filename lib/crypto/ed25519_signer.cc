#include "lib/crypto/ed25519_signer.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <utility>

namespace cai {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

void Ed25519Signer::KeyDeleter::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }

Ed25519Signer::Ed25519Signer(Ed25519Signer&&) noexcept = default;
Ed25519Signer& Ed25519Signer::operator=(Ed25519Signer&&) noexcept = default;
Ed25519Signer::~Ed25519Signer() = default;

absl::StatusOr<Ed25519Signer> Ed25519Signer::Generate() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return absl::InternalError("ED25519 key generation failed");
  return FromKey(std::move(key));
}

absl::StatusOr<Ed25519Signer> Ed25519Signer::FromSeedForTesting(std::span<const uint8_t, 32> seed) {
  Key key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) return absl::InternalError("EVP_PKEY_new_raw_private_key(ED25519) failed");
  return FromKey(std::move(key));
}

absl::StatusOr<Ed25519Signer> Ed25519Signer::FromKey(Key key) {
  Ed25519Signer signer(std::move(key));
  size_t len = signer.public_key_.size();
  if (EVP_PKEY_get_raw_public_key(signer.key_.get(), signer.public_key_.data(), &len) != 1 ||
      len != signer.public_key_.size()) {
    return absl::InternalError("EVP_PKEY_get_raw_public_key(ED25519) failed");
  }
  return signer;
}

std::array<uint8_t, 64> Ed25519Signer::Sign(std::string_view message) const {
  std::array<uint8_t, 64> signature;
  size_t len = signature.size();
  MdCtx ctx(EVP_MD_CTX_new());
  // Ed25519 is one-shot and has no digest parameter; failure means allocation failure.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &len, Bytes(message), message.size()) != 1 ||
      len != signature.size()) {
    std::abort();
  }
  return signature;
}

bool Ed25519Verify(std::span<const uint8_t> public_key, std::string_view message,
                   std::span<const uint8_t> signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()),
      EVP_PKEY_free);
  if (!key) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), Bytes(message), message.size()) == 1;
}

}  // namespace cai
