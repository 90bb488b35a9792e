#pragma once

// Typed reads of JSON that comes from outside (files handed to `cai verify`, the service under
// verification). nlohmann's value() and get<>() throw on a type mismatch; these return an error
// that names the field instead, so hostile input can fail a check but never abort the tool.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace cai::cli {

// `object[key]` as a string: "" when `object` has no such key (or is not an object) or the value
// is null; InvalidArgument naming the field when it holds another type.
absl::StatusOr<std::string> OptionalString(const nlohmann::json& object, std::string_view parent, const char* key);

// As OptionalString, and the value must be a non-empty string.
absl::StatusOr<std::string> RequiredString(const nlohmann::json& object, std::string_view parent, const char* key);

// `object[key]` as a boolean: false when absent or null.
absl::StatusOr<bool> OptionalBool(const nlohmann::json& object, std::string_view parent, const char* key);

// `object[key]` when it is a JSON object; nullptr when absent or null.
absl::StatusOr<const nlohmann::json*> OptionalObject(const nlohmann::json& object, std::string_view parent,
                                                     const char* key);

// Parses `text` as a JSON object; InvalidArgument saying `what` is not one otherwise.
absl::StatusOr<nlohmann::json> ParseJsonObject(std::string_view text, std::string_view what);

}  // namespace cai::cli
