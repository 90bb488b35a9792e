#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace cai::openai {

// Compact JSON text, as every body the edge writes (and signs) is rendered. Invalid UTF-8 (a
// client's bytes quoted in a message, a piece of a character) is replaced, never a failure
// mid-response.
inline std::string JsonText(const nlohmann::ordered_json& json) {
  return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace cai::openai
