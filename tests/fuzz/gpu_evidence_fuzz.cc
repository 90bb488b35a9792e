// NVIDIA evidence JSON (`nvidia_payload`, fetched from a remote service by `cai verify service`)
// on arbitrary bytes: parsed, then verified (signatures, chain, nonce), never trusted.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/attestation/gpu_verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<cai::GpuEvidenceList> list =
      cai::ParseGpuEvidenceJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!list.ok()) return 0;
  (void)cai::VerifyGpuEvidence(list->items, cai::GpuVerifyOptions{});
  return 0;
}
