#pragma once

#include <cstdint>
#include <variant>

#include "services/inference/engine/byte_recognizer.h"
#include "services/inference/engine/json_prefix.h"
#include "services/inference/engine/json_schema_prefix.h"
#include "services/inference/engine/tool_call_prefix.h"

namespace cai::inference {

// A reply under tool_choice auto with a JSON response_format: one tool call, or the JSON answer
// (an object, or a text the schema admits). Both begin with '{', so both are followed, byte by
// byte, until the bytes rule one out: usually within a few bytes, where the answer's first key
// differs from "name". The same contract as JsonPrefix, so the token mask serves it too: a byte
// may come next when either may take it, and the text is complete when either is whole (a text
// that is both, an answer the schema lets look exactly like a call, counts as the call).
class CallOrJsonPrefix : public ByteRecognizer<CallOrJsonPrefix> {
 public:
  using Json = std::variant<JsonPrefix, JsonSchemaPrefix>;

  CallOrJsonPrefix(ToolCallPrefix call, Json json) : call_(std::move(call)), json_(std::move(json)) {}

  bool complete() const { return (call_possible_ && call_.complete()) || (json_possible_ && JsonComplete()); }
  // Where a string is, when the possible readings agree on it (the token mask's shortcut inside
  // strings needs one answer); kOutside, so the mask walks every token, when they do not.
  JsonPrefix::StringPosition string_position() const;

  // Whether the bytes so far may still become a call, and the JSON answer.
  bool call_possible() const { return call_possible_; }
  bool json_possible() const { return json_possible_; }
  const ToolCallPrefix& call() const { return call_; }

 private:
  friend class ByteRecognizer<CallOrJsonPrefix>;

  bool Step(uint8_t byte);
  bool JsonComplete() const {
    return std::visit([](const auto& json) { return json.complete(); }, json_);
  }

  ToolCallPrefix call_;
  Json json_;
  bool call_possible_ = true;
  bool json_possible_ = true;
};

}  // namespace cai::inference
