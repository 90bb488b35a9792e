#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace cai::inference {

// Debian's abseil is built without aliasing absl::string_view to std::string_view, so StrCat
// and heterogeneous hash lookups need this bridge.
inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace cai::inference
