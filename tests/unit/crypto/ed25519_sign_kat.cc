// ed25519_sign_kat <seed hex> <text>: prints the 64-byte signature over the UTF-8 text in hex, then
// the 32-byte public key in hex, one per line. Used by test_eth_account_kat.py against cryptography.
#include <cstdio>
#include <vector>

#include "lib/common/hex.h"
#include "lib/crypto/ed25519_signer.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ed25519_sign_kat <seed hex> <text>\n");
    return 2;
  }
  absl::StatusOr<std::vector<uint8_t>> seed = cai::HexDecodeExact(argv[1], 32);
  if (!seed.ok()) {
    std::fprintf(stderr, "%s\n", seed.status().ToString().c_str());
    return 2;
  }
  absl::StatusOr<cai::Ed25519Signer> signer =
      cai::Ed25519Signer::FromSeedForTesting(std::span<const uint8_t, 32>(seed->data(), 32));
  if (!signer.ok()) {
    std::fprintf(stderr, "%s\n", signer.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n%s\n", cai::HexEncode(signer->Sign(argv[2])).c_str(),
              cai::HexEncode(signer->public_key()).c_str());
  return 0;
}
