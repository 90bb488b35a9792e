#include "services/attestor/dstack_provider.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "lib/attestation/simulated_tdx.h"
#include "tests/unit/attestor/shared_simulated_tdx.h"
#include "lib/attestation/tdx_quote.h"
#include "lib/common/hex.h"

namespace cai {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

std::string UniqueSocketPath() {
  static std::atomic<int> counter{0};
  return "/tmp/cai-dstack-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".sock";
}

Response JsonResponse(http::status status, const std::string& body) {
  Response response(status, 11);
  response.set(http::field::content_type, "application/json");
  response.body() = body;
  response.prepare_payload();
  return response;
}

// A stand-in for the dstack guest agent: a real HTTP/1.1 server (Boost.Beast) on a unix socket,
// one connection at a time, answering with `handler`. Records every request it got.
class TestDstackAgent {
 public:
  using Handler = std::function<Response(const Request&)>;

  explicit TestDstackAgent(Handler handler) : path_(UniqueSocketPath()), handler_(std::move(handler)) {
    std::remove(path_.c_str());
    acceptor_.open(local());
    acceptor_.bind(local::endpoint(path_));
    acceptor_.listen();
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestDstackAgent() {
    stopping_ = true;
    {  // wake the blocking accept
      local::socket poke(io_);
      beast::error_code ec;
      poke.connect(local::endpoint(path_), ec);
    }
    thread_.join();
    std::remove(path_.c_str());
  }

  const std::string& path() const { return path_; }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stopping_) {
      local::socket socket(io_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) continue;
      beast::flat_buffer buffer;
      Request request;
      http::read(socket, buffer, request, ec);
      if (ec) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
      }
      Response response = handler_(request);
      http::write(socket, response, ec);
      socket.shutdown(local::socket::shutdown_both, ec);
    }
  }

  const std::string path_;
  Handler handler_;
  asio::io_context io_;
  local::acceptor acceptor_{io_};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Request> requests_;
};

constexpr char kEventLog[] = R"([{"imr":3,"event_type":134217729,"digest":"ab","event":"app-id","event_payload":"01"}])";
constexpr char kVmConfig[] = R"({"cpu_count":8,"memory_size":17179869184})";

SimulatedTdx& Tdx() { return SharedSimulatedTdx(); }

Response InfoResponse() {
  return JsonResponse(http::status::ok, nlohmann::json{{"app_id", "c0ffee"},
                                                       {"instance_id", "i-1"},
                                                       {"app_name", "cai"},
                                                       {"compose_hash", "abcd"},
                                                       {"tcb_info", "{ big and not published }"},
                                                       {"app_cert", "-----BEGIN CERTIFICATE-----"}}
                                            .dump());
}

// The real agent's behaviour; `mutate` may change the GetQuote answer before it is sent.
TestDstackAgent::Handler Agent(std::function<void(nlohmann::json&)> mutate = nullptr) {
  return [mutate](const Request& request) -> Response {
    if (request.target() == "/Info") return InfoResponse();
    if (request.target() != "/GetQuote") return JsonResponse(http::status::not_found, R"({"error":"no such method"})");
    nlohmann::json body = nlohmann::json::parse(request.body(), nullptr, false);
    absl::StatusOr<std::vector<uint8_t>> report_data =
        HexDecodeExact(body.value("report_data", std::string()), 64);
    if (!report_data.ok()) return JsonResponse(http::status::bad_request, R"({"error":"bad report_data"})");
    absl::StatusOr<std::vector<uint8_t>> quote = Tdx().Quote(std::span<const uint8_t, 64>(report_data->data(), 64));
    nlohmann::json answer = {{"quote", HexEncode(*quote)},
                             {"event_log", kEventLog},
                             {"report_data", HexEncode(*report_data)},
                             {"vm_config", kVmConfig}};
    if (mutate) mutate(answer);
    return JsonResponse(http::status::ok, answer.dump());
  };
}

std::array<uint8_t, 64> ReportData(uint8_t seed) {
  std::array<uint8_t, 64> data;
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(seed + i * 7);
  return data;
}

