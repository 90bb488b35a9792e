#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/common/inference_protocol.h"
#include "services/inference/engine/json_schema.h"

namespace cai::inference {

// Whether and how a chat request's model calls one of its tools (OpenAI's tool_choice).
enum class ToolChoice {
  kNone,      // text only (the tools are still shown to the model)
  kAuto,      // text, or one call: a reply that starts with '{' is drawn to be a call
  kRequired,  // one call to one of the tools
  kNamed,     // one call to one named tool
};

// The functions a request lets the model call, each with its arguments' schema compiled: what a
// tool call may be (ToolCallPrefix). Sorted by name, so the names a call has begun to write are a
// range. Immutable; shared by a request's choices.
class ToolSet {
 public:
  static constexpr size_t kMaxTools = ::cai::kMaxTools;  // lib/common/inference_protocol.h
  static constexpr size_t kMaxNameBytes = ::cai::kMaxToolNameBytes;

  struct Tool {
    std::string name;
    // Never null: JsonSchema::AnyObject() for a tool that is not strict and whose schema the
    // compiler refuses, JsonSchema::EmptyObject() for one that takes no arguments.
    std::shared_ptr<const JsonSchema> parameters;
  };
  struct Definition {
    std::string name;        // 1..kMaxNameBytes of [A-Za-z0-9_-], unique
    std::string parameters;  // JSON Schema text of the arguments object; empty: takes none
    // Refuse the value assertions calls could miss (minimum, pattern, ...) rather than ignore
    // them: OpenAI's `strict`, without which it does not promise them either.
    bool strict = false;
  };

  // InvalidArgument naming the tool for a bad name or a duplicate, or, for a strict tool,
  // parameters the schema compiler refuses (in its words). A tool that is not strict is held to
  // what the compiler takes of its schema, with value assertions ignored, and to any JSON object
  // when it takes nothing (allOf, a root without "type": "object", ...): OpenAI promises nothing
  // more for such a tool, and a client's validator still sees an object. A function without
  // parameters takes exactly {}.
  static absl::StatusOr<std::shared_ptr<const ToolSet>> Compile(const std::vector<Definition>& definitions);

  size_t size() const { return tools_.size(); }
  const Tool& tool(size_t i) const { return tools_[i]; }
  // The index of the tool called `name`, or size() if there is none.
  size_t Find(std::string_view name) const;

 private:
  std::vector<Tool> tools_;  // by name
};

}  // namespace cai::inference
