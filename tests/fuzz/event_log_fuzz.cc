// dstack event log parser, RTMR replay and runtime-event digest rule on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/attestation/event_log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<std::vector<cai::EventLogEntry>> log =
      cai::ParseEventLog(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!log.ok()) return 0;
  (void)cai::ReplayRtmrs(*log);
  (void)cai::CheckRuntimeEventDigests(*log);
  return 0;
}