absl::StatusOr<TdxEvidence> QuoteFrom(TestDstackAgent& agent, const std::array<uint8_t, 64>& report_data,
                                      const UnixHttpLimits& limits = {}) {
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> provider = MakeDstackProvider(agent.path(), limits);
  if (!provider.ok()) return provider.status();
  return (*provider)->Quote(report_data);
}

void ExpectError(const absl::StatusOr<TdxEvidence>& result, const std::string& fragment) {
  ASSERT_FALSE(result.ok()) << "expected an error containing: " << fragment;
  EXPECT_NE(std::string(result.status().message()).find(fragment), std::string::npos) << result.status();
}

TEST(DstackProviderTest, QuoteCarriesOurReportDataAndTheAgentsLogs) {
  TestDstackAgent agent(Agent());
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> provider = MakeDstackProvider(agent.path());
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ((*provider)->name(), "dstack");
  EXPECT_FALSE((*provider)->simulated());

  const std::array<uint8_t, 64> report_data = ReportData(3);
  absl::StatusOr<TdxEvidence> evidence = (*provider)->Quote(report_data);
  ASSERT_TRUE(evidence.ok()) << evidence.status();
  absl::StatusOr<TdxQuote> quote = ParseTdxQuote(evidence->quote);
  ASSERT_TRUE(quote.ok()) << quote.status();
  EXPECT_EQ(quote->body.report_data, report_data);
  EXPECT_TRUE(VerifyQuoteSignature(*quote).ok());
  EXPECT_EQ(evidence->event_log, kEventLog);
  EXPECT_EQ(evidence->vm_config, kVmConfig);

  // What went over the wire: GET /Info at start, then the documented GetQuote call.
  std::vector<Request> requests = agent.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method(), http::verb::get);
  EXPECT_EQ(requests[0].target(), "/Info");
  EXPECT_EQ(requests[1].method(), http::verb::post);
  EXPECT_EQ(requests[1].target(), "/GetQuote");
  EXPECT_EQ(requests[1][http::field::content_type], "application/json");
  EXPECT_EQ(nlohmann::json::parse(requests[1].body()),
            (nlohmann::json{{"report_data", HexEncode(report_data)}}));
}

TEST(DstackProviderTest, InfoJsonCarriesTheAppIdentityOnly) {
  TestDstackAgent agent(Agent());
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> provider = MakeDstackProvider(agent.path());
  ASSERT_TRUE(provider.ok()) << provider.status();
  nlohmann::json info = nlohmann::json::parse((*provider)->info_json());
  EXPECT_EQ(info["app_id"], "c0ffee");
  EXPECT_EQ(info["instance_id"], "i-1");
  EXPECT_EQ(info["app_name"], "cai");
  EXPECT_EQ(info["compose_hash"], "abcd");
  EXPECT_EQ(info["dstack_socket"], agent.path());
  EXPECT_FALSE(info.contains("tcb_info"));
  EXPECT_FALSE(info.contains("app_cert"));
}

TEST(DstackProviderTest, QuoteForOtherReportDataIsRefused) {
  TestDstackAgent agent(Agent([](nlohmann::json& answer) {
    std::array<uint8_t, 64> other = ReportData(99);
    answer["quote"] = HexEncode(*Tdx().Quote(other));
  }));
  ExpectError(QuoteFrom(agent, ReportData(1)), "different report_data");
}

TEST(DstackProviderTest, AgentErrorsAreReportedInTheAgentsWords) {
  TestDstackAgent failing([](const Request& request) {
    if (request.target() == "/Info") return InfoResponse();
    return JsonResponse(http::status::internal_server_error, R"({"error":"quote generation failed: QGS down"})");
  });
  absl::StatusOr<TdxEvidence> result = QuoteFrom(failing, ReportData(1));
  ExpectError(result, "HTTP 500");
  ExpectError(result, "quote generation failed: QGS down");

  TestDstackAgent error_with_200(Agent([](nlohmann::json& answer) { answer = {{"error", "busy"}}; }));
  ExpectError(QuoteFrom(error_with_200, ReportData(1)), "busy");
}

