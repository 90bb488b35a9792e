#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cai {

// The value of one hex digit (either case), or -1 if `c` is not one.
int HexDigitValue(char c);

// Lowercase hex, no prefix.
std::string HexEncode(std::span<const uint8_t> bytes);
std::string HexEncode(std::string_view bytes);

// Accepts upper- and lowercase digits and an optional "0x"/"0X" prefix. InvalidArgument on an odd
// length or a non-hex character.
absl::StatusOr<std::vector<uint8_t>> HexDecode(std::string_view hex);

// As HexDecode, and the result must be exactly `size` bytes.
absl::StatusOr<std::vector<uint8_t>> HexDecodeExact(std::string_view hex, size_t size);

}  // namespace cai
