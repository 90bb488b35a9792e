// `cai verify quote|gpu` on malformed files: a failed check naming the problem, never a throw.
#include "tools/cai/evidence_check.h"

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "lib/common/hex.h"

namespace cai::cli {
namespace {

constexpr int64_t kNow = 1750000000;

// A simulated TDX quote committed as a fuzz seed.
std::string SimulatedQuote() {
  std::ifstream in(std::string(CAI_SOURCE_DIR) + "/tests/fuzz/corpus/tdx_quote_fuzz/simulated_v4.bin",
                   std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

VerifyReport Quote(const std::string& file) {
  TdxVerifyOptions options;
  options.now = kNow;
  return CheckQuoteFile(file, std::nullopt, options);
}

VerifyReport Gpu(const std::string& file) {
  GpuVerifyOptions options;
  options.now = kNow;
  return CheckGpuFile(file, options);
}

TEST(CheckQuoteFileTest, NonStringEventLogFailsItsCheck) {
  VerifyReport report = Quote(R"({"quote":"00","event_log":1})");
  const Check* log = report.checklist.Find("event log parses");
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->outcome, CheckOutcome::kFail);
  EXPECT_EQ(log->detail, "field 'event_log' must be a string (found number)");
  EXPECT_FALSE(report.checklist.AllPassed());
}

TEST(CheckQuoteFileTest, NonStringQuoteFailsQuoteParses) {
  for (const char* file : {R"({"quote":5})", R"({"quote":{"hex":"00"}})", R"({"quote":""})"}) {
    VerifyReport report = Quote(file);
    const Check* quote = report.checklist.Find("quote parses");
    ASSERT_NE(quote, nullptr) << file;
    EXPECT_EQ(quote->outcome, CheckOutcome::kFail) << file;
    EXPECT_NE(quote->detail.find("field 'quote'"), std::string::npos) << quote->detail;
  }
}

TEST(CheckQuoteFileTest, GarbageFailsQuoteParses) {
  for (const std::string& file : {std::string(), std::string("0x"), std::string("[1,2]"), std::string(4, '\0')}) {
    VerifyReport report = Quote(file);
    ASSERT_FALSE(report.checklist.checks().empty());
    EXPECT_EQ(report.checklist.checks()[0].name, "quote parses");
    EXPECT_FALSE(report.checklist.AllPassed());
  }
}

TEST(CheckQuoteFileTest, SimulatedQuoteParsesAsBinaryHexAndDstackJson) {
  const std::string binary = SimulatedQuote();
  ASSERT_GT(binary.size(), 1000u);
  const std::string hex = HexEncode(binary);
  for (const std::string& file : {binary, "0x" + hex + "\n", R"({"quote":")" + hex + R"("})"}) {
    VerifyReport report = Quote(file);
    const Check* quote = report.checklist.Find("quote parses");
    ASSERT_NE(quote, nullptr);
    EXPECT_EQ(quote->outcome, CheckOutcome::kPass) << quote->detail;
    // Simulated evidence does not chain to Intel's root.
    EXPECT_FALSE(report.checklist.AllPassed());
    EXPECT_EQ(report.extra["tcb_status"], "unknown (no collateral)");
  }
}

TEST(CheckQuoteFileTest, MalformedCollateralFailsItsCheck) {
  TdxVerifyOptions options;
  options.now = kNow;
  VerifyReport report = CheckQuoteFile(SimulatedQuote(), std::string(R"({"tcb_info":1})"), options);
  const Check* collateral = report.checklist.Find("collateral parses");
  ASSERT_NE(collateral, nullptr);
  EXPECT_EQ(collateral->outcome, CheckOutcome::kFail);
}

TEST(CheckGpuFileTest, NonStringNvidiaPayloadFailsEvidenceParses) {
  for (const char* file : {R"({"nvidia_payload":[1]})", R"({"nvidia_payload":{"nonce":"00"}})",
                           R"({"nvidia_payload":7})"}) {
    VerifyReport report = Gpu(file);
    const Check* parses = report.checklist.Find("GPU evidence parses");
    ASSERT_NE(parses, nullptr) << file;
    EXPECT_EQ(parses->outcome, CheckOutcome::kFail);
    EXPECT_NE(parses->detail.find("field 'nvidia_payload' must be a string"), std::string::npos) << parses->detail;
  }
}

TEST(CheckGpuFileTest, GarbageFailsEvidenceParses) {
  for (const char* file : {"", "{}", "[]", "null", R"({"evidence_list":5})", R"({"nvidia_payload":"{"})"}) {
    VerifyReport report = Gpu(file);
    ASSERT_FALSE(report.checklist.checks().empty()) << file;
    EXPECT_EQ(report.checklist.checks()[0].name, "GPU evidence parses");
    EXPECT_FALSE(report.checklist.AllPassed()) << file;
  }
}

}  // namespace
}  // namespace cai::cli
