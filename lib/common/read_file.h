#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace cai {

// The whole of `path`, refused past `max_bytes` without reading further: sizes are not trusted
// (a FIFO or a /proc file reports none). NotFound when it cannot be opened or read (a directory
// opens, then fails its first read); InvalidArgument when it is larger than `max_bytes`.
absl::StatusOr<std::string> ReadFileUpTo(const std::string& path, size_t max_bytes);

}  // namespace cai
