#pragma once

#include <chrono>
#include <string_view>

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "services/edge/openai/api_error.h"

namespace cai::edge {

// What the edge's calls to its backends share: their deadlines and how their failures read to a
// client.

// A unary call to the signer, the attestor or inference's model list.
inline constexpr auto kRpcTimeout = std::chrono::seconds(10);

inline void SetDeadline(grpc::ClientContext& context, std::chrono::system_clock::duration timeout) {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

// grpc status → OpenAI error: INVALID_ARGUMENT 400, NOT_FOUND 404, RESOURCE_EXHAUSTED 429,
// UNAVAILABLE / DEADLINE_EXCEEDED 503, anything else 500.
openai::ApiError BackendError(const grpc::Status& status, std::string_view backend);

}  // namespace cai::edge
