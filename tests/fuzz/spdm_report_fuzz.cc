// NVIDIA SPDM report parser and its accessors on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/attestation/nvidia_spdm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<cai::SpdmReport> report = cai::ParseSpdmReport(std::span<const uint8_t>(data, size));
  if (!report.ok()) return 0;
  (void)report->DriverVersion();
  (void)report->VbiosVersion();
  (void)cai::CheckSpdmNonce(*report, report->request_nonce);
  return 0;
}
