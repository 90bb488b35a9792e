#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace cai {

// absl::Status is the error type inside every service; these convert at the RPC boundary.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace cai
