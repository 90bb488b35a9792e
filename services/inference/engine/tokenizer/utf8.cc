#include "services/inference/engine/tokenizer/utf8.h"

#include <cstdint>
#include <optional>

#include "lib/common/utf8.h"

namespace cai::inference {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the valid sequence at s[i], or -k when only the first k bytes form a (maximal)
// valid prefix, with `truncated` set when the input ended inside the sequence.
int ValidSequenceLength(std::string_view s, size_t i, bool* truncated) {
  *truncated = false;
  const std::optional<Utf8Lead> lead = Utf8LeadOf(static_cast<uint8_t>(s[i]));
  if (!lead) return -1;
  const int length = 1 + lead->continuation_bytes;
  for (int k = 1; k < length; ++k) {
    if (i + k >= s.size()) {
      *truncated = true;
      return -k;
    }
    uint8_t c = static_cast<uint8_t>(s[i + k]);
    uint8_t lo = k == 1 ? lead->second_low : 0x80;
    uint8_t hi = k == 1 ? lead->second_high : 0xBF;
    if (c < lo || c > hi) return -k;
  }
  return length;
}

}  // namespace

size_t AppendUtf8Lossy(std::string_view in, bool final, std::string* out) {
  size_t i = 0;
  while (i < in.size()) {
    bool truncated = false;
    int n = ValidSequenceLength(in, i, &truncated);
    if (n > 0) {
      out->append(in.substr(i, n));
      i += n;
    } else if (truncated && !final) {
      break;
    } else {
      out->append(kReplacement);
      i += -n;
    }
  }
  return i;
}

char32_t NextCodePoint(std::string_view s, size_t* pos) {
  bool truncated = false;
  int n = ValidSequenceLength(s, *pos, &truncated);
  if (n <= 0) {
    *pos += 1;
    return 0xFFFD;
  }
  auto byte = [&](int k) { return static_cast<uint8_t>(s[*pos + k]); };
  char32_t cp;
  switch (n) {
    case 1: cp = byte(0); break;
    case 2: cp = (byte(0) & 0x1F) << 6 | (byte(1) & 0x3F); break;
    case 3: cp = (byte(0) & 0x0F) << 12 | (byte(1) & 0x3F) << 6 | (byte(2) & 0x3F); break;
    default:
      cp = (byte(0) & 0x07) << 18 | (byte(1) & 0x3F) << 12 | (byte(2) & 0x3F) << 6 | (byte(3) & 0x3F);
  }
  *pos += n;
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | cp >> 6));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | cp >> 12));
    out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | cp >> 18));
    out->push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsUnicodeWhitespace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

bool IsPythonWhitespace(char32_t cp) {
  return IsUnicodeWhitespace(cp) || (cp >= 0x1C && cp <= 0x1F);
}

}  // namespace cai::inference
