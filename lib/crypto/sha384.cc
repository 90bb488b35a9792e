#include "lib/crypto/sha384.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace cai {

Sha384Digest Sha384(std::span<const uint8_t> data) {
  Sha384Digest out{};
  unsigned int len = 0;
  // A missing SHA-384 in OpenSSL leaves nothing sensible to do.
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha384(), nullptr) != 1) std::abort();
  return out;
}

Sha384Digest Sha384(std::string_view data) {
  return Sha384(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

}  // namespace cai
