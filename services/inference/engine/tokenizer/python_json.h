#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace cai::inference {

// What Hugging Face chat templates' `tojson` filter writes for a client's JSON object:
// Python's json.dumps(json.loads(text), ensure_ascii=False, indent=indent), byte for byte. Keys stay
// in the order given (a template shows a client's tool schema as the client wrote it); separators
// are ", " and ": " without indent, "," and ": " with one; floats as Python's repr (1e-05, 1e+16,
// 100.0); non-ASCII characters as they are, control characters escaped. With an indent, `level`
// is how deep the object sits in a document being written around it (its lines are indented that
// much more).
//
// Written in one pass over the text, with no tree: a tree that keeps key order finds keys one by
// one, so a hostile object of many keys would cost quadratic time. A text that repeats a key
// within an object (a model writing a free object may) is written as Python does, the last value
// at the first key's place, through such a tree, up to 64 KiB of text. InvalidArgument when
// `text` is not JSON, not an object, nests deeper than 128, repeats a key in a longer text, or
// would be longer than `max_bytes` once written (indentation grows with depth). Where Python and
// this part ways: an integer beyond 64 bits, which Python keeps exact, is a float here.
absl::StatusOr<std::string> PythonJsonDumps(std::string_view text, std::optional<int> indent = std::nullopt,
                                            int level = 0, size_t max_bytes = 4 << 20);

// A JSON string literal of `text` (valid UTF-8), as Python's json.dumps(text, ensure_ascii=False).
std::string PythonJsonString(std::string_view text);

}  // namespace cai::inference
