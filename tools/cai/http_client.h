#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cai::cli {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // every field, in order
  std::string body;     // exact bytes (chunked encoding removed)

  // The first field named `name` (case-insensitive), or "" when there is none.
  std::string Header(std::string_view name) const;
};

// Bounds on one request: the service at the other end may be the one under verification, so a
// stalled or flooding server must end in an error, not a hang or an out-of-memory.
struct HttpClientOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // connect + send + whole response
  size_t max_header_bytes = 64 << 10;
  size_t max_body_bytes = 8 << 20;
  // https: trust only the certificates in this PEM file, as anchors even when not self-signed (a
  // pin), instead of the system's roots.
  std::string tls_ca_file;
  // https: skip the check that the certificate names the URL's host. Only for a pinned certificate
  // reached by address: `cai up` checking the edge it started on loopback.
  bool insecure_skip_tls_host_check = false;
};

// An edge reached by address whose own certificate is at hand (`cai up` checking the edge it
// started, the compose health check): trust only `certificate_file`, whatever name it carries.
inline void PinStartedEdgeCertificate(HttpClientOptions& options, std::string certificate_file) {
  options.tls_ca_file = std::move(certificate_file);
  options.insecure_skip_tls_host_check = true;
}

// "http[s]://host[:port][/prefix]", the host a name, an IPv4 address or a bracketed IPv6 one.
struct HttpUrl {
  bool tls = false;
  std::string authority;    // as written: host, brackets and port if any
  std::string host;         // without brackets
  std::string port;         // 80 or 443 when the URL names none
  std::string path_prefix;  // without trailing slashes
};
absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

// The service's root URL from what a user pastes: trailing slashes dropped, and a trailing "/v1"
// too, since clients are configured with ".../v1" (the base_url `cai up` prints) while the edge's
// routes (/v1/..., /health) hang off the root. A URL ParseHttpUrl refuses comes back as it is, for
// the client to report.
std::string ServiceRootUrl(std::string url);

// A minimal blocking HTTP/1.1 client ("http[s]://host:port/path?query"); enough for `cai up` and
// `cai verify` to talk to the edge. One connection per request. Over https the server's
// certificate must chain to a trusted root and name the URL's host.
class HttpClient {
 public:
  explicit HttpClient(std::string base_url, std::string api_key = "", HttpClientOptions options = {})
      : base_url_(std::move(base_url)), api_key_(std::move(api_key)), options_(options) {}

  absl::StatusOr<HttpResponse> Get(const std::string& path_and_query) const;
  absl::StatusOr<HttpResponse> Post(const std::string& path, const std::string& json_body,
                                    const HttpHeaders& headers = {}) const;

 private:
  absl::StatusOr<HttpResponse> Send(const std::string& method, const std::string& target, const std::string& body,
                                    const HttpHeaders& headers) const;
  std::string base_url_;
  std::string api_key_;
  HttpClientOptions options_;
};

}  // namespace cai::cli
