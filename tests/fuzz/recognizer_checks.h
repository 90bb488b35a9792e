#pragma once

// What the fuzz targets of the byte recognizers (JsonSchemaPrefix, ToolCallPrefix,
// CallOrJsonPrefix) check the same way.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cai::inference::fuzz {

// Feeds `text` to `state` up to the first byte it refuses, aborting where Feed and FeedOrSpoil
// disagree on a byte; calls `on_byte(byte)` after each byte taken. Whether every byte was taken.
template <typename State, typename OnByte>
bool FeedAgreeing(State& state, std::string_view text, OnByte on_byte) {
  for (char c : text) {
    State spoiled = state;
    const bool admitted = state.Feed(static_cast<uint8_t>(c));
    if (spoiled.FeedOrSpoil(static_cast<uint8_t>(c)) != admitted) std::abort();
    if (!admitted) return false;
    on_byte(c);
  }
  return true;
}

template <typename State>
bool FeedAgreeing(State& state, std::string_view text) {
  return FeedAgreeing(state, text, [](char) {});
}

// The value of a text a recognizer called whole, which must be JSON (abort otherwise); nullopt for
// a number beyond a double's range, which is JSON but which nlohmann refuses.
inline std::optional<nlohmann::json> ParseWholeText(std::string_view text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::out_of_range&) {
    return std::nullopt;
  } catch (const nlohmann::json::parse_error&) {
    std::abort();
  }
}

}  // namespace cai::inference::fuzz
