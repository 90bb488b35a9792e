#include "services/inference/engine/tokenizer/byte_level.h"

#include <array>
#include <cstdint>

#include "services/inference/engine/tokenizer/utf8.h"

namespace cai::inference {
namespace {

struct Tables {
  std::array<char32_t, 256> to_unicode{};
  std::array<int16_t, 324> to_byte{};  // indexed by code point; -1 if not in the alphabet
};

// Printable bytes map to themselves; the other 68 take code points 256.. in byte order.
Tables BuildTables() {
  Tables t;
  t.to_byte.fill(-1);
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    t.to_unicode[b] = printable ? static_cast<char32_t>(b) : next++;
    t.to_byte[t.to_unicode[b]] = static_cast<int16_t>(b);
  }
  return t;
}

const Tables& GetTables() {
  static const Tables tables = BuildTables();
  return tables;
}

}  // namespace

std::string ByteLevelEncode(std::string_view bytes) {
  const Tables& t = GetTables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) AppendUtf8(t.to_unicode[static_cast<uint8_t>(c)], &out);
  return out;
}

std::optional<std::string> ByteLevelDecode(std::string_view text) {
  const Tables& t = GetTables();
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = NextCodePoint(text, &pos);
    if (cp >= t.to_byte.size() || t.to_byte[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(t.to_byte[cp]));
  }
  return out;
}

}  // namespace cai::inference
