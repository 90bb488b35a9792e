#include "services/edge/backend_call.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace cai::edge {

openai::ApiError BackendError(const grpc::Status& status, std::string_view backend_name) {
  const std::string backend(backend_name);
  openai::ApiError error;
  error.message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      error.status = 400;
      error.type = "invalid_request_error";
      break;
    case grpc::StatusCode::NOT_FOUND:
      error.status = 404;
      error.type = "not_found";
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      error.status = 429;
      error.type = "rate_limit_error";
      break;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      error.status = 503;
      error.type = "service_unavailable";
      error.message = absl::StrCat("The ", backend, " service is unavailable; retry later.");
      break;
    default:
      error.status = 500;
      error.type = "server_error";
      error.message = absl::StrCat("Internal error in the ", backend, " service.");
  }
  return error;
}

}  // namespace cai::edge
