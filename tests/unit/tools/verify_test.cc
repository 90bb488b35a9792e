// RunVerify end to end on malformed files and services: exit status 1 with the reason printed,
// never an abort (before the fix, {"quote":"00","event_log":1} ended in an uncaught type_error).
#include "tools/cai/verify.h"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/tools/fake_http_server.h"
#include "tools/cai/http_client.h"

namespace cai::cli {
namespace {

using testing::FakeHttpServer;

std::string WriteTemp(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// RunVerify's exit status, with its stdout in `out`.
int Verify(const std::vector<std::string>& args, std::string& out) {
  ::testing::internal::CaptureStdout();
  int rc = RunVerify(args);
  out = ::testing::internal::GetCapturedStdout();
  return rc;
}

TEST(RunVerifyTest, QuoteWithNumericEventLogFailsWithTheFieldNamed) {
  std::string out;
  EXPECT_EQ(Verify({"quote", WriteTemp("event_log_number.json", R"({"quote":"00","event_log":1})")}, out), 1);
  EXPECT_NE(out.find("[fail] event log parses: field 'event_log' must be a string (found number)"), std::string::npos)
      << out;
  EXPECT_NE(out.find("result: FAIL"), std::string::npos);
}

TEST(RunVerifyTest, QuoteWithNumericEventLogAsJsonFails) {
  std::string out;
  EXPECT_EQ(Verify({"quote", WriteTemp("event_log_number2.json", R"({"quote":"00","event_log":1})"), "--json"}, out), 1);
  EXPECT_NE(out.find("\"passed\": false"), std::string::npos) << out;
}

TEST(RunVerifyTest, GpuWithNonStringPayloadFails) {
  std::string out;
  EXPECT_EQ(Verify({"gpu", WriteTemp("payload_array.json", R"({"nvidia_payload":[]})")}, out), 1);
  EXPECT_NE(out.find("field 'nvidia_payload' must be a string"), std::string::npos) << out;
}

TEST(RunVerifyTest, ServiceWithNumericModelIdFails) {
  FakeHttpServer server([](const std::string&) { return FakeHttpServer::Response(200, R"({"data":[{"id":5}]})"); });
  ASSERT_TRUE(server.listening());
  std::string out;
  EXPECT_EQ(Verify({"service", server.url()}, out), 1);
  EXPECT_NE(out.find("field 'data[0].id' must be a string"), std::string::npos) << out;
}

// The URL `cai up` prints for clients ends in /v1; pasted here it must reach the same routes.
TEST(RunVerifyTest, ServiceUrlEndingInV1ReachesTheSameRoutes) {
  FakeHttpServer server([](const std::string&) { return FakeHttpServer::Response(200, R"({"data":[{"id":5}]})"); });
  ASSERT_TRUE(server.listening());
  std::string out;
  EXPECT_EQ(Verify({"service", server.url() + "/v1/"}, out), 1);
  ASSERT_FALSE(server.targets().empty());
  EXPECT_EQ(server.targets().front(), "/v1/models");
  EXPECT_EQ(ServiceRootUrl("http://h:1/v1"), "http://h:1");
  EXPECT_EQ(ServiceRootUrl("http://h:1/prefix/v1//"), "http://h:1/prefix");
  EXPECT_EQ(ServiceRootUrl("http://h:1/"), "http://h:1");
  EXPECT_EQ(ServiceRootUrl("http://v1/"), "http://v1");  // a host named v1 stays
  EXPECT_EQ(ServiceRootUrl("http://v1/v1"), "http://v1");
}

TEST(RunVerifyTest, HelpAnywhereShowsTheUsage) {
  std::string out;
  EXPECT_EQ(Verify({"service", "--help"}, out), 0);
  EXPECT_NE(out.find("cai verify service"), std::string::npos) << out;
}

TEST(RunVerifyTest, ServiceErrorBodyThatIsNotUtf8StillRendersAsJson) {
  FakeHttpServer server([](const std::string&) { return FakeHttpServer::Response(500, "\xff\xfe oops"); });
  ASSERT_TRUE(server.listening());
  std::string out;
  EXPECT_EQ(Verify({"service", server.url(), "--json"}, out), 1);
  EXPECT_NE(out.find("answered HTTP 500"), std::string::npos) << out;
}

TEST(RunVerifyTest, StalledServiceFailsAfterTheTimeout) {
  FakeHttpServer server([](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(server.listening());
  std::string out;
  EXPECT_EQ(Verify({"service", server.url(), "--timeout", "1"}, out), 1);
  EXPECT_NE(out.find("no complete response within 1s"), std::string::npos) << out;
}

TEST(RunVerifyTest, TimeoutMustBePositiveSeconds) {
  std::string out;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(Verify({"service", "http://127.0.0.1:1", "--timeout", "0"}, out), 2);
  EXPECT_EQ(Verify({"service", "http://127.0.0.1:1", "--timeout", "x"}, out), 2);
  EXPECT_EQ(Verify({"quote", "f", "--timeout", "5"}, out), 2);  // only `verify service` talks to a server
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("--timeout takes seconds"), std::string::npos);
}

}  // namespace
}  // namespace cai::cli
