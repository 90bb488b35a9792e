#include "lib/crypto/secp256k1_signer.h"

#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "lib/common/random.h"

namespace cai {

void EthereumSigner::ContextDeleter::operator()(secp256k1_context_struct* ctx) const {
  secp256k1_context_destroy(ctx);
}

EthereumSigner::EthereumSigner(Context ctx, SecureBuffer private_key)
    : ctx_(std::move(ctx)), private_key_(std::move(private_key)) {}
EthereumSigner::EthereumSigner(EthereumSigner&&) noexcept = default;
EthereumSigner& EthereumSigner::operator=(EthereumSigner&&) noexcept = default;
EthereumSigner::~EthereumSigner() = default;

absl::StatusOr<EthereumSigner> EthereumSigner::Generate() {
  absl::StatusOr<SecureBuffer> key = SecureBuffer::Allocate(32);
  if (!key.ok()) return key.status();
  // Fewer than 1 in 2^127 draws is zero or >= the group order; retry rather than reduce.
  do {
    if (absl::Status s = FillRandom(key->span()); !s.ok()) return s;
  } while (!secp256k1_ec_seckey_verify(secp256k1_context_static, key->data()));
  return FromSecureKey(*std::move(key));
}

absl::StatusOr<EthereumSigner> EthereumSigner::FromPrivateKeyForTesting(
    std::span<const uint8_t, 32> private_key) {
  absl::StatusOr<SecureBuffer> key = SecureBuffer::Allocate(32);
  if (!key.ok()) return key.status();
  std::copy(private_key.begin(), private_key.end(), key->data());
  if (!secp256k1_ec_seckey_verify(secp256k1_context_static, key->data())) {
    return absl::InvalidArgumentError("secp256k1 private key is zero or not below the group order");
  }
  return FromSecureKey(*std::move(key));
}

absl::StatusOr<EthereumSigner> EthereumSigner::FromSecureKey(SecureBuffer private_key) {
  Context ctx(secp256k1_context_create(SECP256K1_CONTEXT_NONE));
  if (!ctx) return absl::InternalError("secp256k1_context_create failed");
  // Blinding: randomises the internal state so timing or power side channels of signing and
  // key derivation do not leak the key.
  {
    absl::StatusOr<SecureBuffer> seed = SecureBuffer::Allocate(32);
    if (!seed.ok()) return seed.status();
    if (absl::Status s = FillRandom(seed->span()); !s.ok()) return s;
    if (!secp256k1_context_randomize(ctx.get(), seed->data())) {
      return absl::InternalError("secp256k1_context_randomize failed");
    }
  }

  secp256k1_pubkey pubkey;
  if (!secp256k1_ec_pubkey_create(ctx.get(), &pubkey, private_key.data())) {
    return absl::InvalidArgumentError("invalid secp256k1 private key");
  }
  uint8_t serialized[65];
  size_t len = sizeof(serialized);
  secp256k1_ec_pubkey_serialize(ctx.get(), serialized, &len, &pubkey, SECP256K1_EC_UNCOMPRESSED);

  EthereumSigner signer(std::move(ctx), std::move(private_key));
  std::copy(serialized + 1, serialized + 65, signer.public_key_.begin());
  signer.address_bytes_ = AddressFromPublicKey(signer.public_key_);
  signer.address_ = ChecksumAddress(signer.address_bytes_);
  return signer;
}

std::array<uint8_t, 65> EthereumSigner::SignPersonalMessage(std::string_view text) const {
  Keccak256Digest digest = PersonalSignHash(text);
  secp256k1_ecdsa_recoverable_signature sig;
  // Fails only for an invalid key or a nonce-function failure, both impossible for a verified key.
  if (!secp256k1_ecdsa_sign_recoverable(ctx_.get(), &sig, digest.data(), private_key_.data(), nullptr,
                                        nullptr)) {
    std::abort();
  }
  std::array<uint8_t, 65> out;
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx_.get(), out.data(), &recid, &sig);
  out[64] = static_cast<uint8_t>(27 + recid);
  return out;
}

absl::StatusOr<SecureBuffer> EthereumSigner::SharedX(std::span<const uint8_t, 65> peer) const {
  secp256k1_pubkey point;
  if (!secp256k1_ec_pubkey_parse(ctx_.get(), &point, peer.data(), peer.size()) || peer[0] != 0x04) {
    return absl::InvalidArgumentError("not an uncompressed secp256k1 point");
  }
  absl::StatusOr<SecureBuffer> shared = SecureBuffer::Allocate(32);
  if (!shared.ok()) return shared.status();
  // libsecp256k1 hashes the point by default; E2EE peers use the bare x coordinate.
  auto copy_x = [](unsigned char* out, const unsigned char* x32, const unsigned char*, void*) -> int {
    std::memcpy(out, x32, 32);
    return 1;
  };
  if (!secp256k1_ecdh(ctx_.get(), shared->data(), &point, private_key_.data(), copy_x, nullptr)) {
    return absl::InvalidArgumentError("secp256k1 ECDH failed");
  }
  return shared;
}

}  // namespace cai
