// eth_sign_kat <private key hex> <text>: prints "0x" + the 65-byte personal_sign signature in hex,
// then the EIP-55 address, one per line. Used by test_eth_account_kat.py against eth_account.
#include <cstdio>
#include <vector>

#include "lib/common/hex.h"
#include "lib/crypto/secp256k1_signer.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: eth_sign_kat <private key hex> <text>\n");
    return 2;
  }
  absl::StatusOr<std::vector<uint8_t>> key = cai::HexDecodeExact(argv[1], 32);
  if (!key.ok()) {
    std::fprintf(stderr, "%s\n", key.status().ToString().c_str());
    return 2;
  }
  absl::StatusOr<cai::EthereumSigner> signer =
      cai::EthereumSigner::FromPrivateKeyForTesting(std::span<const uint8_t, 32>(key->data(), 32));
  if (!signer.ok()) {
    std::fprintf(stderr, "%s\n", signer.status().ToString().c_str());
    return 1;
  }
  std::printf("0x%s\n%s\n", cai::HexEncode(signer->SignPersonalMessage(argv[2])).c_str(),
              signer->address().c_str());
  return 0;
}
