// TDX quote parser and the quote-only signature checks on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/attestation/tdx_quote.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<cai::TdxQuote> quote = cai::ParseTdxQuote(std::span<const uint8_t>(data, size));
  if (!quote.ok()) return 0;
  (void)cai::VerifyQuoteSignature(*quote);
  (void)cai::VerifyQeReportBinding(*quote);
  (void)cai::VerifyQeReportSignature(*quote);  // parses the embedded PEM chain
  return 0;
}
