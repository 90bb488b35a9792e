#pragma once

// The one check every real TDX provider makes before returning a quote: it parses, and carries
// exactly the report_data we asked for. Evidence for other data must never leave the attestor.
#include <cstdint>
#include <span>

#include "absl/status/status.h"

namespace cai {

// FailedPrecondition naming `source` when the quote does not parse or carries other report_data.
absl::Status CheckQuoteReportData(std::span<const uint8_t> quote, std::span<const uint8_t, 64> report_data,
                                  const char* source);

}  // namespace cai
