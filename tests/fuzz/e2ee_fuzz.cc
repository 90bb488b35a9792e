// Fuzzes what an end-to-end encrypted request brings from the client: its E2EE headers and a sealed
// field. Input: header lines "Name: value\n" up to a blank line, then the sealed bytes, which are
// opened with a fixed recipient key in each mode (secp256k1 and X25519). Oracles beyond "no crash": parsed headers give associated data
// that names their nonce, and a sealed field opens only when it is a well-formed ciphertext.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "lib/crypto/ecies_secp256k1.h"
#include "lib/crypto/ecies_x25519.h"
#include "services/edge/e2ee_headers.h"

namespace {

const cai::EthereumSigner& Recipient() {
  static const cai::EthereumSigner* signer = [] {
    std::array<uint8_t, 32> key{};
    key[31] = 7;
    return new cai::EthereumSigner(*cai::EthereumSigner::FromPrivateKeyForTesting(key));
  }();
  return *signer;
}

const cai::Ed25519Signer& Ed25519Recipient() {
  static const cai::Ed25519Signer* signer = [] {
    std::array<uint8_t, 32> seed{};
    seed[0] = 7;
    return new cai::Ed25519Signer(*cai::Ed25519Signer::FromSeedForTesting(seed));
  }();
  return *signer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t blank = input.find("\n\n");
  std::string_view head = input.substr(0, blank);
  std::string_view sealed = blank == std::string_view::npos ? std::string_view() : input.substr(blank + 2);

  cai::edge::HttpRequest request;
  while (!head.empty()) {
    const size_t end = head.find('\n');
    std::string_view line = head.substr(0, end);
    head = end == std::string_view::npos ? std::string_view() : head.substr(end + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    request.headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  std::optional<cai::edge::E2eeHeaders> e2ee;
  if (!cai::edge::ParseE2eeHeaders(request, /*allow_v1=*/true, &e2ee) && e2ee) {
    const std::string aad = cai::edge::RequestAad(*e2ee, "m", 0, std::nullopt);
    if (e2ee->version == cai::edge::E2eeVersion::kV2 && aad.find(e2ee->nonce) == std::string::npos) std::abort();
    if (e2ee->version == cai::edge::E2eeVersion::kV1 && !aad.empty()) std::abort();
  } else if (e2ee) {
    std::abort();  // an error must leave no headers behind
  }

  const std::span bytes(reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size());
  auto opened = cai::EciesOpen(Recipient(), bytes, "");
  if (opened.ok() && sealed.size() < cai::kEciesOverheadBytes) std::abort();
  auto opened_x25519 = cai::X25519Open(Ed25519Recipient(), bytes, "");
  if (opened_x25519.ok() && sealed.size() < cai::kX25519SealedOverheadBytes) std::abort();
  return 0;
}
