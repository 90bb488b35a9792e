#include "lib/attestation/event_log.h"

#include <optional>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "lib/common/hex.h"

namespace cai {
namespace {

using nlohmann::json;

absl::Status EntryError(size_t index, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("event log entry ", index, ": ", std::string(what)));
}

absl::StatusOr<uint32_t> U32Field(const json& e, const char* key, uint32_t max) {
  auto it = e.find(key);
  if (it == e.end() || !it->is_number_unsigned() || it->get<uint64_t>() > max) {
    return absl::InvalidArgumentError(absl::StrCat(key, " is missing or out of range"));
  }
  return static_cast<uint32_t>(it->get<uint64_t>());
}

// The string at `key`; nullopt when it is missing or not a string (every field is required).
std::optional<std::string> StringField(const json& e, const char* key) {
  auto it = e.find(key);
  if (it == e.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

absl::StatusOr<std::vector<EventLogEntry>> ParseEventLog(std::string_view text) {
  if (text.size() > kEventLogMaxSize) return absl::InvalidArgumentError("event log is too large");
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) return absl::InvalidArgumentError("event log is not a JSON array");
  if (doc.size() > kEventLogMaxEntries) return absl::InvalidArgumentError("event log has too many entries");
  std::vector<EventLogEntry> entries;
  entries.reserve(doc.size());
  for (size_t i = 0; i < doc.size(); ++i) {
    const json& e = doc[i];
    if (!e.is_object()) return EntryError(i, "not an object");
    EventLogEntry entry;
    absl::StatusOr<uint32_t> imr = U32Field(e, "imr", 3);
    absl::StatusOr<uint32_t> type = U32Field(e, "event_type", UINT32_MAX);
    if (!imr.ok() || !type.ok()) return EntryError(i, std::string((!imr.ok() ? imr.status() : type.status()).message()));
    entry.imr = *imr;
    entry.event_type = *type;
    const std::optional<std::string> digest_hex = StringField(e, "digest");
    absl::StatusOr<std::vector<uint8_t>> digest = HexDecodeExact(digest_hex.value_or(""), 48);
    if (!digest.ok()) return EntryError(i, "digest is not 48 bytes of hex");
    std::copy(digest->begin(), digest->end(), entry.digest.begin());
    std::optional<std::string> event = StringField(e, "event");
    if (!event) return EntryError(i, "event is not a string");
    entry.event = std::move(*event);
    // dstack always writes event_payload ("" when empty; its TdxEvent has no serde default), and a
    // runtime event's digest covers it, so an entry without one is not dstack's.
    const std::optional<std::string> payload_hex = StringField(e, "event_payload");
    if (!payload_hex) return EntryError(i, "event_payload is not a string");
    absl::StatusOr<std::vector<uint8_t>> payload = HexDecode(*payload_hex);
    if (!payload.ok()) return EntryError(i, "event_payload is not hex");
    entry.payload = std::move(*payload);
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::array<Sha384Digest, 4> ReplayRtmrs(std::span<const EventLogEntry> entries) {
  std::array<Sha384Digest, 4> rtmr{};
  for (const EventLogEntry& e : entries) {
    std::array<uint8_t, 96> buf;
    std::copy(rtmr[e.imr].begin(), rtmr[e.imr].end(), buf.begin());
    std::copy(e.digest.begin(), e.digest.end(), buf.begin() + 48);
    rtmr[e.imr] = Sha384(buf);
  }
  return rtmr;
}

absl::Status CheckRuntimeEventDigests(std::span<const EventLogEntry> entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const EventLogEntry& e = entries[i];
    if (e.event_type != kDstackRuntimeEventType) continue;
    std::vector<uint8_t> message = {static_cast<uint8_t>(e.event_type), static_cast<uint8_t>(e.event_type >> 8),
                                    static_cast<uint8_t>(e.event_type >> 16), static_cast<uint8_t>(e.event_type >> 24)};
    message.push_back(':');
    message.insert(message.end(), e.event.begin(), e.event.end());
    message.push_back(':');
    message.insert(message.end(), e.payload.begin(), e.payload.end());
    if (Sha384(message) != e.digest) {
      return absl::InvalidArgumentError(absl::StrCat("runtime event ", i, " (\"", e.event,
                                                     "\") does not hash to its digest"));
    }
  }
  return absl::OkStatus();
}

Verification VerifyEventLog(std::span<const EventLogEntry> entries, const TdReportBody& body) {
  Verification v;
  std::array<Sha384Digest, 4> replayed = ReplayRtmrs(entries);
  std::string mismatched;
  for (size_t i = 0; i < 4; ++i) {
    if (replayed[i] != body.rtmr[i]) absl::StrAppend(&mismatched, mismatched.empty() ? "" : ", ", "RTMR", i);
  }
  mismatched.empty() ? v.Pass("event log replays RTMR0..3", absl::StrCat(entries.size(), " events"))
                     : v.Fail("event log replays RTMR0..3", mismatched + " differ from the quote");
  absl::Status runtime = CheckRuntimeEventDigests(entries);
  runtime.ok() ? v.Pass("runtime event digests", "every imr-3 runtime event hashes to its digest")
               : v.Fail("runtime event digests", std::string(runtime.message()));
  return v;
}

}  // namespace cai
