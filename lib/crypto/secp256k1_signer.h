#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "lib/common/secure_memory.h"
#include "lib/crypto/ethereum.h"

struct secp256k1_context_struct;

namespace cai {

// A secp256k1 key that signs Ethereum personal_sign (EIP-191) messages and agrees keys (ECDH). The private key lives
// only in a SecureBuffer (mlock'd, excluded from core dumps, wiped on destruction) and is never
// copied elsewhere. Move-only; signing is const and safe from several threads at once.
class EthereumSigner {
 public:
  // Draws a key from the kernel CSPRNG.
  static absl::StatusOr<EthereumSigner> Generate();
  // A fixed key, for known-answer tests only: production keys must come from Generate().
  static absl::StatusOr<EthereumSigner> FromPrivateKeyForTesting(std::span<const uint8_t, 32> private_key);

  EthereumSigner(EthereumSigner&&) noexcept;
  EthereumSigner& operator=(EthereumSigner&&) noexcept;
  ~EthereumSigner();

  // r || s || v with v = 27 + recovery id, low-s, deterministic (RFC 6979).
  std::array<uint8_t, 65> SignPersonalMessage(std::string_view text) const;

  // The x coordinate of private_key * peer (ECDH, constant time), as OpenSSL and Python's
  // cryptography give it, for end-to-end encryption (lib/crypto/ecies_secp256k1.h). `peer` is
  // 0x04 || x || y; InvalidArgument when it is not a point on the curve.
  absl::StatusOr<SecureBuffer> SharedX(std::span<const uint8_t, 65> peer) const;

  const std::string& address() const { return address_; }  // EIP-55, "0x"-prefixed
  const EthereumAddress& address_bytes() const { return address_bytes_; }
  const std::array<uint8_t, 64>& public_key() const { return public_key_; }  // x || y

 private:
  struct ContextDeleter {
    void operator()(secp256k1_context_struct* ctx) const;
  };
  using Context = std::unique_ptr<secp256k1_context_struct, ContextDeleter>;

  EthereumSigner(Context ctx, SecureBuffer private_key);
  static absl::StatusOr<EthereumSigner> FromSecureKey(SecureBuffer private_key);

  Context ctx_;
  SecureBuffer private_key_;
  std::array<uint8_t, 64> public_key_{};
  EthereumAddress address_bytes_{};
  std::string address_;
};

}  // namespace cai
