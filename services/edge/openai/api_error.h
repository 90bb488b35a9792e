#pragma once

#include <string>

namespace cai::openai {

// An error as the OpenAI API reports it: an HTTP status and {"error":{message,type,param,code}}.
// Empty `param` / `code` render as null.
struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";
  std::string message;
  std::string param;
  std::string code;
};

ApiError InvalidRequest(std::string message, std::string param = "");

// {"error":{"message":...,"type":...,"param":...,"code":...}}, compact, in that order.
std::string RenderError(const ApiError& error);

}  // namespace cai::openai
