// Fuzzes the operator's API key list (a key file's text and CAI_API_KEYS). Oracle beyond "no
// crash": every accepted key is one a client can present as a bearer token.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lib/common/api_key_list.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first NUL, if any, splits the input into the file's text and the CSV.
  const size_t split = std::min(input.find('\0'), input.size());
  const std::string_view file_text = input.substr(0, split);
  const std::string_view csv = input.substr(std::min(split + 1, input.size()));
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
