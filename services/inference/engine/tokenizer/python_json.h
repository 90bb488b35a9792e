#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cai::inference {

// What Hugging Face chat templates' `tojson` filter writes: Python's
// json.dumps(value, ensure_ascii=False, indent=indent), byte for byte. Keys stay in the order
// given (a template shows a client's tool schema as the client wrote it); separators are ", " and
// ": " without indent, "," and ": " with one; floats as Python's repr (1e-05, 1e+16, 100.0);
// non-ASCII characters as they are, control characters escaped.
//
// Where Python and this reading of JSON part ways: an integer beyond 64 bits, which Python keeps
// exact, is a float here (nlohmann's parser).
std::string PythonJsonDumps(const nlohmann::ordered_json& value, std::optional<int> indent = std::nullopt);

// A JSON string literal of `text` (valid UTF-8), as Python's json.dumps(text, ensure_ascii=False).
std::string PythonJsonString(std::string_view text);

}  // namespace cai::inference
