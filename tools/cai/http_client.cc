#include "tools/cai/http_client.h"

#include <algorithm>
#include <cstdint>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace cai::cli {

std::string ServiceRootUrl(std::string url) {
  absl::StatusOr<HttpUrl> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) return url;
  std::string path = parsed->path_prefix;  // trailing slashes already gone
  if (absl::EndsWith(path, "/v1")) path.resize(path.size() - 3);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return absl::StrCat(parsed->tls ? "https://" : "http://", parsed->authority, path);
}

absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view text) {
  absl::string_view url(text.data(), text.size());
  HttpUrl out;
  out.tls = absl::ConsumePrefix(&url, "https://");
  if (!out.tls && !absl::ConsumePrefix(&url, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat("only http:// and https:// URLs are supported: ", url));
  }
  const size_t slash = url.find('/');
  absl::string_view authority = url.substr(0, slash);
  out.authority = std::string(authority);
  out.path_prefix = slash == absl::string_view::npos ? "" : std::string(url.substr(slash));
  while (!out.path_prefix.empty() && out.path_prefix.back() == '/') out.path_prefix.pop_back();
  absl::string_view host = authority, port;
  bool has_port = false;
  if (absl::ConsumePrefix(&host, "[")) {  // an IPv6 literal ("[::1]:8443"): its colons are not the port's
    const size_t close = host.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("unclosed [ in URL: ", url));
    }
    absl::string_view rest = host.substr(close + 1);
    host = host.substr(0, close);
    has_port = absl::ConsumePrefix(&rest, ":");
    if (!has_port && !rest.empty()) return absl::InvalidArgumentError(absl::StrCat("text after ] in URL: ", url));
    port = rest;
  } else if (const size_t colon = authority.find(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  int port_number = 0;
  if (has_port && (!absl::SimpleAtoi(port, &port_number) || port_number < 1 || port_number > 65535 ||
                   !std::all_of(port.begin(), port.end(), absl::ascii_isdigit))) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in URL: ", url));
  }
  if (host.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in URL: ", url));
  out.host = std::string(host);
  out.port = has_port ? std::string(port) : (out.tls ? "443" : "80");
  return out;
}

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

// Runs the asynchronous operation `start` begins on `io` to completion and returns its error.
template <class Start>
beast::error_code Await(boost::asio::io_context& io, Start start) {
  beast::error_code result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

// Sends the request and reads the whole response. The header is read on its own because Boost
// 1.74's eager parse (http::read) loses the Content-Length body_limit error when body bytes follow
// the header in the same read.
template <class Stream>
beast::error_code Exchange(boost::asio::io_context& io, Stream& stream, http::request<http::string_body>& req,
                           beast::flat_buffer& buffer, http::response_parser<http::string_body>& parser) {
  beast::error_code error = Await(io, [&](auto done) { http::async_write(stream, req, done); });
  if (!error) error = Await(io, [&](auto done) { http::async_read_header(stream, buffer, parser, done); });
  if (!error && !parser.is_done()) error = Await(io, [&](auto done) { http::async_read(stream, buffer, parser, done); });
  return error;
}

// The system's roots, or only those in `ca_file` (a service with its own certificate).
absl::Status TrustRoots(ssl::context& context, const std::string& ca_file) {
  beast::error_code error;
  context.set_verify_mode(ssl::verify_peer, error);
  if (ca_file.empty()) {
    context.set_default_verify_paths(error);
  } else {
    context.load_verify_file(ca_file, error);
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(context.native_handle()), X509_V_FLAG_PARTIAL_CHAIN);
  }
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat("TLS: cannot load the trusted roots",
                                                   ca_file.empty() ? "" : " from " + ca_file, ": ", error.message()));
  }
  return absl::OkStatus();
}

// The certificate must name `host` (a DNS name, or an IP address in its SAN); SNI carries names.
absl::Status ExpectServerName(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1) return absl::OkStatus();
  ERR_clear_error();
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1 || X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("TLS: bad host name ", host));
  }
  return absl::OkStatus();
}

// Why the server's certificate was refused, when it was.
template <class Stream>
std::string VerifyFailure(Stream& stream) {
  const long result = SSL_get_verify_result(stream.native_handle());
  if (result == X509_V_OK) return "";
  return absl::StrCat(" (certificate: ", X509_verify_cert_error_string(result), ")");
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (beast::iequals(field, beast::string_view(name.data(), name.size()))) return value;
  }
  return "";
}

absl::StatusOr<HttpResponse> HttpClient::Get(const std::string& path_and_query) const {
  return Send("GET", path_and_query, "", {});
}

absl::StatusOr<HttpResponse> HttpClient::Post(const std::string& path, const std::string& json_body,
                                              const HttpHeaders& headers) const {
  return Send("POST", path, json_body, headers);
}

absl::StatusOr<HttpResponse> HttpClient::Send(const std::string& method, const std::string& target,
                                              const std::string& body, const HttpHeaders& headers) const {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(base_url_);
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
    req.set(http::field::host, url->host.find(':') == std::string::npos ? url->host : "[" + url->host + "]");
    req.set(http::field::user_agent, "cai-cli");
    if (!api_key_.empty()) req.set(http::field::authorization, "Bearer " + api_key_);
    for (const auto& [name, value] : headers) req.set(name, value);
    if (method == "POST") {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }

    // One deadline for connect, TLS handshake, send and the whole response. Beast applies it to
    // asynchronous operations only, hence Await.
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_body_bytes);
    beast::error_code error;
    if (url->tls) {
      ssl::context context(ssl::context::tls_client);
      absl::Status trusted = TrustRoots(context, options_.tls_ca_file);
      if (!trusted.ok()) return trusted;
      ssl::stream<beast::tcp_stream> stream(io, context);
      if (!options_.insecure_skip_tls_host_check) {
        absl::Status named = ExpectServerName(stream.native_handle(), url->host);
        if (!named.ok()) return named;
      }
      beast::get_lowest_layer(stream).expires_after(options_.timeout);
      error = Await(io, [&](auto done) { beast::get_lowest_layer(stream).async_connect(endpoints, done); });
      if (!error) error = Await(io, [&](auto done) { stream.async_handshake(ssl::stream_base::client, done); });
      if (!error) error = Exchange(io, stream, req, buffer, parser);
      if (error.category() == boost::asio::error::get_ssl_category()) {
        return absl::UnavailableError(absl::StrCat(what, ": TLS: ", error.message(), VerifyFailure(stream)));
      }
    } else {
      beast::tcp_stream stream(io);
      stream.expires_after(options_.timeout);
      error = Await(io, [&](auto done) { stream.async_connect(endpoints, done); });
      if (!error) error = Exchange(io, stream, req, buffer, parser);
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

    HttpResponse out;
    out.status = parser.get().result_int();
    for (const auto& field : parser.get()) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(parser.get().body());
    return out;
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(what, ": ", e.what()));
  }
}

}  // namespace cai::cli
