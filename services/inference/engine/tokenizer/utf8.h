#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cai::inference {

// Appends `in` to `out` as valid UTF-8: each maximal invalid subpart becomes one U+FFFD (the
// Unicode "best practice" that Python and Rust's from_utf8_lossy follow). When `final` is false,
// an incomplete sequence at the very end that could still become valid is held back. Returns
// the number of bytes of `in` consumed; the rest must be passed again with more bytes.
size_t AppendUtf8Lossy(std::string_view in, bool final, std::string* out);

// Decodes the code point at `s[*pos]` and advances `*pos`; returns U+FFFD (advancing one byte)
// on an invalid sequence.
char32_t NextCodePoint(std::string_view s, size_t* pos);

void AppendUtf8(char32_t cp, std::string* out);

// Unicode White_Space, as Rust's char::is_whitespace (used by Hugging Face added-token strip).
bool IsUnicodeWhitespace(char32_t cp);

// Python's str.isspace(): White_Space plus U+001C..U+001F (used by Jinja's `trim`).
bool IsPythonWhitespace(char32_t cp);

}  // namespace cai::inference
