#include "lib/common/utf8.h"

namespace cai {

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const std::optional<Utf8Lead> lead = Utf8LeadOf(static_cast<uint8_t>(text[i]));
    if (!lead) return false;
    const size_t length = 1 + lead->continuation_bytes;
    if (text.size() - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      const uint8_t byte = static_cast<uint8_t>(text[i + k]);
      const uint8_t low = k == 1 ? lead->second_low : 0x80, high = k == 1 ? lead->second_high : 0xBF;
      if (byte < low || byte > high) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace cai
