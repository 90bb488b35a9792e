#pragma once

#include <string_view>

namespace cai {

// True iff `text` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
// above U+10FFFF, no truncated sequence. Protobuf `string` fields and JSON need exactly this.
bool IsValidUtf8(std::string_view text);

}  // namespace cai
