#pragma once

#include <string>

#include "absl/status/status.h"

namespace cai::cli {

// One grpc.health.v1 Check against `address` ("unix:/path" or "host:port"); OK when SERVING.
absl::Status CheckGrpcHealth(const std::string& address, int timeout_ms);

// `cai health grpc ADDRESS` | `cai health http URL`: exit 0 when healthy (for container healthchecks).
int RunHealth(const std::vector<std::string>& args);

}  // namespace cai::cli
