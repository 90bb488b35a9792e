#include "lib/common/api_key_list.h"

#include <algorithm>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"

namespace cai {
namespace {

std::string_view Trimmed(std::string_view text) {
  const absl::string_view t = absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size()));
  return {t.data(), t.size()};
}

// RFC 6750's b64token is narrower; printable ASCII without spaces is what a header can carry
// unchanged through clients and proxies.
bool IsBearerByte(char c) { return c > ' ' && c < 0x7f; }

// Splits `text` at `separator`; the last piece runs to the end (so "a," gives "a" and "").
template <typename Visit>
absl::Status ForEachPiece(std::string_view text, char separator, Visit visit) {
  for (size_t number = 1;; ++number) {
    const size_t end = std::min(text.find(separator), text.size());
    if (absl::Status status = visit(text.substr(0, end), number); !status.ok()) return status;
    if (end == text.size()) return absl::OkStatus();
    text.remove_prefix(end + 1);
  }
}

absl::StatusOr<std::string> ReadKeyFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read API keys file ", file));
  // Read in chunks up to one byte past the limit: that tells "at the limit" from "over it"
  // without trusting a size that a FIFO or a /proc file would not report.
  std::string text;
  char chunk[1 << 16];
  while (text.size() <= kMaxApiKeyFileBytes && in.read(chunk, sizeof chunk).gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
  }
  // A directory opens like a file and then fails its first read: an empty list would leave the
  // edge open to everyone, so a read that failed is an error, not the end of the keys.
  if (in.bad()) return absl::NotFoundError(absl::StrCat("cannot read API keys file ", file));
  if (text.size() > kMaxApiKeyFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("API keys file ", file, " is larger than ", kMaxApiKeyFileBytes >> 20, " MiB"));
  }
  return text;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseApiKeyList(std::optional<std::string_view> file_text,
                                                         std::string_view csv, size_t max_keys) {
  std::vector<std::string> keys;
  auto add = [&](std::string_view text, const std::string& where) {
    const std::string_view key = Trimmed(text);
    if (key.empty()) return absl::OkStatus();
    if (keys.size() >= max_keys) return absl::ResourceExhaustedError(absl::StrCat("more than ", max_keys, " API keys"));
    if (key.size() > kMaxApiKeyBytes) {
      return absl::InvalidArgumentError(absl::StrCat("the API key ", where, " is longer than ", kMaxApiKeyBytes, " bytes"));
    }
    if (!std::all_of(key.begin(), key.end(), IsBearerByte)) {
      return absl::InvalidArgumentError(absl::StrCat("the API key ", where,
                                                     " has a space, control or non-ASCII byte, which a bearer token "
                                                     "cannot carry"));
    }
    keys.emplace_back(key);
    return absl::OkStatus();
  };
  if (file_text.has_value()) {
    constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
    if (file_text->starts_with(kByteOrderMark)) file_text->remove_prefix(kByteOrderMark.size());
    CAI_RETURN_IF_ERROR(ForEachPiece(*file_text, '\n', [&](std::string_view line, size_t number) {
      if (Trimmed(line).starts_with('#')) return absl::OkStatus();
      return add(line, absl::StrCat("on line ", number, " of the file"));
    }));
    if (keys.empty()) return absl::InvalidArgumentError("the API keys file holds no key");
  }
  CAI_RETURN_IF_ERROR(ForEachPiece(csv, ',', [&](std::string_view piece, size_t number) {
    return add(piece, absl::StrCat("at position ", number, " of CAI_API_KEYS"));
  }));
  return keys;
}

absl::StatusOr<std::vector<std::string>> ReadApiKeyList(const std::string& file, std::string_view csv,
                                                        size_t max_keys) {
  if (file.empty()) return ParseApiKeyList(std::nullopt, csv, max_keys);
  absl::StatusOr<std::string> text = ReadKeyFile(file);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<std::string>> keys = ParseApiKeyList(*text, csv, max_keys);
  if (!keys.ok()) return absl::Status(keys.status().code(), absl::StrCat(file, ": ", keys.status().message()));
  return keys;
}

}  // namespace cai
