#include "lib/common/api_key_list.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/common/ascii.h"
#include "lib/common/read_file.h"
#include "lib/common/status_macros.h"

namespace cai {
namespace {

// Collects keys with the checks every source shares, naming where a refused key stands.
class KeyCollector {
 public:
  explicit KeyCollector(size_t max_keys) : max_keys_(max_keys) {}

  // One key per line; a byte-order mark at the start is skipped, '#' starts a comment line. A file
  // that holds no key is refused: the operator meant to require keys.
  absl::Status AddFile(std::string_view text) {
    constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
    if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
    const size_t before = keys_.size();
    size_t number = 0;
    for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
      ++number;
      if (TrimAsciiWhitespace({line.data(), line.size()}).starts_with('#')) continue;
      CAI_RETURN_IF_ERROR(Add({line.data(), line.size()}, absl::StrCat("on line ", number, " of the file")));
    }
    if (keys_.size() == before) return absl::InvalidArgumentError("the API keys file holds no key");
    return absl::OkStatus();
  }

  absl::Status AddCsv(std::string_view csv) {
    size_t number = 0;
    for (absl::string_view piece : absl::StrSplit(absl::string_view(csv.data(), csv.size()), ',')) {
      const std::string where = absl::StrCat("at position ", ++number, " of CAI_API_KEYS");
      CAI_RETURN_IF_ERROR(Add({piece.data(), piece.size()}, where));
    }
    return absl::OkStatus();
  }

  std::vector<std::string> Take() { return std::move(keys_); }

 private:
  absl::Status Add(std::string_view text, const std::string& where) {
    const std::string_view key = TrimAsciiWhitespace(text);
    if (key.empty()) return absl::OkStatus();
    if (keys_.size() >= max_keys_) {
      return absl::ResourceExhaustedError(absl::StrCat("more than ", max_keys_, " API keys"));
    }
    if (key.size() > kMaxApiKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("the API key ", where, " is longer than ", kMaxApiKeyBytes, " bytes"));
    }
    // RFC 6750's b64token is narrower; what a header carries unchanged is enough.
    if (!IsVisibleAscii(key)) {
      return absl::InvalidArgumentError(absl::StrCat("the API key ", where,
                                                     " has a space, control or non-ASCII byte, which a bearer token "
                                                     "cannot carry"));
    }
    keys_.emplace_back(key);
    return absl::OkStatus();
  }

  const size_t max_keys_;
  std::vector<std::string> keys_;
};

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseApiKeyList(std::optional<std::string_view> file_text,
                                                         std::string_view csv, size_t max_keys,
                                                         std::string_view file_name) {
  KeyCollector keys(max_keys);
  if (file_text.has_value()) {
    if (absl::Status added = keys.AddFile(*file_text); !added.ok()) {
      if (file_name.empty()) return added;
      return absl::Status(added.code(), absl::StrCat(absl::string_view(file_name.data(), file_name.size()), ": ", added.message()));  // only the file's errors
    }
  }
  CAI_RETURN_IF_ERROR(keys.AddCsv(csv));
  return keys.Take();
}

absl::StatusOr<std::vector<std::string>> ReadApiKeyList(const std::string& file, std::string_view csv,
                                                        size_t max_keys) {
  if (file.empty()) return ParseApiKeyList(std::nullopt, csv, max_keys);
  // A directory opens like a file and then fails its first read: that is an error too, never an
  // empty list, which would leave the edge open to everyone.
  absl::StatusOr<std::string> text = ReadFileUpTo(file, kMaxApiKeyFileBytes);
  if (!text.ok()) return absl::Status(text.status().code(), absl::StrCat("API keys file: ", text.status().message()));
  return ParseApiKeyList(*text, csv, max_keys, file);
}

}  // namespace cai
