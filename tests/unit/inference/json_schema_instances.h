#pragma once

// Random values that satisfy a schema, and a schema with every kind of node to draw them from:
// shared by the schema recognizer's tests and the tool-call tests.
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <random>

#include <nlohmann/json.hpp>

namespace cai::inference::testing {

// A schema with every kind of node: the shape pydantic gives a model with a nested model, an
// Optional field, a Literal, a list and a recursive reference.
inline constexpr const char* kPersonSchema = R"({
  "$defs": {
    "Address": {"type": "object", "properties": {"city": {"type": "string"},
                "zip": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null}},
                "required": ["city", "zip"], "additionalProperties": false},
    "Mood": {"type": "string", "enum": ["calm", "angry", "a\"quoted"]},
    "Cat": {"type": "object", "properties": {"kind": {"const": "cat"}, "meow": {"type": "boolean"},
            "name": {"type": "string", "title": "Name"}}, "required": ["kind", "meow"], "additionalProperties": false},
    "Dog": {"type": "object", "properties": {"kind": {"enum": ["dog", "puppy"]}, "bark": {"type": "integer"},
            "name": {"type": "string", "description": "its name"}}, "required": ["kind"],
            "additionalProperties": false}
  },
  "type": "object",
  "properties": {
    "name": {"type": "string", "title": "Name"},
    "age": {"type": "integer"},
    "score": {"type": "number"},
    "ok": {"type": "boolean"},
    "mood": {"$ref": "#/$defs/Mood"},
    "tags": {"type": "array", "items": {"enum": [1, 12, "x"]}, "minItems": 1, "maxItems": 3},
    "home": {"$ref": "#/$defs/Address"},
    "extra": {},
    "note": {"type": ["string", "null"]},
    "kind": {"const": "person"},
    "friend": {"anyOf": [{"$ref": "#"}, {"type": "null"}]},
    "pet": {"oneOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}, {"type": "null"}],
            "discriminator": {"propertyName": "kind"}},
    "shape": {"anyOf": [{"type": "object", "properties": {"r": {"type": "number"}}, "required": ["r"]},
                        {"type": "object", "properties": {"w": {"type": "number"}, "h": {"type": "number"}}}]}
  },
  "required": ["name", "age", "mood", "tags", "home", "kind"],
  "additionalProperties": false
})";

// Random values that satisfy `schema`, read off the schema as the oracle reads it.
class InstanceMaker {
 public:
  using Json = nlohmann::json;

  InstanceMaker(const Json& root, uint32_t seed) : root_(root), rng_(seed) {}

  Json Make(const Json& schema, int depth = 0) {
    if (schema.is_boolean() || schema.empty()) return AnyValue(depth);
    if (schema.contains("$ref")) {
      return Make(root_.at(Json::json_pointer(schema["$ref"].get<std::string>().substr(1))), depth);
    }
    if (schema.contains("const")) return schema["const"];
    if (schema.contains("enum")) return Pick(schema["enum"]);
    for (const char* keyword : {"anyOf", "oneOf"}) {
      // Deep enough, take the last alternative (null for the recursive friend) so values stay finite.
      if (schema.contains(keyword)) return Make(depth > 3 ? schema[keyword].back() : Pick(schema[keyword]), depth + 1);
    }
    const Json type = schema["type"].is_array() ? Pick(schema["type"]) : schema["type"];
    if (type == "object") {
      Json out = Json::object();
      const Json required = schema.value("required", Json::array());
      const Json properties = schema.value("properties", Json::object());
      for (const auto& [name, property] : properties.items()) {
        const bool needed = std::find(required.begin(), required.end(), name) != required.end();
        if (needed || Coin()) out[name] = Make(property, depth + 1);
      }
      return out;
    }
    if (type == "array") {
      const size_t low = schema.value("minItems", 0u);
      const size_t high = std::min<size_t>(schema.value("maxItems", 4u), low + 4);
      Json out = Json::array();
      const size_t n = std::uniform_int_distribution<size_t>(low, high)(rng_);
      for (size_t i = 0; i < n; ++i) out.push_back(Make(schema.value("items", Json::object()), depth + 1));
      return out;
    }
    if (type == "string") return String();
    if (type == "integer") return std::uniform_int_distribution<int64_t>(-100000, 100000)(rng_);
    if (type == "number") return Coin() ? Json(std::uniform_real_distribution<double>(-1e6, 1e6)(rng_)) : Json(-7);
    if (type == "boolean") return Coin();
    return nullptr;
  }

 private:
  bool Coin() { return std::uniform_int_distribution<int>(0, 1)(rng_) == 1; }
  Json Pick(const Json& list) { return list[std::uniform_int_distribution<size_t>(0, list.size() - 1)(rng_)]; }
  Json String() {
    static const char* kStrings[] = {"", "a", "caf\xC3\xA9", "say \"hi\"", "back\\slash", "line\nbreak",
                                     "\xF0\x9F\x98\x80", "tab\there", "\x01"};
    return kStrings[std::uniform_int_distribution<size_t>(0, std::size(kStrings) - 1)(rng_)];
  }
  Json AnyValue(int depth) {
    switch (std::uniform_int_distribution<int>(0, depth > 2 ? 3 : 5)(rng_)) {
      case 0: return nullptr;
      case 1: return 2.5;
      case 2: return String();
      case 3: return false;
      case 4: return Json::array({AnyValue(depth + 1), AnyValue(depth + 1)});
      default: return Json::object({{"k", AnyValue(depth + 1)}});
    }
  }

  const Json& root_;
  std::mt19937 rng_;
};

}  // namespace cai::inference::testing
