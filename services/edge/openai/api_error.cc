#include "services/edge/openai/api_error.h"

#include <nlohmann/json.hpp>

#include "services/edge/openai/json_text.h"

namespace cai::openai {

ApiError InvalidRequest(std::string message, std::string param) {
  return ApiError{.status = 400,
                  .type = "invalid_request_error",
                  .message = std::move(message),
                  .param = std::move(param),
                  .code = ""};
}

std::string RenderError(const ApiError& error) {
  auto or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
  };
  nlohmann::ordered_json body;
  body["error"]["message"] = error.message;
  body["error"]["type"] = error.type;
  body["error"]["param"] = or_null(error.param);
  body["error"]["code"] = or_null(error.code);
  return JsonText(body);
}

}  // namespace cai::openai
