#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cai::inference {

// GPT-2's bytes_to_unicode: every byte maps to one printable code point, so byte-level BPE
// vocabularies can be stored as JSON strings ("Ġ" is the space byte 0x20).
std::string ByteLevelEncode(std::string_view bytes);

// The inverse; nullopt if `text` holds a character outside the 256-character alphabet.
std::optional<std::string> ByteLevelDecode(std::string_view text);

}  // namespace cai::inference
