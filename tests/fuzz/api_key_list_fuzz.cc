// Fuzzes the operator's API key list (a key file's text and CAI_API_KEYS). Oracle beyond "no
// crash": every accepted key is one a client can present as a bearer token.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "lib/common/api_key_list.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // A NUL splits the input into a key file's text and the CSV; without one there is no file.
  std::optional<std::string_view> file_text;
  std::string_view csv = input;
  if (const size_t split = input.find('\0'); split != std::string_view::npos) {
    file_text = input.substr(0, split);
    csv = input.substr(split + 1);
  }
  constexpr size_t kMaxKeys = 64;
  auto keys = cai::ParseApiKeyList(file_text, csv, kMaxKeys);
  if (!keys.ok()) return 0;
  if (keys->size() > kMaxKeys) std::abort();
  for (const std::string& key : *keys) {
    if (key.empty() || key.size() > cai::kMaxApiKeyBytes) std::abort();
    for (char c : key) {
      if (c <= ' ' || c >= 0x7f) std::abort();
    }
  }
  return 0;
}
