#include "services/attestor/unix_http_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <exception>

#include "absl/strings/str_cat.h"

namespace cai {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using UnixSocket = asio::local::stream_protocol::socket;

}  // namespace

absl::StatusOr<UnixHttpResponse> UnixHttpRequest(const std::string& socket_path, const std::string& target,
                                                 const std::string& json_body, const UnixHttpLimits& limits) {
  const std::string where = absl::StrCat(json_body.empty() ? "GET " : "POST ", target, " on ", socket_path);
  try {
    asio::io_context io;
    UnixSocket socket(io);
    http::request<http::string_body> request(json_body.empty() ? http::verb::get : http::verb::post, target, 11);
    request.set(http::field::host, "localhost");  // the agent ignores the host
    request.set(http::field::user_agent, "cai-attestor");
    if (!json_body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = json_body;
    }
    request.prepare_payload();
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);

    // Async steps driven by run_for: the deadline covers the whole exchange, however slowly the
    // peer trickles bytes.
    bool finished = false;
    beast::error_code failure;
    const char* step = "connect to";
    auto finish = [&](beast::error_code ec) {
      failure = ec;
      finished = true;
    };
    socket.async_connect(asio::local::stream_protocol::endpoint(socket_path), [&](beast::error_code ec) {
      if (ec) return finish(ec);
      step = "send";
      http::async_write(socket, request, [&](beast::error_code ec, size_t) {
        if (ec) return finish(ec);
        step = "read the answer to";
        http::async_read_header(socket, buffer, parser, [&](beast::error_code ec, size_t) {
          if (ec) return finish(ec);
          // Beast 1.74 skips body_limit for a Content-Length body read eagerly: check it here.
          if (parser.content_length().value_or(0) > limits.max_body_bytes) return finish(http::error::body_limit);
          http::async_read(socket, buffer, parser, [&](beast::error_code ec, size_t) { finish(ec); });
        });
      });
    });
    io.run_for(limits.timeout);
    if (!finished) {
      return absl::DeadlineExceededError(
          absl::StrCat("no complete answer to ", where, " within ", limits.timeout.count(), " ms"));
    }
    if (failure) {
      return absl::UnavailableError(absl::StrCat("cannot ", step, " ", where, ": ", failure.message()));
    }
    if (parser.get().body().size() > limits.max_body_bytes) {
      return absl::UnavailableError(absl::StrCat("answer to ", where, " exceeds ", limits.max_body_bytes, " bytes"));
    }
    UnixHttpResponse response;
    response.status = static_cast<int>(parser.get().result_int());
    response.body = std::move(parser.get().body());
    return response;
  } catch (const std::exception& e) {  // e.g. a socket path longer than sun_path
    return absl::UnavailableError(absl::StrCat("cannot reach ", where, ": ", e.what()));
  }
}

}  // namespace cai
