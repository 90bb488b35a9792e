// The dstack event log parser's field rules and size limits (event_log.h). Replaying the real
// sample against its quote is in verifier_test.cc.
#include "lib/attestation/event_log.h"

#include <gtest/gtest.h>

#include <string>

namespace cai {
namespace {

const std::string kDigest(96, 'a');

std::string Entry(const std::string& payload_member) {
  return R"({"imr":0,"event_type":1,"digest":")" + kDigest + R"(","event":"")" + payload_member + "}";
}

// n copies of a valid entry.
std::string Log(size_t n) {
  std::string text = "[";
  for (size_t i = 0; i < n; ++i) text += (i ? "," : "") + Entry(R"(,"event_payload":"")");
  return text + "]";
}

// dstack always writes event_payload ("" when empty), and a runtime event's digest covers it:
// an entry without one is not dstack's (before: read as an empty payload).
TEST(EventLog, RequiresEventPayload) {
  ASSERT_TRUE(ParseEventLog("[" + Entry(R"(,"event_payload":"")") + "]").ok());
  for (const char* member : {"", R"(,"event_payload":null)", R"(,"event_payload":0)", R"(,"event_payload":[])"}) {
    absl::StatusOr<std::vector<EventLogEntry>> log = ParseEventLog("[" + Entry(member) + "]");
    ASSERT_FALSE(log.ok()) << member;
    EXPECT_NE(log.status().message().find("entry 0: event_payload is not a string"), std::string::npos)
        << member << ": " << log.status();
  }
}

TEST(EventLog, AcceptsExactlyMaxEntries) {
  absl::StatusOr<std::vector<EventLogEntry>> log = ParseEventLog(Log(kEventLogMaxEntries));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->size(), kEventLogMaxEntries);
}

TEST(EventLog, RefusesOneEntryMoreThanMax) {
  const std::string text = Log(kEventLogMaxEntries + 1);
  ASSERT_LE(text.size(), kEventLogMaxSize);  // the entry count, not the size, is what is refused
  absl::StatusOr<std::vector<EventLogEntry>> log = ParseEventLog(text);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("too many entries"), std::string::npos) << log.status();
}

// Whitespace pads a valid log to the exact byte limit, then one byte past it.
TEST(EventLog, RefusesOneByteMoreThanMaxSize) {
  std::string text = Log(1);
  text.resize(kEventLogMaxSize, ' ');
  ASSERT_TRUE(ParseEventLog(text).ok());
  text.push_back(' ');
  absl::StatusOr<std::vector<EventLogEntry>> log = ParseEventLog(text);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("too large"), std::string::npos) << log.status();
}

}  // namespace
}  // namespace cai
