#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"

namespace cai {

// Fills `out` from the kernel CSPRNG (getrandom(2), blocking until the pool is initialised).
absl::Status FillRandom(std::span<uint8_t> out);

// `n` random bytes as 2n lowercase hex digits. Aborts if the kernel CSPRNG fails: an id or nonce
// that is not random must never be used.
std::string RandomHex(size_t n);

// `n` characters drawn uniformly from [A-Za-z0-9], as OpenAI's ids look ("call_…"). Aborts as
// RandomHex does.
std::string RandomAlnum(size_t n);

}  // namespace cai
