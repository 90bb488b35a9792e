// Fuzzes structured outputs: the input is a schema's JSON text, a NUL byte, then a text. The
// schema compiler must refuse or compile any schema without crashing; with a compiled schema, the
// text is fed to JsonSchemaPrefix up to the first byte it refuses, Feed and FeedOrSpoil must agree
// on every byte, and a text it calls whole must parse and satisfy the schema as a direct reading of
// it (tests/unit/inference/json_schema_oracle.h) has it.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "services/inference/engine/json_schema.h"
#include "services/inference/engine/json_schema_prefix.h"
#include "tests/fuzz/recognizer_checks.h"
#include "tests/unit/inference/json_schema_oracle.h"

using cai::inference::JsonSchema;
using cai::inference::JsonSchemaPrefix;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  if (split == std::string_view::npos) return 0;
  const std::string_view schema_text = input.substr(0, split);
  const std::string_view text = input.substr(split + 1);
  auto schema = JsonSchema::Parse(schema_text);
  if (!schema.ok()) return 0;

  JsonSchemaPrefix state(**schema);
  if (!cai::inference::fuzz::FeedAgreeing(state, text) || !state.complete()) return 0;
  const std::optional<nlohmann::json> value = cai::inference::fuzz::ParseWholeText(text);
  if (!value) return 0;
  const nlohmann::json root = nlohmann::json::parse(schema_text);
  if (!cai::inference::testing::Satisfies(*value, root, root)) std::abort();
  return 0;
}
