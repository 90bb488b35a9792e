#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/common/api_key_list.h"  // kMaxApiKeys, kMaxApiKeyBytes, the rules for a key
#include "lib/crypto/sha256.h"

namespace cai::edge {


// The token of an "Authorization: Bearer <token>" value (scheme case-insensitive, surrounding
// spaces trimmed), or nullopt when the value is not a non-empty bearer token.
std::optional<std::string_view> ParseBearer(std::string_view authorization);

// API keys, kept only as SHA-256 digests. Checking a key compares its digest with every stored
// digest in constant time, so timing reveals neither which key matched nor how much of it.
class ApiKeys {
 public:
  // Keys from `file` (one per line; blank lines and lines starting with '#' skipped; "" = none)
  // and from `csv` (comma-separated, e.g. $CAI_API_KEYS), as ReadApiKeyList reads them.
  static absl::StatusOr<ApiKeys> Load(const std::string& file, std::string_view csv);

  bool empty() const { return digests_.empty(); }
  size_t size() const { return digests_.size(); }
  bool Accepts(std::string_view key) const;

 private:
  std::vector<Sha256Digest> digests_;
};

}  // namespace cai::edge
