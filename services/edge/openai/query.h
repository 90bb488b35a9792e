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

// %XX escapes decoded (a bad one stays literal). '+' is a space in a query string (form encoding)
// but itself in a path segment.
enum class PlusSign { kSpace, kLiteral };
std::string PercentDecode(std::string_view text, PlusSign plus = PlusSign::kSpace);

}  // namespace cai::openai
