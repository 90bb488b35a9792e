#include "tools/cai/http_client.h"

#include <cstdint>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace cai::cli {

std::string ServiceRootUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.ends_with("/v1")) url.resize(url.size() - 3);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

struct ParsedUrl {
  std::string host;
  std::string port;
  std::string path_prefix;
};

absl::StatusOr<ParsedUrl> ParseHttpUrl(absl::string_view url) {
  if (!absl::ConsumePrefix(&url, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat("only http:// URLs are supported: ", url));
  }
  ParsedUrl out;
  size_t slash = url.find('/');
  absl::string_view authority = url.substr(0, slash);
  out.path_prefix = slash == absl::string_view::npos ? "" : std::string(url.substr(slash));
  while (!out.path_prefix.empty() && out.path_prefix.back() == '/') out.path_prefix.pop_back();
  size_t colon = authority.rfind(':');
  if (colon == absl::string_view::npos) {
    out.host = std::string(authority);
    out.port = "80";
  } else {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
  }
  if (out.host.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in URL: ", url));
  return out;
}

// Runs the asynchronous operation `start` begins on `io` to completion and returns its error.
template <class Start>
beast::error_code Await(boost::asio::io_context& io, Start start) {
  beast::error_code result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

}  // namespace

absl::StatusOr<HttpResponse> HttpClient::Get(const std::string& path_and_query) const {
  return Send("GET", path_and_query, "");
}

absl::StatusOr<HttpResponse> HttpClient::Post(const std::string& path, const std::string& json_body) const {
  return Send("POST", path, json_body);
}

absl::StatusOr<HttpResponse> HttpClient::Send(const std::string& method, const std::string& target,
                                              const std::string& body) const {
  absl::StatusOr<ParsedUrl> url = ParseHttpUrl(base_url_);
  if (!url.ok()) return url.status();
  const std::string what = absl::StrCat(method, " ", base_url_, target);
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    // Name resolution is the system resolver's, with its own timeouts; the deadline below covers
    // everything that talks to the server.
    tcp::resolver::results_type endpoints = resolver.resolve(url->host, url->port);

    http::request<http::string_body> req(method == "POST" ? http::verb::post : http::verb::get,
                                         url->path_prefix + target, 11);
    req.set(http::field::host, url->host);
    req.set(http::field::user_agent, "cai-cli");
    if (!api_key_.empty()) req.set(http::field::authorization, "Bearer " + api_key_);
    if (method == "POST") {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }

    // One deadline for connect, send and the whole response. Beast applies it to asynchronous
    // operations only, hence Await. The header is read on its own because Boost 1.74's eager
    // parse (http::read) loses the Content-Length body_limit error when body bytes follow the
    // header in the same read.
    beast::tcp_stream stream(io);
    stream.expires_after(options_.timeout);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_body_bytes);
    beast::error_code error = Await(io, [&](auto done) { stream.async_connect(endpoints, done); });
    if (!error) error = Await(io, [&](auto done) { http::async_write(stream, req, done); });
    if (!error) error = Await(io, [&](auto done) { http::async_read_header(stream, buffer, parser, done); });
    if (!error && !parser.is_done()) {
      error = Await(io, [&](auto done) { http::async_read(stream, buffer, parser, done); });
    }
    if (error == beast::error::timeout) {
      return absl::DeadlineExceededError(absl::StrCat(
          what, ": no complete response within ", absl::FormatDuration(absl::FromChrono(options_.timeout))));
    }
    if (error == http::error::header_limit) {
      return absl::ResourceExhaustedError(
          absl::StrCat(what, ": response header larger than ", options_.max_header_bytes, " bytes"));
    }
    if (error == http::error::body_limit) {
      return absl::ResourceExhaustedError(
          absl::StrCat(what, ": response body larger than ", options_.max_body_bytes, " bytes"));
    }
    if (error) return absl::UnavailableError(absl::StrCat(what, ": ", error.message()));
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

    HttpResponse out;
    out.status = parser.get().result_int();
    out.content_type = std::string(parser.get()[http::field::content_type]);
    out.body = std::move(parser.get().body());
    return out;
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(what, ": ", e.what()));
  }
}

}  // namespace cai::cli