TEST(DstackProviderTest, MalformedAnswersAreErrors) {
  TestDstackAgent bad_hex(Agent([](nlohmann::json& answer) { answer["quote"] = "04zz"; }));
  ExpectError(QuoteFrom(bad_hex, ReportData(1)), "not hex");

  TestDstackAgent not_a_quote(Agent([](nlohmann::json& answer) { answer["quote"] = std::string(2000, 'a'); }));
  ExpectError(QuoteFrom(not_a_quote, ReportData(1)), "does not parse");

  TestDstackAgent no_quote(Agent([](nlohmann::json& answer) { answer.erase("quote"); }));
  ExpectError(QuoteFrom(no_quote, ReportData(1)), "no quote");

  TestDstackAgent bad_log(Agent([](nlohmann::json& answer) { answer["event_log"] = "[not json"; }));
  ExpectError(QuoteFrom(bad_log, ReportData(1)), "event_log is not JSON");

  TestDstackAgent not_json([](const Request& request) {
    if (request.target() == "/Info") return InfoResponse();
    return JsonResponse(http::status::ok, "<html>hello</html>");
  });
  ExpectError(QuoteFrom(not_json, ReportData(1)), "not a JSON object");
}

TEST(DstackProviderTest, OversizedAnswerIsRefused) {
  TestDstackAgent agent(Agent([](nlohmann::json& answer) { answer["event_log"] = "[\"" + std::string(8192, 'x') + "\"]"; }));
  UnixHttpLimits limits;
  limits.max_body_bytes = 4096;  // Info fits, the padded GetQuote answer does not
  absl::StatusOr<TdxEvidence> result = QuoteFrom(agent, ReportData(1), limits);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  ExpectError(result, "body limit exceeded");

  // The same without Content-Length: a chunked body is counted as it arrives.
  TestDstackAgent chunked([](const Request& request) {
    Response response = request.target() == "/Info" ? InfoResponse() : JsonResponse(http::status::ok, std::string(8192, ' ') + "{}");
    response.chunked(true);
    return response;
  });
  ExpectError(QuoteFrom(chunked, ReportData(1), limits), "body limit exceeded");
}

TEST(DstackProviderTest, SilentAgentHitsTheDeadline) {
  std::atomic<bool> release{false};
  {
    TestDstackAgent agent([&](const Request& request) {
      if (request.target() == "/Info") return InfoResponse();
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return JsonResponse(http::status::ok, "{}");
    });
    UnixHttpLimits limits;
    // It also bounds the /Info call before the quote: long enough that a loaded machine answers it.
    limits.timeout = std::chrono::seconds(2);
    absl::StatusOr<TdxEvidence> result = QuoteFrom(agent, ReportData(1), limits);
    release = true;
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
  }
}

TEST(DstackProviderTest, NoAgentMeansNoProvider) {
  const std::string path = UniqueSocketPath();
  absl::StatusOr<std::unique_ptr<TdxQuoteProvider>> provider = MakeDstackProvider(path);
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(provider.status().message()).find(path), std::string::npos) << provider.status();

  TestDstackAgent no_info([](const Request&) { return JsonResponse(http::status::not_found, R"({"error":"x"})"); });
  provider = MakeDstackProvider(no_info.path());
  ASSERT_FALSE(provider.ok());
  EXPECT_NE(std::string(provider.status().message()).find("/Info"), std::string::npos) << provider.status();
}

TEST(DstackProviderTest, FindDstackSocketTakesTheFirstThatExists) {
  const std::string a = UniqueSocketPath(), b = UniqueSocketPath();
  std::ofstream(a) << "";
  std::ofstream(b) << "";
  EXPECT_EQ(FindDstackSocket({"/nonexistent/cai/dstack.sock", b, a}), b);
  EXPECT_EQ(FindDstackSocket({"/nonexistent/cai/dstack.sock"}), "");
  std::remove(a.c_str());
  std::remove(b.c_str());
  EXPECT_EQ(DefaultDstackSockets(), (std::vector<std::string>{"/var/run/dstack.sock", "/run/dstack.sock",
                                                               "/var/run/dstack/dstack.sock",
                                                               "/run/dstack/dstack.sock"}));
}

}  // namespace
}  // namespace cai
