#include "services/inference/engine/call_or_json_prefix.h"

namespace cai::inference {

JsonPrefix::StringPosition CallOrJsonPrefix::string_position() const {
  const auto json = [&] { return std::visit([](const auto& j) { return j.string_position(); }, json_); };
  if (!json_possible_) return call_.string_position();
  if (!call_possible_) return json();
  return call_.string_position() == json() ? json() : JsonPrefix::StringPosition::kOutside;
}

// A reading that refuses the byte is dropped (its state is then unspecified, and never read again).
bool CallOrJsonPrefix::Step(uint8_t byte) {
  if (call_possible_) call_possible_ = call_.FeedOrSpoil(byte);
  if (json_possible_) json_possible_ = std::visit([&](auto& json) { return json.FeedOrSpoil(byte); }, json_);
  return call_possible_ || json_possible_;
}

}  // namespace cai::inference
