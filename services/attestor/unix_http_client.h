#pragma once

// One HTTP/1.1 request over a unix stream socket (how the dstack guest agent is reached), with a
// deadline over the whole exchange and limits on what the peer may send back.
#include <chrono>
#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace cai {

struct UnixHttpLimits {
  std::chrono::milliseconds timeout{30000};  // connect + write + read, all together
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 4 * 1024 * 1024;
};

struct UnixHttpResponse {
  int status = 0;
  std::string body;
};

// `json_body` empty means GET, otherwise POST with Content-Type: application/json.
// Unavailable when the socket cannot be reached or the answer is malformed or too large;
// DeadlineExceeded when the whole exchange takes longer than limits.timeout.
absl::StatusOr<UnixHttpResponse> UnixHttpRequest(const std::string& socket_path, const std::string& target,
                                                 const std::string& json_body, const UnixHttpLimits& limits);

}  // namespace cai
