#pragma once

#include <map>
#include <string>
#include <string_view>

namespace cai::openai {

inline constexpr size_t kMaxQueryParams = 32;

// Parses an URL query ("a=1&b=x%20y") into decoded key/value pairs; '+' is a space, a bad %-escape
// stays literal, the first occurrence of a key wins, and pairs past kMaxQueryParams are dropped.
using QueryParams = std::map<std::string, std::string, std::less<>>;
QueryParams ParseQuery(std::string_view query);
// The value of `name`, or "" when absent.
std::string QueryValue(const QueryParams& params, std::string_view name);

std::string PercentDecode(std::string_view text);

}  // namespace cai::openai
