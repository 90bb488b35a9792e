#include "lib/crypto/ecies_secp256k1.h"

#include <secp256k1.h>

#include <algorithm>

#include "lib/crypto/sealed_message.h"

namespace cai {

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

absl::StatusOr<Sealer> SealerForSecp256k1(std::span<const uint8_t, kEciesPublicKeyBytes> recipient) {
  // An ephemeral key pair: the private half lives (and dies) in the signer's SecureBuffer.
  absl::StatusOr<EthereumSigner> ephemeral = EthereumSigner::Generate();
  if (!ephemeral.ok()) return ephemeral.status();
  absl::StatusOr<SecureBuffer> shared = ephemeral->SharedX(recipient);
  if (!shared.ok()) return shared.status();
  std::vector<uint8_t> ephemeral_public = {0x04};
  ephemeral_public.insert(ephemeral_public.end(), ephemeral->public_key().begin(), ephemeral->public_key().end());
  return Sealer::FromSharedSecret(std::move(ephemeral_public), *shared, kEciesHkdfInfo);
}

absl::StatusOr<std::string> EciesOpen(const EthereumSigner& recipient, std::span<const uint8_t> sealed,
                                      std::string_view aad) {
  if (sealed.size() < kEciesOverheadBytes) return DecryptionFailed();
  return OpenWithSharedSecret(recipient.SharedX(sealed.first<kEciesPublicKeyBytes>()), kEciesHkdfInfo,
                              sealed.subspan(kEciesPublicKeyBytes), aad);
}

}  // namespace cai
