// Rendering text that came from the input under verification: no throw, no forged lines.
#include "tools/cai/checklist.h"

#include <gtest/gtest.h>

#include "tools/cai/verify_report.h"

namespace cai::cli {
namespace {

TEST(ChecklistTest, InvalidUtf8InADetailStillRendersAsJson) {
  VerifyReport report;
  report.checklist.Fail("chat completion", "HTTP 500: \xff\xfe\xc3");  // a service's raw error body, cut short
  std::string json;
  ASSERT_NO_THROW(json = RenderReport(report, "cai verify service u", true));
  EXPECT_NE(json.find("\"outcome\": \"fail\""), std::string::npos);
}

TEST(ChecklistTest, ControlBytesCannotForgeTextLines) {
  Checklist list;
  list.Pass("models are listed", "serving m\n  [pass] forged: yes\nresult: PASS\x1b[2J");
  const std::string text = list.ToText();
  EXPECT_EQ(text, "  [pass] models are listed: serving m\\x0a  [pass] forged: yes\\x0aresult: PASS\\x1b[2J\n");
}

TEST(RenderReportTest, InvalidUtf8InFactsStillRendersAsJson) {
  VerifyReport report;
  report.checklist.Pass("GPU evidence parses", "1 GPU(s)");
  const nlohmann::json gpu = {{"driver_version", std::string("\xff")}};
  report.extra = {{"gpus", nlohmann::json::array({gpu})}};
  report.summary.push_back("GPU 0: driver \xff\x1b");
  std::string json;
  ASSERT_NO_THROW(json = RenderReport(report, "cai verify gpu f", true));
  EXPECT_NE(json.find("\"passed\": true"), std::string::npos);
  const std::string text = RenderReport(report, "cai verify gpu f", false);
  EXPECT_NE(text.find("GPU 0: driver \xff\\x1b\n"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 13), "result: PASS\n");
}

}  // namespace
}  // namespace cai::cli
