// Fuzzes JsonPrefix, the recogniser behind JSON mode, against nlohmann::json as the oracle, both
// ways: a text it calls a whole object parses as an object, and every object within its two limits
// (nesting depth, whitespace runs) is a text it takes byte by byte and calls whole.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "services/inference/engine/json_prefix.h"

namespace {

using cai::inference::JsonPrefix;

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Whether the text (taken to be JSON) stays within JsonPrefix's limits: nesting and whitespace
// runs outside strings.
bool WithinLimits(std::string_view text) {
  int depth = 0, run = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    run = IsWhitespace(c) ? run + 1 : 0;
    if (run > JsonPrefix::kMaxWhitespaceRun) return false;
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    if (depth > JsonPrefix::kMaxDepth) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  JsonPrefix json;
  size_t fed = 0;
  while (fed < size && json.Feed(data[fed])) ++fed;
  const bool whole = fed == size && json.complete();
  // Numbers beyond a double's range are JSON, but nlohmann refuses them ("number overflow"): such
  // texts are left out of the comparison.
  bool object = false, overflow = false;
  try {
    object = nlohmann::json::parse(text).is_object();
  } catch (const nlohmann::json::out_of_range&) {
    overflow = true;
  } catch (const nlohmann::json::parse_error&) {
  }
  if (overflow) return 0;
  if (whole && !object) std::abort();  // it called a non-object whole
  // nlohmann takes whitespace after the value, ends its input at a NUL byte and skips a leading
  // UTF-8 byte order mark; JsonPrefix ends at the '}' and refuses a NUL or a BOM.
  const bool comparable = size > 0 && text.back() == '}' && text.find('\0') == std::string_view::npos &&
                          !text.starts_with("\xEF\xBB\xBF");
  if (object && comparable && WithinLimits(text) && !whole) std::abort();
  return 0;
}
