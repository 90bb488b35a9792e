// Fuzzes tool calls: the input is a tool's parameters schema (JSON text), a NUL byte, then a text.
// The tool set ("f" with that schema and `strict` off, so value assertions are ignored and a schema
// the compiler refuses means any object; "f_2", a name "f" begins; "g", which takes no arguments)
// must compile or refuse without crashing. The text is fed to ToolCallPrefix up to the first byte
// it refuses: Feed and FeedOrSpoil must agree on every byte, and a text it calls whole must be the
// Llama 3.1 layout around a tool's name, with part() telling exactly the name and the arguments,
// and arguments that are an object satisfying that tool's schema as a direct reading of it
// (tests/unit/inference/json_schema_oracle.h) has it. The text is also read as a reply that may be
// a call or the answer to f's schema (CallOrJsonPrefix), which must be one or the other when whole.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "services/inference/engine/call_or_json_prefix.h"
#include "services/inference/engine/tokenizer/chat_template.h"
#include "services/inference/engine/tool_call_prefix.h"
#include "services/inference/engine/tool_set.h"
#include "tests/fuzz/recognizer_checks.h"
#include "tests/unit/inference/json_schema_oracle.h"

using cai::inference::ToolCallPrefix;
using cai::inference::ToolSet;

namespace {

constexpr const char* kF2 = R"({"type":"object","properties":{"x":{"enum":[1,"a",null]}},"required":["x"]})";
constexpr const char* kNone = R"({"type":"object","additionalProperties":false})";

// The schema text a tool's arguments are read against: "f"'s the input's, which, empty, means the
// tool takes no arguments (as "g").
const char* ParametersText(std::string_view name, const std::string& schema_text) {
  if (name == "f_2") return kF2;
  return name == "f" && !schema_text.empty() ? schema_text.c_str() : kNone;
}

// The same text as a reply that may be a call or the answer to `schema_text` (tool_choice auto with
// a json_schema response_format): Feed and FeedOrSpoil agree, and a whole text is one or the other.
void CheckCallOrAnswer(const ToolSet& tools, const std::string& schema_text, std::string_view text) {
  const std::shared_ptr<const cai::inference::JsonSchema>& answer = tools.tool(tools.Find("f")).parameters;
  if (answer == cai::inference::JsonSchema::AnyObject()) return;  // fell back: no schema to check the answer by
  cai::inference::CallOrJsonPrefix state{ToolCallPrefix(tools), cai::inference::JsonSchemaPrefix(*answer)};
  if (!cai::inference::fuzz::FeedAgreeing(state, text) || !state.complete()) return;
  const std::optional<nlohmann::json> value = cai::inference::fuzz::ParseWholeText(text);  // either reading is JSON
  if (!value) return;
  if (state.call_possible() && state.call().complete()) return;  // the call is checked below
  const nlohmann::json schema = nlohmann::json::parse(ParametersText("f", schema_text));
  if (!state.json_possible() || !cai::inference::testing::Satisfies(*value, schema, schema)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  if (split == std::string_view::npos) return 0;
  const std::string schema_text(input.substr(0, split));
  const std::string_view text = input.substr(split + 1);
  auto tools = ToolSet::Compile({{.name = "f", .parameters = schema_text, .strict = false},
                                 {.name = "f_2", .parameters = kF2, .strict = false},
                                 {.name = "g", .parameters = "", .strict = false}});
  if (!tools.ok()) return 0;

  CheckCallOrAnswer(**tools, schema_text, text);
  ToolCallPrefix state(**tools);
  std::string name, arguments;
  const bool taken = cai::inference::fuzz::FeedAgreeing(state, text, [&](char c) {
    if (state.part() == ToolCallPrefix::Part::kName) name += c;
    if (state.part() == ToolCallPrefix::Part::kArguments) arguments += c;
  });
  if (!taken || !state.complete()) return 0;

  const std::string expected = std::string(cai::inference::kLlama3ToolCallOpen) + name +
                               std::string(cai::inference::kLlama3ToolCallMiddle) + arguments +
                               std::string(cai::inference::kLlama3ToolCallClose);
  if (text != expected || !state.tool() || (*tools)->tool(*state.tool()).name != name) std::abort();
  const std::optional<nlohmann::json> value = cai::inference::fuzz::ParseWholeText(arguments);
  if (!value) return 0;
  if (!value->is_object()) std::abort();
  if ((*tools)->tool(*state.tool()).parameters == cai::inference::JsonSchema::AnyObject()) return 0;  // fell back: any object
  const nlohmann::json schema = nlohmann::json::parse(ParametersText(name, schema_text));
  if (!cai::inference::testing::Satisfies(*value, schema, schema)) std::abort();
  return 0;
}
