#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "lib/common/secure_memory.h"

struct evp_pkey_st;

namespace cai {

// An RFC 8032 Ed25519 key held by OpenSSL; the only other copy of its secret is the X25519 scalar
// derived from it (for end-to-end encryption), in a SecureBuffer.
// Generate() lets OpenSSL make the key (its DRBG is seeded from the kernel CSPRNG) because its key
// generation allocates the private key with OPENSSL_secure_zalloc, whereas importing raw bytes
// (EVP_PKEY_new_raw_private_key) copies them to the ordinary heap in OpenSSL 3.0. The secure heap
// is mlock'd and excluded from core dumps only if the process called CRYPTO_secure_malloc_init
// first: cai-signer does, in main, before generating keys (see the KeyLivesInOpenSslSecureHeap test).
// Move-only; Sign is const and safe from several threads at once.
class Ed25519Signer {
 public:
  static absl::StatusOr<Ed25519Signer> Generate();
  // A fixed seed, for known-answer tests only: production keys must come from Generate().
  // The key is imported, so OpenSSL keeps it on the ordinary heap.
  static absl::StatusOr<Ed25519Signer> FromSeedForTesting(std::span<const uint8_t, 32> seed);

  Ed25519Signer(Ed25519Signer&&) noexcept;
  Ed25519Signer& operator=(Ed25519Signer&&) noexcept;
  ~Ed25519Signer();

  std::array<uint8_t, 64> Sign(std::string_view message) const;

  // X25519 between this key's twin (the clamped first half of SHA-512(seed), the scalar Ed25519
  // signs with) and `peer` (an X25519 public key), for end-to-end encryption
  // (lib/crypto/ecies_x25519.h). The scalar is derived once and kept in a SecureBuffer.
  absl::StatusOr<SecureBuffer> SharedX25519(std::span<const uint8_t, 32> peer) const;
  const std::array<uint8_t, 32>& public_key() const { return public_key_; }

 private:
  struct KeyDeleter {
    void operator()(evp_pkey_st* key) const;
  };
  using Key = std::unique_ptr<evp_pkey_st, KeyDeleter>;

  static absl::StatusOr<Ed25519Signer> FromKey(Key key);
  Ed25519Signer(Key key, SecureBuffer x25519_scalar) : key_(std::move(key)), x25519_scalar_(std::move(x25519_scalar)) {}

  Key key_;
  SecureBuffer x25519_scalar_;
  std::array<uint8_t, 32> public_key_{};
  std::array<uint8_t, 32> x25519_public_{};  // the X25519 twin of public_key_
};

// True iff `signature` (64 bytes) is a valid Ed25519 signature of `message` under `public_key`
// (32 bytes). Wrong sizes and malformed keys give false.
bool Ed25519Verify(std::span<const uint8_t> public_key, std::string_view message,
                   std::span<const uint8_t> signature);

}  // namespace cai
