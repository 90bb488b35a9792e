#include "lib/common/api_key_list.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace cai {
namespace {

std::string_view Trimmed(std::string_view text) {
  const absl::string_view t = absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size()));
  return {t.data(), t.size()};
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ReadApiKeyList(const std::string& file, std::string_view csv,
                                                        size_t max_keys) {
  std::vector<std::string> keys;
  auto add = [&](std::string_view text) {
    const std::string_view key = Trimmed(text);
    if (key.empty()) return absl::OkStatus();
    if (keys.size() >= max_keys) return absl::ResourceExhaustedError("too many API keys");
    keys.emplace_back(key);
    return absl::OkStatus();
  };
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read API keys file ", file));
    std::string line;
    while (std::getline(in, line)) {
      if (Trimmed(line).starts_with('#')) continue;
      if (absl::Status status = add(line); !status.ok()) return status;
    }
    // A directory opens like a file and then fails its first read: an empty list would leave the
    // edge open to everyone, so a read that failed is an error, not the end of the keys.
    if (in.bad()) return absl::NotFoundError(absl::StrCat("cannot read API keys file ", file));
  }
  while (!csv.empty()) {
    const size_t comma = std::min(csv.find(','), csv.size());
    if (absl::Status status = add(csv.substr(0, comma)); !status.ok()) return status;
    csv.remove_prefix(std::min(comma + 1, csv.size()));
  }
  return keys;
}

}  // namespace cai
