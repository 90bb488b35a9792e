#include "services/edge/auth.h"

#include <algorithm>
#include <fstream>

#include <openssl/crypto.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace cai::edge {
namespace {

// (Debian's abseil has its own string_view, so these stay in std::string_view.)
std::string_view TrimLeft(std::string_view text) {
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  return text;
}

std::string_view Trim(std::string_view text) {
  text = TrimLeft(text);
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> ParseBearer(std::string_view authorization) {
  std::string_view value = Trim(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() || !StartsWithIgnoreCase(value, kScheme)) return std::nullopt;
  std::string_view token = TrimLeft(value.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return token;
}

absl::Status ApiKeys::Add(std::string_view key) {
  key = Trim(key);
  if (key.empty()) return absl::OkStatus();
  if (key.size() > kMaxApiKeyBytes) return absl::InvalidArgumentError("API key too long");
  if (digests_.size() >= kMaxApiKeys) return absl::ResourceExhaustedError("too many API keys");
  digests_.push_back(Sha256(key));
  return absl::OkStatus();
}

absl::StatusOr<ApiKeys> ApiKeys::Load(const std::string& file, std::string_view csv) {
  ApiKeys keys;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read API keys file ", file));
    std::string line;
    while (std::getline(in, line)) {
      if (TrimLeft(line).starts_with('#')) continue;
      if (absl::Status status = keys.Add(line); !status.ok()) return status;
    }
  }
  while (!csv.empty()) {
    size_t comma = std::min(csv.find(','), csv.size());
    if (absl::Status status = keys.Add(csv.substr(0, comma)); !status.ok()) return status;
    csv.remove_prefix(std::min(comma + 1, csv.size()));
  }
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
