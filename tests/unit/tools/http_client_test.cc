// HttpClient against a local server that stalls or floods: each ends in a clear error, never a
// hang (the CTest TIMEOUT bounds the test if the deadline did not work) or an unbounded buffer.
#include "tools/cai/http_client.h"

#include <gtest/gtest.h>

#include "tests/unit/tools/fake_http_server.h"

namespace cai::cli {
namespace {

using testing::FakeHttpServer;

HttpClientOptions Deadline(std::chrono::milliseconds timeout) {
  HttpClientOptions options;
  options.timeout = timeout;
  return options;
}

// Far beyond what any answer here takes on a loaded machine: the tests that use it expect an
// outcome other than the deadline, which a short one could preempt.
HttpClientOptions Patient() { return Deadline(std::chrono::seconds(20)); }

// How one GET to a server that answers with `handler` ends (OK when it got a response).
absl::Status GetFrom(FakeHttpServer::Handler handler, const HttpClientOptions& options,
                     const std::string& path = "/v1/models") {
  FakeHttpServer server(std::move(handler));
  if (!server.listening()) return absl::InternalError("the fake server is not listening");
  return HttpClient(server.url(), "", options).Get(path).status();
}

TEST(HttpClientTest, AnswersWithinTheLimits) {
  FakeHttpServer server(
      [](const std::string& path) { return FakeHttpServer::Response(200, "{\"path\":\"" + path + "\"}"); });
  ASSERT_TRUE(server.listening());
  absl::StatusOr<HttpResponse> response = HttpClient(server.url(), "", Patient()).Get("/v1/models?x=1");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "{\"path\":\"/v1/models\"}");
  EXPECT_EQ(response->Header("content-type"), "application/json");  // names match whatever their case
  EXPECT_EQ(response->Header("X-Absent"), "");
  // No body at all: the header read completes the response.
  FakeHttpServer empty([](const std::string&) { return FakeHttpServer::Response(204, ""); });
  absl::StatusOr<HttpResponse> no_content = HttpClient(empty.url(), "", Patient()).Get("/");
  ASSERT_TRUE(no_content.ok()) << no_content.status();
  EXPECT_EQ(no_content->status, 204);
}

TEST(HttpClientTest, StalledServerEndsInDeadlineExceeded) {
  absl::Status status =
      GetFrom([](const std::string&) { return std::nullopt; }, Deadline(std::chrono::milliseconds(300)), "/health");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_NE(status.message().find("no complete response within"), absl::string_view::npos);
}

TEST(HttpClientTest, ResponseCutShortIsAnError) {
  absl::Status status = GetFrom([](const std::string&) { return std::string("HTTP/1.1 200 OK\r\nContent-Le"); },
                                Patient(), "/health");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST(HttpClientTest, DeclaredBodyOverTheLimitIsRefusedBeforeItArrives) {
  // The first body byte travels with the head: Boost 1.74's eager parse used to lose the error.
  for (const char* length : {"9437184", "99999999999999"}) {
    absl::Status status = GetFrom(
        [length](const std::string&) {
          return "HTTP/1.1 200 OK\r\nContent-Length: " + std::string(length) + "\r\n\r\n{";
        },
        Patient());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_NE(status.message().find("response body larger than 8388608 bytes"), absl::string_view::npos);
  }
}

TEST(HttpClientTest, ChunkedBodyOverTheLimitIsRefused) {
  absl::Status status = GetFrom(
      [](const std::string&) {
        std::string chunk(1 << 20, 'x');
        std::string response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 9; ++i) response += "100000\r\n" + chunk + "\r\n";
        return response + "0\r\n\r\n";
      },
      Patient());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  // The body limit, not another one that also ends in ResourceExhausted.
  EXPECT_NE(status.message().find("response body larger than 8388608 bytes"), absl::string_view::npos) << status;
}

TEST(HttpClientTest, UndeclaredBodyOverTheLimitIsRefused) {
  absl::Status status = GetFrom(
      [](const std::string&) {
        return "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(9 << 20, 'x');  // to EOF
      },
      Patient());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  // The body limit, not another one that also ends in ResourceExhausted.
  EXPECT_NE(status.message().find("response body larger than 8388608 bytes"), absl::string_view::npos) << status;
}

TEST(HttpClientTest, HeaderOverTheLimitIsRefused) {
  absl::Status status = GetFrom(
      [](const std::string&) {
        return "HTTP/1.1 200 OK\r\nX-Padding: " + std::string(100 << 10, 'a') + "\r\nContent-Length: 0\r\n\r\n";
      },
      Patient(), "/health");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_NE(status.message().find("response header larger than"), absl::string_view::npos);
}

// Limits other than Beast's own defaults (8 MiB of body, 8 KiB of header), so these fail unless
// the client applies the options it was given.
TEST(HttpClientTest, TheConfiguredLimitsAreTheOnesApplied) {
  HttpClientOptions small = Patient();
  small.max_body_bytes = 1024;
  absl::Status body = GetFrom([](const std::string&) { return FakeHttpServer::Response(200, std::string(2048, 'b')); },
                              small);
  EXPECT_EQ(body.code(), absl::StatusCode::kResourceExhausted) << body;
  EXPECT_NE(body.message().find("response body larger than 1024 bytes"), absl::string_view::npos) << body;
  // A 16 KiB header is within the 64 KiB default and must be read.
  absl::Status header = GetFrom(
      [](const std::string&) {
        return "HTTP/1.1 200 OK\r\nX-Padding: " + std::string(16 << 10, 'a') + "\r\nContent-Length: 0\r\n\r\n";
      },
      Patient());
  EXPECT_TRUE(header.ok()) << header;
}

TEST(ParseHttpUrl, ReadsSchemeHostPortAndPrefix) {
  struct Case {
    const char* url;
    bool tls;
    const char* host;
    const char* port;
    const char* prefix;
  };
  for (const Case& c : {Case{"http://h", false, "h", "80", ""}, Case{"https://h", true, "h", "443", ""},
                        Case{"http://10.0.0.1:8000/api/", false, "10.0.0.1", "8000", "/api"},
                        Case{"https://[::1]:8443", true, "::1", "8443", ""},
                        Case{"https://[::1]/x", true, "::1", "443", "/x"}}) {
    absl::StatusOr<HttpUrl> url = ParseHttpUrl(c.url);
    ASSERT_TRUE(url.ok()) << c.url << ": " << url.status();
    EXPECT_EQ(url->tls, c.tls) << c.url;
    EXPECT_EQ(url->host, c.host) << c.url;
    EXPECT_EQ(url->port, c.port) << c.url;
    EXPECT_EQ(url->path_prefix, c.prefix) << c.url;
  }
}

TEST(ParseHttpUrl, RefusesEachDefectNamingIt) {
  struct Case {
    const char* url;
    const char* why;
  };
  for (const Case& c : {Case{"ftp://h", "only http:// and https://"}, Case{"h:80", "only http:// and https://"},
                        Case{"http://", "no host"}, Case{"http://:80", "no host"}, Case{"http://[::1", "unclosed ["},
                        Case{"http://[::1]x", "text after ]"}, Case{"http://h:", "bad port"},
                        Case{"http://h:0", "bad port"}, Case{"http://h:65536", "bad port"},
                        Case{"http://h:+80", "bad port"}, Case{"http://h:8o", "bad port"}}) {
    absl::StatusOr<HttpUrl> url = ParseHttpUrl(c.url);
    ASSERT_FALSE(url.ok()) << c.url;
    EXPECT_NE(url.status().message().find(c.why), absl::string_view::npos) << c.url << ": " << url.status();
  }
}

TEST(HttpClientTest, DefaultLimitsAreBounded) {
  HttpClientOptions defaults;
  EXPECT_EQ(defaults.timeout, std::chrono::seconds(30));
  EXPECT_EQ(defaults.max_body_bytes, size_t{8} << 20);
  EXPECT_EQ(defaults.max_header_bytes, size_t{64} << 10);
}

}  // namespace
}  // namespace cai::cli
