#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cai {

// What a UTF-8 lead byte starts (RFC 3629; table 3-7 of the Unicode standard): how many
// continuation bytes follow, and the range the first of them must fall in, which rules out
// overlong forms, UTF-16 surrogates (U+D800..U+DFFF) and code points above U+10FFFF. The later
// continuation bytes are 0x80..0xBF.
struct Utf8Lead {
  uint8_t continuation_bytes = 0;  // 0 for ASCII
  uint8_t second_low = 0x80;
  uint8_t second_high = 0xBF;
};

// nullopt for a byte no character starts with: a continuation byte, C0, C1, F5..FF.
constexpr std::optional<Utf8Lead> Utf8LeadOf(uint8_t byte) {
  if (byte < 0x80) return Utf8Lead{0, 0x80, 0xBF};
  if (byte >= 0xC2 && byte <= 0xDF) return Utf8Lead{1, 0x80, 0xBF};
  if (byte == 0xE0) return Utf8Lead{2, 0xA0, 0xBF};
  if (byte == 0xED) return Utf8Lead{2, 0x80, 0x9F};
  if (byte >= 0xE1 && byte <= 0xEF) return Utf8Lead{2, 0x80, 0xBF};
  if (byte == 0xF0) return Utf8Lead{3, 0x90, 0xBF};
  if (byte == 0xF4) return Utf8Lead{3, 0x80, 0x8F};
  if (byte >= 0xF1 && byte <= 0xF3) return Utf8Lead{3, 0x80, 0xBF};
  return std::nullopt;
}

// True iff `text` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
// above U+10FFFF, no truncated sequence. Protobuf `string` fields and JSON need exactly this.
bool IsValidUtf8(std::string_view text);

}  // namespace cai
