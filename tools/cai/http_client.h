#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace cai::cli {

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;  // exact bytes (chunked encoding removed)
};

// A minimal blocking HTTP/1.1 client for plain-http URLs ("http://host:port/path?query"); enough
// for `cai up` and `cai verify` to talk to the edge. One connection per request.
class HttpClient {
 public:
  explicit HttpClient(std::string base_url, std::string api_key = "")
      : base_url_(std::move(base_url)), api_key_(std::move(api_key)) {}

  absl::StatusOr<HttpResponse> Get(const std::string& path_and_query) const;
  absl::StatusOr<HttpResponse> Post(const std::string& path, const std::string& json_body) const;

 private:
  absl::StatusOr<HttpResponse> Send(const std::string& method, const std::string& target,
                                    const std::string& body) const;
  std::string base_url_;
  std::string api_key_;
};

}  // namespace cai::cli
