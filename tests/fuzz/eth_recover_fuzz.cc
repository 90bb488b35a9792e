// Fuzzes what a verifier feeds from the network into lib/crypto: an address string and a
// signature over a text. Oracle beyond "no crash": a recovered address re-encodes and re-parses.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/crypto/ethereum.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Layout: [65 bytes signature][text...]; the whole input is also tried as an address string.
  std::string_view whole(reinterpret_cast<const char*>(data), size);
  if (auto parsed = cai::ParseAddress(whole); parsed.ok()) {
    auto again = cai::ParseAddress(cai::ChecksumAddress(*parsed));
    if (!again.ok() || *again != *parsed) std::abort();
  }
  if (size < 65) return 0;
  auto recovered = cai::RecoverPersonalSignAddress(whole.substr(65), std::span<const uint8_t>(data, 65));
  if (recovered.ok()) {
    auto reparsed = cai::ParseAddress(cai::ChecksumAddress(*recovered));
    if (!reparsed.ok() || *reparsed != *recovered) std::abort();
  }
  return 0;
}
