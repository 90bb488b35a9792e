#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cai {

// The API keys an operator configured: one per line of `file` (when named; '#' starts a comment
// line, blank lines are skipped), then the comma-separated `csv` (CAI_API_KEYS). Each is trimmed
// of ASCII whitespace; empty ones are dropped. NotFound when `file` is named but unreadable,
// ResourceExhausted past `max_keys`. Read by the edge (which accepts them) and by `cai up` (which
// uses the first in its example request), so both see the same keys.
absl::StatusOr<std::vector<std::string>> ReadApiKeyList(const std::string& file, std::string_view csv,
                                                        size_t max_keys);

}  // namespace cai
