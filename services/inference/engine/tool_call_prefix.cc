#include "services/inference/engine/tool_call_prefix.h"

#include "services/inference/engine/tokenizer/chat_template.h"

namespace cai::inference {

ToolCallPrefix::ToolCallPrefix(const ToolSet& tools, std::optional<size_t> only)
    : tools_(&tools),
      low_(static_cast<uint16_t>(only.value_or(0))),
      high_(static_cast<uint16_t>(only ? *only + 1 : tools.size())) {}

std::optional<size_t> ToolCallPrefix::tool() const {
  if (stage_ == Stage::kOpen || stage_ == Stage::kName) return std::nullopt;
  return low_;
}

bool ToolCallPrefix::Step(uint8_t byte) {
  part_ = Part::kSyntax;
  switch (stage_) {
    case Stage::kOpen:
      if (byte != static_cast<uint8_t>(kLlama3ToolCallOpen[matched_])) return false;
      if (++matched_ == kLlama3ToolCallOpen.size()) {
        stage_ = Stage::kName;
        matched_ = 0;
      }
      return true;
    case Stage::kName:
      return NameByte(byte);
    case Stage::kMiddle:
      if (byte != static_cast<uint8_t>(kLlama3ToolCallMiddle[matched_])) return false;
      if (++matched_ == kLlama3ToolCallMiddle.size()) {
        stage_ = Stage::kArguments;
        arguments_.emplace(*tools_->tool(low_).parameters);
      }
      return true;
    case Stage::kArguments:
      // The arguments object's own closing brace makes it complete; the next is the call's.
      if (arguments_->complete()) {
        if (byte != static_cast<uint8_t>(kLlama3ToolCallClose[0])) return false;
        stage_ = Stage::kDone;
        return true;
      }
      part_ = Part::kArguments;
      return arguments_->FeedOrSpoil(byte);
    case Stage::kDone:
      return false;
  }
  return false;
}

// Names are sorted and those in [low_, high_) share the matched_ bytes so far, so the ones that
// go on with `byte` are a range within it; a name that ends here sorts first.
bool ToolCallPrefix::NameByte(uint8_t byte) {
  const auto name = [&](uint16_t i) -> std::string_view { return tools_->tool(i).name; };
  if (byte == static_cast<uint8_t>(kLlama3ToolCallMiddle[0])) {  // the closing quote
    if (name(low_).size() != matched_) return false;
    high_ = static_cast<uint16_t>(low_ + 1);
    stage_ = Stage::kMiddle;
    matched_ = 1;
    return true;
  }
  const auto goes_on = [&](uint16_t i) {
    return name(i).size() > matched_ && static_cast<uint8_t>(name(i)[matched_]) == byte;
  };
  uint16_t low = low_;
  while (low < high_ && !goes_on(low)) ++low;
  uint16_t high = low;
  while (high < high_ && goes_on(high)) ++high;
  if (low == high) return false;
  low_ = low;
  high_ = high;
  ++matched_;
  part_ = Part::kName;
  return true;
}

}  // namespace cai::inference
