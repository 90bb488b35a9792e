// Collateral parser (QuoteCollateralV3 JSON, TCB info, QE identity, CRL framing) on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/attestation/collateral.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)cai::ParseCollateral(text);
  // The signed documents alone, as PCS serves them.
  (void)cai::ParseTcbInfo(text);
  (void)cai::ParseQeIdentity(text);
  (void)cai::ParseIsoTime(text.substr(0, 20));
  return 0;
}
