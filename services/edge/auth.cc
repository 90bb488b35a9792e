#include "services/edge/auth.h"

#include <algorithm>

#include <openssl/crypto.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/common/ascii.h"

namespace cai::edge {
namespace {

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> ParseBearer(std::string_view authorization) {
  std::string_view value = TrimAsciiWhitespace(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() || !StartsWithIgnoreCase(value, kScheme)) return std::nullopt;
  std::string_view token = TrimAsciiWhitespaceLeft(value.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return token;
}

absl::StatusOr<ApiKeys> ApiKeys::Load(const std::string& file, std::string_view csv) {
  // The list comes trimmed, checked, without blanks or comments, and at most kMaxApiKeys long.
  absl::StatusOr<std::vector<std::string>> list = ReadApiKeyList(file, csv, kMaxApiKeys);
  if (!list.ok()) return list.status();
  ApiKeys keys;
  for (const std::string& key : *list) keys.digests_.push_back(Sha256(key));
  return keys;
}

bool ApiKeys::Accepts(std::string_view key) const {
  const Sha256Digest presented = Sha256(key);
  int matches = 0;
  for (const Sha256Digest& digest : digests_) {  // no early exit
    matches |= CRYPTO_memcmp(digest.data(), presented.data(), digest.size()) == 0;
  }
  return matches != 0;
}

}  // namespace cai::edge
