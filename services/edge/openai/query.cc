#include "services/edge/openai/query.h"

#include <algorithm>

#include "lib/common/hex.h"

namespace cai::openai {

std::string PercentDecode(std::string_view text, PlusSign plus) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus == PlusSign::kSpace) {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && HexDigitValue(text[i + 1]) >= 0 && HexDigitValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigitValue(text[i + 1]) * 16 + HexDigitValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string QueryValue(const QueryParams& params, std::string_view name) {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

QueryParams ParseQuery(std::string_view query) {
  std::map<std::string, std::string, std::less<>> params;
  size_t count = 0;
  while (!query.empty() && count < kMaxQueryParams) {
    std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(pair.size() + 1, query.size()));
    if (pair.empty()) continue;
    ++count;
    size_t equals = pair.find('=');
    std::string_view value = equals == std::string_view::npos ? "" : pair.substr(equals + 1);
    params.emplace(PercentDecode(pair.substr(0, equals)), PercentDecode(value));
  }
  return params;
}

}  // namespace cai::openai
