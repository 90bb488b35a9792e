#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cai {

// More keys are refused: the edge compares a presented key with every one of them.
inline constexpr size_t kMaxApiKeys = 10000;
// Longer keys are refused: no real key is, and the edge hashes whatever a client presents.
inline constexpr size_t kMaxApiKeyBytes = 512;
// A key file larger than this is refused before it is read (10,000 keys of 512 bytes fit).
inline constexpr size_t kMaxApiKeyFileBytes = size_t{16} << 20;

// The API keys an operator configured: one per line of `file_text` (a UTF-8 byte-order mark at its
// start is skipped, '#' starts a comment line, blank lines are skipped; nullopt when no file is
// named), then the comma-separated `csv` (CAI_API_KEYS). Each is trimmed of ASCII whitespace;
// empty ones are dropped. A named file that holds no key is InvalidArgument: the operator meant
// to require keys, and an empty list would open the API to everyone.
// InvalidArgument for a key longer than kMaxApiKeyBytes or with a byte that an HTTP bearer token
// cannot carry (anything but printable ASCII without spaces): such a key could never be presented,
// so it is a configuration mistake. Errors name the line or the position, never the key.
// ResourceExhausted past `max_keys`. With `file_name`, the file's errors start with it.
absl::StatusOr<std::vector<std::string>> ParseApiKeyList(std::optional<std::string_view> file_text,
                                                         std::string_view csv, size_t max_keys,
                                                         std::string_view file_name = "");

// ParseApiKeyList over the contents of `file` ("" = no file). NotFound when the file is named but
// cannot be read, InvalidArgument when it is larger than kMaxApiKeyFileBytes. Read by the edge
// (which accepts the keys) and by `cai up` (which uses the first in its example request), so both
// see the same keys.
absl::StatusOr<std::vector<std::string>> ReadApiKeyList(const std::string& file, std::string_view csv,
                                                        size_t max_keys);

}  // namespace cai
