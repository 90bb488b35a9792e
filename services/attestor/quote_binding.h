#pragma once

// The one check every real provider makes before returning evidence: a TDX quote parses and
// carries exactly the report_data we asked for; a GPU's SPDM report parses and carries the nonce.
// Evidence for other data must never leave the attestor.
#include <cstdint>
#include <span>

#include "absl/status/status.h"

namespace cai {

// FailedPrecondition naming `source` when the quote does not parse or carries other report_data.
absl::Status CheckQuoteReportData(std::span<const uint8_t> quote, std::span<const uint8_t, 64> report_data,
                                  const char* source);

// InvalidArgument when `report` is not an SPDM measurements report or carries another nonce.
absl::Status CheckGpuReportNonce(std::span<const uint8_t> report, std::span<const uint8_t> nonce);

}  // namespace cai
