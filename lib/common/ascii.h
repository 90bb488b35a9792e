#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "absl/strings/ascii.h"

namespace cai {

// ASCII text helpers over std::string_view (Debian's abseil has its own string_view type, so
// abseil's own forms do not take ours).

inline std::string_view TrimAsciiWhitespaceLeft(std::string_view text) {
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  return text;
}

inline std::string_view TrimAsciiWhitespace(std::string_view text) {
  text = TrimAsciiWhitespaceLeft(text);
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// Printable ASCII other than the space: what a header value can carry unchanged through clients
// and proxies.
inline bool IsVisibleAscii(char c) { return absl::ascii_isgraph(static_cast<unsigned char>(c)); }
inline bool IsVisibleAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return IsVisibleAscii(c); });
}

// 1 to `max_bytes` ASCII letters, digits, '-' and '_': a tool's or a schema's name, a response id
// (names and ids that travel in URLs and JSON unescaped).
inline bool IsName(std::string_view text, size_t max_bytes) {
  return !text.empty() && text.size() <= max_bytes && std::all_of(text.begin(), text.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
         });
}

}  // namespace cai
