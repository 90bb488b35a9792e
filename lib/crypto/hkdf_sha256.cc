#include "lib/crypto/hkdf_sha256.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>

#include "lib/crypto/openssl_error.h"
#include "lib/crypto/openssl_ptr.h"

namespace cai {
namespace {

// Fetched once: looking the algorithm up by name costs a lock and a search per call.
EVP_KDF* Hkdf() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  return kdf;
}

}  // namespace

absl::Status HkdfSha256(std::span<const uint8_t> secret, std::string_view info, std::span<uint8_t> out) {
  if (out.empty() || out.size() > 255 * 32) return absl::InvalidArgumentError("HKDF-SHA256 output must be 1..8160 bytes");
  EVP_KDF* kdf = Hkdf();
  if (kdf == nullptr) return OpenSslError("HKDF unavailable");
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf));
  if (!ctx) return OpenSslError("EVP_KDF_CTX_new");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return OpenSslError("HKDF-SHA256 failed");
  }
  return absl::OkStatus();
}

}  // namespace cai
