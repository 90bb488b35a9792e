#pragma once

// The offline checks of `cai verify quote` and `cai verify gpu`: file bytes in, a report out. No
// file or network I/O, so the bytes can come from a fuzzer as well as from a file.
#include <optional>
#include <string>
#include <string_view>

#include "lib/attestation/gpu_verify.h"
#include "lib/attestation/tdx_verify.h"
#include "tools/cai/verify_report.h"

namespace cai::cli {

// `quote_file`: a TDX quote, binary or hex text ("0x" allowed), or a dstack /GetQuote response JSON
// {"quote": hex, "event_log": JSON text} whose event log is replayed too. `collateral_json`: the
// collateral file's text, when the user gave one.
VerifyReport CheckQuoteFile(std::string_view quote_file, const std::optional<std::string>& collateral_json,
                            const TdxVerifyOptions& options);

// `evidence_file`: an nvidia_payload JSON, NVIDIA serialized evidence, or an attestation report
// JSON carrying the evidence as the string nvidia_payload.
VerifyReport CheckGpuFile(std::string_view evidence_file, const GpuVerifyOptions& options);

}  // namespace cai::cli
