// Signed chat requests per second with 1-token completions at several concurrency levels, with
// p50/p99 latency; the reference is GET /v1/models (one gRPC hop, nothing generated or signed) at
// the same concurrency, measured in the same run.
//
//   build/bin/cai-bench-chat-load --url http://127.0.0.1:8000 --model cai-demo [--api_key K]
//       [--concurrency 1,16,64] [--seconds 5]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/stats.h"

ABSL_FLAG(std::string, url, "http://127.0.0.1:8000", "edge base URL (http only)");
ABSL_FLAG(std::string, model, "cai-demo", "model id");
ABSL_FLAG(std::string, api_key, "", "API key, if the edge requires one");
ABSL_FLAG(std::string, concurrency, "1,16,64", "comma-separated client counts");
ABSL_FLAG(double, seconds, 5, "seconds per measurement");

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Result {
  double requests_per_second = 0;
  double p50_ms = 0, p99_ms = 0;
  size_t errors = 0;
};

// `clients` threads, each with one keep-alive connection, send `make_request()` until time is up.
Result Run(const std::string& host, const std::string& port, int clients, double seconds,
           const http::request<http::string_body>& request) {
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<size_t> errors{0};
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      std::vector<double> mine;
      boost::asio::io_context io;
      tcp::resolver resolver(io);
      std::optional<beast::tcp_stream> stream;
      beast::flat_buffer buffer;
      while (Clock::now() < end) {
        try {
          if (!stream) {
            stream.emplace(io);
            stream->connect(resolver.resolve(host, port));
          }
          auto t0 = Clock::now();
          http::write(*stream, request);
          http::response<http::string_body> resp;
          http::read(*stream, buffer, resp);
          if (resp.result_int() != 200) ++errors;
          mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          if (!resp.keep_alive()) stream.reset();
        } catch (const std::exception&) {
          ++errors;
          stream.reset();
        }
      }
      std::lock_guard lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  Result r;
  r.requests_per_second = latencies_ms.size() / seconds;
  r.p50_ms = cai::bench::Percentile(latencies_ms, 50);
  r.p99_ms = cai::bench::Percentile(latencies_ms, 99);
  r.errors = errors;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string url_flag = absl::GetFlag(FLAGS_url);
  absl::string_view url = url_flag;
  if (!absl::ConsumePrefix(&url, "http://")) {
    std::fprintf(stderr, "--url must start with http://\n");
    return 2;
  }
  std::vector<std::string> hp = absl::StrSplit(url, ':');
  const std::string host = hp[0], port = hp.size() > 1 ? hp[1] : "80";

  auto make = [&](http::verb verb, const std::string& target, const std::string& body) {
    http::request<http::string_body> req(verb, target, 11);
    req.set(http::field::host, host);
    req.keep_alive(true);
    if (!absl::GetFlag(FLAGS_api_key).empty()) req.set(http::field::authorization, "Bearer " + absl::GetFlag(FLAGS_api_key));
    if (verb == http::verb::post) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    return req;
  };
  const auto models = make(http::verb::get, "/v1/models", "");
  const auto chat = make(http::verb::post, "/v1/chat/completions",
                         R"({"model":")" + absl::GetFlag(FLAGS_model) +
                             R"(","messages":[{"role":"user","content":"ping"}],"max_tokens":1,"temperature":0})");

  std::printf("signed chat load, 1-token completions, %.0f s per point, %s\n", absl::GetFlag(FLAGS_seconds),
              absl::GetFlag(FLAGS_url).c_str());
  std::printf("%8s %14s %10s %10s %8s %16s %16s\n", "clients", "chat req/s", "p50 ms", "p99 ms", "errors",
              "models req/s", "chat/models");
  for (absl::string_view c : absl::StrSplit(absl::GetFlag(FLAGS_concurrency), ',')) {
    int clients = 0;
    if (!absl::SimpleAtoi(c, &clients) || clients <= 0) continue;
    Result ref = Run(host, port, clients, absl::GetFlag(FLAGS_seconds), models);
    Result r = Run(host, port, clients, absl::GetFlag(FLAGS_seconds), chat);
    std::printf("%8d %14.1f %10.2f %10.2f %8zu %16.1f %16.3f\n", clients, r.requests_per_second, r.p50_ms,
                r.p99_ms, r.errors + ref.errors, ref.requests_per_second,
                r.requests_per_second / ref.requests_per_second);
  }
  return 0;
}
