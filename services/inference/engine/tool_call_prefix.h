#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "services/inference/engine/byte_recognizer.h"
#include "services/inference/engine/json_prefix.h"
#include "services/inference/engine/json_schema_prefix.h"
#include "services/inference/engine/tool_set.h"

namespace cai::inference {

// The prefixes of one Llama 3.1 tool call to a tool of a ToolSet, recognised a byte at a time:
//   {"name": "<a tool's name>", "parameters": <an object that tool's parameters schema admits>}
// laid out exactly as the chat template renders a call (kLlama3ToolCall*), so a call reads back
// the way the model saw its earlier ones. The same contract as JsonPrefix (Feed, FeedOrSpoil,
// complete, string_position), so the token mask serves it too; and part() says what the last byte
// was, so the text can be split into the call's name and its arguments.
//
// Holds a pointer to `tools`, which must outlive it. Copied per trie node by the token mask: the
// arguments' JsonSchemaPrefix is held only once the name is known.
class ToolCallPrefix : public ByteRecognizer<ToolCallPrefix> {
 public:
  // What a byte of the call is.
  enum class Part : uint8_t {
    kSyntax,     // the fixed text around the name and the arguments
    kName,       // a byte of the tool's name
    kArguments,  // a byte of the arguments object
  };

  // A call to any of `tools`, or with `only` (an index into it), to that one.
  explicit ToolCallPrefix(const ToolSet& tools, std::optional<size_t> only = std::nullopt);

  bool complete() const { return stage_ == Stage::kDone; }
  // Inside a free string of the arguments, as JsonSchemaPrefix has it; kOutside elsewhere.
  JsonPrefix::StringPosition string_position() const {
    return stage_ == Stage::kArguments ? arguments_->string_position() : JsonPrefix::StringPosition::kOutside;
  }

  Part part() const { return part_; }
  // Once the whole name is written: the tool called, an index into the ToolSet.
  std::optional<size_t> tool() const;

 private:
  friend class ByteRecognizer<ToolCallPrefix>;

  enum class Stage : uint8_t {
    kOpen,       // {"name": "
    kName,       // one of the names in [low_, high_)
    kMiddle,     // ", "parameters": 
    kArguments,  // the arguments object, then the closing '}'
    kDone,
  };

  bool Step(uint8_t byte);
  bool NameByte(uint8_t byte);

  const ToolSet* tools_;
  Stage stage_ = Stage::kOpen;
  Part part_ = Part::kSyntax;
  uint16_t matched_ = 0;  // kOpen, kMiddle: bytes of the fixed text; kName: bytes of the name
  uint16_t low_ = 0;      // the tools whose names begin with the name's bytes so far
  uint16_t high_ = 0;
  // kArguments on: the chosen tool's parameters.
  std::optional<JsonSchemaPrefix> arguments_;
};

}  // namespace cai::inference
