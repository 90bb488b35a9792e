#pragma once

// The dstack event log (reference A4): a JSON array of {imr, event_type, digest, event,
// event_payload} that, replayed, must reproduce the quote's RTMRs. Replaying proves the log is
// the one measured; what the events mean is a policy question for the caller.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/attestation/tdx_quote.h"
#include "lib/attestation/verification.h"
#include "lib/crypto/sha384.h"  // Sha384Digest

namespace cai {

inline constexpr size_t kEventLogMaxSize = 1 << 20;
inline constexpr size_t kEventLogMaxEntries = 4096;
inline constexpr uint32_t kDstackRuntimeEventType = 0x08000001;


struct EventLogEntry {
  uint32_t imr = 0;  // 0..3
  uint32_t event_type = 0;
  Sha384Digest digest{};
  std::string event;
  std::vector<uint8_t> payload;  // event_payload, hex-decoded
};

// At most kEventLogMaxSize bytes and kEventLogMaxEntries entries; imr must be 0..3. All five
// fields are required, event_payload too ("" when empty, as dstack writes it).
absl::StatusOr<std::vector<EventLogEntry>> ParseEventLog(std::string_view json);

// RTMR_i = SHA384(RTMR_i || digest) from 48 zero bytes, over the entries with imr == i, in order.
std::array<Sha384Digest, 4> ReplayRtmrs(std::span<const EventLogEntry> entries);

// dstack runtime events must carry digest = SHA384(le32(event_type) || ":" || event || ":" || payload).
absl::Status CheckRuntimeEventDigests(std::span<const EventLogEntry> entries);

// "event log replays RTMR0..3" and "runtime event digests", as checks.
Verification VerifyEventLog(std::span<const EventLogEntry> entries, const TdReportBody& body);

}  // namespace cai
