#pragma once

// The keywords JsonSchema takes, read directly off parsed values: the oracle that JsonSchemaPrefix
// is tested against (tests and fuzz target). A recursive walk with nothing compiled, so that it
// shares no logic, and no bug, with the byte-level recognizer.
#include <algorithm>
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

namespace cai::inference::testing {

inline bool HasType(const nlohmann::json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  if (type == "integer") {
    return value.is_number_integer() || (value.is_number_float() && std::isfinite(value.get<double>()) &&
                                         std::floor(value.get<double>()) == value.get<double>());
  }
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  return false;
}

// Whether `value` satisfies `schema`, whose "$ref"s point into `root`.
inline bool Satisfies(const nlohmann::json& value, const nlohmann::json& schema, const nlohmann::json& root) {
  using Json = nlohmann::json;
  if (schema.is_boolean()) return schema.get<bool>();
  const auto has = [&](const char* name) { return schema.contains(name); };
  if (has("$ref")) {
    return Satisfies(value, root.at(Json::json_pointer(schema["$ref"].get<std::string>().substr(1))), root);
  }
  if (has("const") && value != schema["const"]) return false;
  if (has("enum") && std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
    return false;
  }
  const auto satisfies = [&](const Json& alternative) { return Satisfies(value, alternative, root); };
  if (has("anyOf") && std::none_of(schema["anyOf"].begin(), schema["anyOf"].end(), satisfies)) return false;
  if (has("oneOf") && std::count_if(schema["oneOf"].begin(), schema["oneOf"].end(), satisfies) != 1) return false;
  if (has("type")) {
    const Json& type = schema["type"];
    const bool typed = type.is_string() ? HasType(value, type.get<std::string>())
                                        : std::any_of(type.begin(), type.end(), [&](const Json& name) {
                                            return HasType(value, name.get<std::string>());
                                          });
    if (!typed) return false;
  }
  if (value.is_object()) {
    const Json properties = schema.value("properties", Json::object());
    const bool closed = schema.contains("additionalProperties") && schema["additionalProperties"] == false;
    for (const auto& [key, item] : value.items()) {
      if (properties.contains(key)) {
        if (!Satisfies(item, properties[key], root)) return false;
      } else if (closed) {
        return false;
      }
    }
    for (const Json& name : schema.value("required", Json::array())) {
      if (!value.contains(name.get<std::string>())) return false;
    }
  }
  if (value.is_array()) {
    if (has("items") && !std::all_of(value.begin(), value.end(), [&](const Json& item) {
          return Satisfies(item, schema["items"], root);
        })) {
      return false;
    }
    if (has("minItems") && value.size() < schema["minItems"].get<size_t>()) return false;
    if (has("maxItems") && value.size() > schema["maxItems"].get<size_t>()) return false;
  }
  return true;
}

}  // namespace cai::inference::testing
