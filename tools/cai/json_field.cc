#include "tools/cai/json_field.h"

#include "absl/strings/str_cat.h"

namespace cai::cli {
namespace {

using nlohmann::json;

// The value at `key`, or nullptr when it is absent or null (both mean "not given").
const json* Find(const json& object, const char* key) {
  auto it = object.find(key);  // end() for a non-object, never a throw
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// "parent.key", or "key" when `parent` is empty: how errors name a field.
std::string FieldName(std::string_view parent, std::string_view key) {
  std::string name(parent);
  if (!name.empty()) name += '.';
  return name.append(key);
}

absl::Status WrongType(std::string_view parent, std::string_view key, const json& value, const char* wanted) {
  return absl::InvalidArgumentError(
      absl::StrCat("field '", FieldName(parent, key), "' must be ", wanted, " (found ", value.type_name(), ")"));
}

}  // namespace

absl::StatusOr<std::string> OptionalString(const json& object, std::string_view parent, const char* key) {
  const json* value = Find(object, key);
  if (value == nullptr) return std::string();
  if (!value->is_string()) return WrongType(parent, key, *value, "a string");
  return value->get<std::string>();
}

absl::StatusOr<std::string> RequiredString(const json& object, std::string_view parent, const char* key) {
  absl::StatusOr<std::string> value = OptionalString(object, parent, key);
  if (value.ok() && value->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("field '", FieldName(parent, key), "' is missing or empty"));
  }
  return value;
}

absl::StatusOr<bool> OptionalBool(const json& object, std::string_view parent, const char* key) {
  const json* value = Find(object, key);
  if (value == nullptr) return false;
  if (!value->is_boolean()) return WrongType(parent, key, *value, "a boolean");
  return value->get<bool>();
}

absl::StatusOr<const json*> OptionalObject(const json& object, std::string_view parent, const char* key) {
  const json* value = Find(object, key);
  if (value != nullptr && !value->is_object()) return WrongType(parent, key, *value, "an object");
  return value;
}

absl::StatusOr<json> ParseJsonObject(std::string_view text, std::string_view what) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return absl::InvalidArgumentError(std::string(what) + " is not a JSON object");
  return doc;
}

}  // namespace cai::cli
