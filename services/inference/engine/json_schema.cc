#include "services/inference/engine/json_schema.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"

namespace cai::inference {
namespace {

using Json = nlohmann::json;
using Kind = JsonSchema::Kind;

// Subschemas nested deeper than this in the schema's text are refused (the compiler recurses).
constexpr int kMaxNesting = 64;

// Keywords that constrain values in ways a byte-level walk does not enforce. Refused, so a client
// never receives JSON that its own validator then rejects. The first are about a value's shape,
// and always refused; the value assertions may be ignored instead (ValueAssertions::kIgnore).
constexpr const char* kUnsupported[] = {
    "allOf", "not", "if", "then", "else", "dependentSchemas", "dependentRequired", "dependencies",
    "patternProperties", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "prefixItems",
    "additionalItems", "contains", "minContains", "maxContains", "$dynamicRef", "$recursiveRef",
};
constexpr const char* kValueAssertions[] = {
    "minLength", "maxLength", "pattern", "format", "contentEncoding", "contentMediaType", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minProperties", "maxProperties",
};
// Keywords that say what a value is; with $ref, enum or anyOf they would have to hold as well.
constexpr const char* kConstraining[] = {
    "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
    "enum", "const", "anyOf", "oneOf", "uniqueItems",
};

std::bitset<256> Bytes(std::string_view bytes) {
  std::bitset<256> set;
  for (char c : bytes) set.set(static_cast<uint8_t>(c));
  return set;
}

std::bitset<256> NumberStarts() { return Bytes("-0123456789"); }
std::bitset<256> ValueStarts() { return Bytes("{[\"-0123456789tfn"); }

std::string Where(const std::string& path) { return path.empty() ? "the schema's root" : absl::StrCat("'", path, "'"); }

absl::Status Refuse(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("json_schema at ", Where(path), ": ", what));
}

std::string Child(const std::string& path, const std::string& name) {
  return path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
}

// Unlike the edge's and the tokenizer's Field, null is a value here ("const": null).
const Json* Field(const Json& object, const std::string& name) {
  const auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

bool MatchesType(const Json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    if (!value.is_number_float()) return false;
    const double x = value.get<double>();
    return std::isfinite(x) && std::trunc(x) == x;
  }
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  return false;
}

// A non-negative integer keyword (minItems, maxItems).
absl::StatusOr<uint32_t> Count(const Json& schema, const char* name, uint32_t absent, const std::string& path) {
  const Json* value = Field(schema, name);
  if (value == nullptr) return absent;
  if (!value->is_number_unsigned() || value->get<uint64_t>() > std::numeric_limits<uint32_t>::max()) {
    return Refuse(path, absl::StrCat("'", name, "' must be an integer from 0 to 4294967295"));
  }
  return static_cast<uint32_t>(value->get<uint64_t>());
}

}  // namespace

class JsonSchemaCompiler {
 public:
  JsonSchemaCompiler(const Json& root, JsonSchema::ValueAssertions assertions) : root_(root), assertions_(assertions) {}

  absl::StatusOr<std::shared_ptr<const JsonSchema>> Run() {
    CAI_ASSIGN_OR_RETURN(const uint32_t root, NewNode(""));
    compiled_[&root_] = root;
    CAI_RETURN_IF_ERROR(CompileInto(root, root_, "", 0));
    for (uint32_t i = 0; i < nodes_.size(); ++i) CAI_RETURN_IF_ERROR(FirstBytes(i));
    if (nodes_[root].first_bytes != Bytes("{")) return Refuse("", "the root must be an object (type 'object')");
    auto schema = std::make_shared<JsonSchema>();
    schema->nodes_ = std::move(nodes_);
    return schema;
  }

 private:
  absl::StatusOr<uint32_t> NewNode(const std::string& path) {
    if (nodes_.size() >= JsonSchema::kMaxNodes) {
      return Refuse(path, absl::StrCat("the schema has more than ", JsonSchema::kMaxNodes, " subschemas"));
    }
    nodes_.emplace_back();
    paths_.push_back(path);
    visiting_.push_back(0);
    return static_cast<uint32_t>(nodes_.size() - 1);
  }

  absl::StatusOr<uint32_t> Compile(const Json& schema, const std::string& path, int depth) {
    CAI_ASSIGN_OR_RETURN(const uint32_t index, NewNode(path));
    CAI_RETURN_IF_ERROR(CompileInto(index, schema, path, depth));
    return index;
  }

  absl::Status CompileInto(uint32_t index, const Json& schema, const std::string& path, int depth) {
    if (depth > kMaxNesting) return Refuse(path, absl::StrCat("subschemas nest deeper than ", kMaxNesting));
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) return Refuse(path, "the schema 'false' admits no value");
      nodes_[index].first_bytes = ValueStarts();
      return absl::OkStatus();
    }
    if (!schema.is_object()) return Refuse(path, "a schema must be an object or a boolean");
    for (const char* name : kUnsupported) {
      if (schema.contains(name)) {
        return Refuse(path, absl::StrCat("'", name, "' is not supported (constrained decoding could not keep it)"));
      }
    }
    const bool refuse_assertions = assertions_ == JsonSchema::ValueAssertions::kRefuse;
    for (const char* name : kValueAssertions) {
      if (refuse_assertions && schema.contains(name)) {
        return Refuse(path, absl::StrCat("'", name, "' is not supported (constrained decoding could not keep it)"));
      }
    }
    if (const Json* unique = Field(schema, "uniqueItems");
        refuse_assertions && unique != nullptr && !(unique->is_boolean() && !*unique)) {
      return Refuse(path, "'uniqueItems' is not supported (constrained decoding could not keep it)");
    }
    // A subschema's $id would change what its "#/..." references mean; only the root's is harmless.
    if (&schema != &root_ && (schema.contains("$id") || (schema.contains("id") && schema["id"].is_string()))) {
      return Refuse(path, "'$id' below the root is not supported");
    }
    if (const Json* ref = Field(schema, "$ref")) return CompileRef(index, schema, *ref, path, depth);
    if (schema.contains("enum") || schema.contains("const")) return CompileLiterals(index, schema, path);
    if (schema.contains("anyOf") || schema.contains("oneOf")) return CompileUnion(index, schema, path, depth);

    const Json* type = Field(schema, "type");
    if (type == nullptr) {
      const bool object = schema.contains("properties") || schema.contains("required") ||
                          schema.contains("additionalProperties");
      const bool array = schema.contains("items") || schema.contains("minItems") || schema.contains("maxItems");
      if (object && array) return Refuse(path, "give a 'type': the keywords are both an object's and an array's");
      if (!object && !array) {
        nodes_[index].first_bytes = ValueStarts();
        return absl::OkStatus();
      }
      return CompileTyped(index, schema, object ? "object" : "array", path, depth);
    }
    if (type->is_string()) return CompileTyped(index, schema, type->get_ref<const std::string&>(), path, depth);
    if (!type->is_array() || type->empty()) return Refuse(path, "'type' must be a name or a non-empty list of them");
    // A list of types: one alternative each, told apart by their first bytes like anyOf's.
    nodes_[index].kind = Kind::kUnion;
    for (const Json& name : *type) {
      if (!name.is_string()) return Refuse(path, "'type' must be a name or a non-empty list of them");
      const std::string& type_name = name.get_ref<const std::string&>();
      const std::string alternative_path = absl::StrCat(path, path.empty() ? "" : " ", "(type '", type_name.substr(0, 64), "')");
      CAI_ASSIGN_OR_RETURN(const uint32_t alternative, NewNode(alternative_path));
      CAI_RETURN_IF_ERROR(CompileTyped(alternative, schema, type_name, alternative_path, depth));
      nodes_[index].alternatives.push_back(alternative);
    }
    return absl::OkStatus();
  }

  absl::Status CompileRef(uint32_t index, const Json& schema, const Json& ref, const std::string& path, int depth) {
    for (const char* name : kConstraining) {
      if (schema.contains(name)) return Refuse(path, absl::StrCat("'", name, "' beside '$ref' is not supported"));
    }
    if (!ref.is_string()) return Refuse(path, "'$ref' must be a string");
    const std::string& text = ref.get_ref<const std::string&>();
    if (text.find('%') != std::string::npos) {
      return Refuse(path, "'$ref' with percent-encoding is not supported (spell the pointer out)");
    }
    if (!text.starts_with("#")) {
      return Refuse(path, absl::StrCat("'$ref' must point into this schema ('#' or '#/$defs/...'), not '",
                                       text.substr(0, 128), "'"));
    }
    const Json* target = nullptr;
    try {
      target = &root_.at(Json::json_pointer(text.substr(1)));
    } catch (const Json::exception&) {
      return Refuse(path, absl::StrCat("'$ref' '", text.substr(0, 128), "' points at nothing in the schema"));
    }
    uint32_t resolved;
    if (auto it = compiled_.find(target); it != compiled_.end()) {
      resolved = it->second;  // compiled already, or being compiled: a recursive schema
    } else {
      CAI_ASSIGN_OR_RETURN(resolved, NewNode(text.substr(1)));
      compiled_[target] = resolved;
      CAI_RETURN_IF_ERROR(CompileInto(resolved, *target, text.substr(1), depth + 1));
    }
    // A union of one: the node stands for its target, which may not be compiled yet.
    nodes_[index].kind = Kind::kUnion;
    nodes_[index].alternatives = {resolved};
    return absl::OkStatus();
  }

  absl::Status CompileLiterals(uint32_t index, const Json& schema, const std::string& path) {
    for (const char* name : kConstraining) {
      if (std::string_view(name) != "type" && std::string_view(name) != "enum" && std::string_view(name) != "const" &&
          schema.contains(name)) {
        return Refuse(path, absl::StrCat("'", name, "' beside 'enum' or 'const' is not supported"));
      }
    }
    const Json* type = Field(schema, "type");
    const Json* constant = Field(schema, "const");
    const Json* list = Field(schema, "enum");
    if (list != nullptr && (!list->is_array() || list->empty())) return Refuse(path, "'enum' must be a non-empty list");
    if (list != nullptr && list->size() > JsonSchema::kMaxLiterals) {
      return Refuse(path, absl::StrCat("'enum' lists more than ", JsonSchema::kMaxLiterals, " values"));
    }
    // The values 'const' and 'enum' both allow (either may be absent; compared as compact JSON
    // texts), of the 'type' if one is given.
    std::vector<std::string> literals;
    const auto take = [&](const Json& value) -> absl::Status {
      if (type != nullptr && !OfType(value, *type)) return absl::OkStatus();  // never to be written
      CAI_ASSIGN_OR_RETURN(std::string text, LiteralText(value, path));
      literals.push_back(std::move(text));
      return absl::OkStatus();
    };
    if (constant != nullptr) {
      CAI_RETURN_IF_ERROR(take(*constant));
    } else {
      for (const Json& value : *list) CAI_RETURN_IF_ERROR(take(value));
    }
    if (constant != nullptr && list != nullptr && !literals.empty()) {
      bool listed = false;
      for (const Json& value : *list) {
        CAI_ASSIGN_OR_RETURN(const std::string text, LiteralText(value, path));
        listed = listed || text == literals.front();
      }
      if (!listed) literals.clear();
    }
    std::sort(literals.begin(), literals.end());
    literals.erase(std::unique(literals.begin(), literals.end()), literals.end());
    if (literals.empty()) return Refuse(path, "no value satisfies 'enum', 'const' and 'type' together");
    literal_count_ += literals.size();
    if (literal_count_ > JsonSchema::kMaxLiterals) {
      return Refuse(path, absl::StrCat("the schema lists more than ", JsonSchema::kMaxLiterals, " enum values"));
    }
    JsonSchema::Node& node = nodes_[index];
    node.kind = Kind::kLiterals;
    for (const std::string& literal : literals) node.first_bytes.set(static_cast<uint8_t>(literal[0]));
    node.literals = std::move(literals);
    return absl::OkStatus();
  }

  static absl::StatusOr<std::string> LiteralText(const Json& value, const std::string& path) {
    std::string text;
    try {
      text = value.dump();
    } catch (const Json::exception&) {
      return Refuse(path, "an 'enum' or 'const' value is not valid UTF-8");
    }
    if (text.size() > JsonSchema::kMaxLiteralBytes) {
      return Refuse(path, absl::StrCat("an 'enum' or 'const' value is longer than ", JsonSchema::kMaxLiteralBytes,
                                       " bytes as JSON"));
    }
    return text;
  }

  static bool OfType(const Json& value, const Json& type) {
    if (type.is_string()) return MatchesType(value, type.get_ref<const std::string&>());
    if (!type.is_array()) return false;
    return std::any_of(type.begin(), type.end(), [&](const Json& name) {
      return name.is_string() && MatchesType(value, name.get_ref<const std::string&>());
    });
  }

  absl::Status CompileUnion(uint32_t index, const Json& schema, const std::string& path, int depth) {
    if (schema.contains("anyOf") && schema.contains("oneOf")) return Refuse(path, "give 'anyOf' or 'oneOf', not both");
    const std::string keyword = schema.contains("anyOf") ? "anyOf" : "oneOf";
    nodes_[index].one_of = keyword == "oneOf";
    for (const char* name : kConstraining) {
      if (name != keyword && schema.contains(name)) {
        return Refuse(path, absl::StrCat("'", name, "' beside '", keyword, "' is not supported"));
      }
    }
    const Json& list = *Field(schema, keyword);
    if (!list.is_array() || list.empty()) return Refuse(path, absl::StrCat("'", keyword, "' must be a non-empty list"));
    // Alternatives start with different bytes (checked once all nodes are compiled), so at most one
    // matches any value: oneOf holds wherever anyOf does.
    nodes_[index].kind = Kind::kUnion;
    for (size_t i = 0; i < list.size(); ++i) {
      CAI_ASSIGN_OR_RETURN(const uint32_t alternative,
                           Compile(list[i], Child(path, absl::StrCat(keyword, "[", i, "]")), depth + 1));
      nodes_[index].alternatives.push_back(alternative);
    }
    return absl::OkStatus();
  }

  absl::Status CompileTyped(uint32_t index, const Json& schema, const std::string& type, const std::string& path,
                            int depth) {
    JsonSchema::Node& node = nodes_[index];
    if (type == "object") return CompileObject(index, schema, path, depth);
    if (type == "array") return CompileArray(index, schema, path, depth);
    if (type == "string") {
      node.kind = Kind::kString;
      node.first_bytes = Bytes("\"");
    } else if (type == "number" || type == "integer") {
      node.kind = type == "number" ? Kind::kNumber : Kind::kInteger;
      node.first_bytes = NumberStarts();
    } else if (type == "boolean" || type == "null") {
      node.kind = Kind::kLiterals;
      node.literals = type == "null" ? std::vector<std::string>{"null"} : std::vector<std::string>{"false", "true"};
      node.first_bytes = Bytes(type == "null" ? "n" : "ft");
    } else {
      return Refuse(path, absl::StrCat("'type' '", type.substr(0, 64), "' is not a JSON Schema type"));
    }
    return absl::OkStatus();
  }

  absl::Status CompileObject(uint32_t index, const Json& schema, const std::string& path, int depth) {
    const Json* properties = Field(schema, "properties");
    const Json* additional = Field(schema, "additionalProperties");
    if (additional != nullptr && !additional->is_boolean()) {
      return Refuse(path, "'additionalProperties' as a schema is not supported (declare the properties)");
    }
    if (properties != nullptr && !properties->is_object()) return Refuse(path, "'properties' must be an object");
    const Json* required = Field(schema, "required");
    if (required != nullptr && !required->is_array()) return Refuse(path, "'required' must be a list of names");
    if (properties == nullptr && (additional == nullptr || additional->get<bool>())) {
      if (required != nullptr && !required->empty()) {
        return Refuse(path, "'required' names properties that 'properties' does not declare");
      }
      nodes_[index].first_bytes = Bytes("{");  // any object
      return absl::OkStatus();
    }
    if (properties != nullptr && properties->size() > JsonSchema::kMaxProperties) {
      return Refuse(path, absl::StrCat("an object may declare at most ", JsonSchema::kMaxProperties, " properties"));
    }
    // Sorted by the name's JSON text, which JsonSchemaPrefix matches a byte at a time.
    struct Property {
      std::string key;  // the name as JSON text
      std::string name;
      const Json* schema;
    };
    std::vector<Property> declared;
    if (properties != nullptr) {
      for (const auto& [name, value] : properties->items()) {
        CAI_ASSIGN_OR_RETURN(std::string key, LiteralText(Json(name), path));
        declared.push_back({.key = std::move(key), .name = name, .schema = &value});
      }
    }
    std::sort(declared.begin(), declared.end(), [](const Property& a, const Property& b) { return a.key < b.key; });
    std::vector<uint32_t> values;
    for (const Property& property : declared) {
      CAI_ASSIGN_OR_RETURN(const uint32_t child,
                           Compile(*property.schema, Child(Child(path, "properties"), property.name), depth + 1));
      values.push_back(child);
    }
    uint64_t required_bits = 0;
    if (required != nullptr) {
      for (const Json& name : *required) {
        if (!name.is_string()) return Refuse(path, "'required' must be a list of names");
        const std::string key = Json(name).dump();
        const auto it = std::lower_bound(declared.begin(), declared.end(), key,
                                         [](const Property& entry, const std::string& k) { return entry.key < k; });
        if (it == declared.end() || it->key != key) {
          return Refuse(path, absl::StrCat("'required' names '", name.get_ref<const std::string&>().substr(0, 64),
                                           "', which 'properties' does not declare"));
        }
        required_bits |= uint64_t{1} << (it - declared.begin());
      }
    }
    JsonSchema::Node& node = nodes_[index];  // after the children: nodes_ may have grown
    node.kind = Kind::kObject;
    node.first_bytes = Bytes("{");
    for (Property& property : declared) node.keys.push_back(std::move(property.key));
    node.values = std::move(values);
    node.required = required_bits;
    return absl::OkStatus();
  }

  absl::Status CompileArray(uint32_t index, const Json& schema, const std::string& path, int depth) {
    CAI_ASSIGN_OR_RETURN(const uint32_t min_items, Count(schema, "minItems", 0, path));
    CAI_ASSIGN_OR_RETURN(uint32_t max_items, Count(schema, "maxItems", std::numeric_limits<uint32_t>::max(), path));
    if (min_items > max_items) return Refuse(path, "'minItems' is above 'maxItems'");
    const Json* items = Field(schema, "items");
    if (items != nullptr && items->is_array()) return Refuse(path, "'items' as a list (a tuple) is not supported");
    uint32_t items_node = JsonSchema::kNoNode;
    if (items != nullptr && items->is_boolean() && !items->get<bool>()) {
      if (min_items > 0) return Refuse(path, "'items' false admits no item, yet 'minItems' asks for some");
      max_items = 0;
    } else {
      CAI_ASSIGN_OR_RETURN(items_node, Compile(items != nullptr ? *items : Json(true), Child(path, "items"), depth + 1));
    }
    JsonSchema::Node& node = nodes_[index];
    node.kind = Kind::kArray;
    node.first_bytes = Bytes("[");
    node.items = items_node;
    node.min_items = min_items;
    node.max_items = max_items;
    return absl::OkStatus();
  }

  // A union's first bytes are its alternatives', which must not overlap, once nested unions are
  // flattened and its objects merged into one kObjects node. `visiting_` finds a union that
  // contains itself without anything in between (no value could ever start it).
  absl::Status FirstBytes(uint32_t index) {
    if (nodes_[index].kind != Kind::kUnion || nodes_[index].first_bytes.any()) return absl::OkStatus();
    if (visiting_[index] != 0) return Refuse(paths_[index], "the schema refers to itself with no value in between");
    visiting_[index] = 1;
    std::vector<uint32_t> leaves, objects;
    for (uint32_t alternative : std::vector<uint32_t>(nodes_[index].alternatives)) {
      CAI_RETURN_IF_ERROR(FirstBytes(alternative));
      const JsonSchema::Node& node = nodes_[alternative];
      const std::vector<uint32_t> flat = node.kind == Kind::kUnion ? node.alternatives : std::vector{alternative};
      for (uint32_t leaf : flat) {
        const JsonSchema::Node& leaf_node = nodes_[leaf];
        if (leaf_node.kind == Kind::kObject) {
          objects.push_back(leaf);
        } else if (leaf_node.kind == Kind::kObjects) {
          objects.insert(objects.end(), leaf_node.alternatives.begin(), leaf_node.alternatives.end());
        } else {
          leaves.push_back(leaf);
        }
      }
    }
    if (objects.size() == 1) leaves.push_back(objects[0]);
    if (objects.size() > 1) {
      // A copy of the path: merging adds nodes, and so moves paths_.
      const std::string path = paths_[index];
      CAI_ASSIGN_OR_RETURN(const uint32_t merged, MergeObjects(objects, nodes_[index].one_of, path));
      leaves.push_back(merged);
    }
    std::bitset<256> bytes;
    for (uint32_t leaf : leaves) {
      // A number's sign is no kind of its own: -0 and 0 are one value, so -0 and 0 literals (or a
      // negative and a positive number schema) would both match it, and oneOf would not hold.
      std::bitset<256> starts = nodes_[leaf].first_bytes;
      if ((starts & NumberStarts()).any()) starts |= NumberStarts();
      if ((bytes & starts).any()) {
        return Refuse(paths_[index], "the alternatives of 'anyOf', 'oneOf' or a list of types must be of different "
                                     "kinds (say, a string and null), or objects: two may start alike, which is not "
                                     "supported");
      }
      bytes |= nodes_[leaf].first_bytes;
    }
    visiting_[index] = 0;
    nodes_[index].alternatives = std::move(leaves);
    nodes_[index].first_bytes = bytes;
    return absl::OkStatus();
  }

  // The node a value of `index` is read as: through unions of one ($ref aliases). Bounded, since
  // a cycle of aliases may not have been refused yet (FirstBytes refuses it later).
  uint32_t Resolved(uint32_t index) const {
    for (size_t steps = 0; steps < nodes_.size(); ++steps) {
      if (nodes_[index].kind != Kind::kUnion || nodes_[index].alternatives.size() != 1) break;
      index = nodes_[index].alternatives[0];
    }
    return index;
  }

  // Whether values of `a` and `b` are read alike: one node, or nodes of the same shape (as two
  // models' Optional[str] fields are). Looks at most kMaxSameDepth levels down (recursive schemas)
  // and at most same_steps_left_ nodes in all (a schema's $refs can make the tree exponential in
  // its text), answering no beyond: the objects are then refused, never merged wrongly.
  static constexpr int kMaxSameDepth = 8;
  static constexpr size_t kMaxSameSteps = 4096;  // per merge
  bool SameValues(uint32_t a, uint32_t b, int depth = 0) {
    if (a == JsonSchema::kNoNode || b == JsonSchema::kNoNode) return a == b;
    if (same_steps_left_ == 0) return false;
    --same_steps_left_;
    a = Resolved(a);
    b = Resolved(b);
    if (a == b) return true;
    const JsonSchema::Node& x = nodes_[a];
    const JsonSchema::Node& y = nodes_[b];
    if (x.kind != y.kind || depth >= kMaxSameDepth) return false;
    const auto all_same = [&](const std::vector<uint32_t>& xs, const std::vector<uint32_t>& ys) {
      if (xs.size() != ys.size()) return false;
      for (size_t i = 0; i < xs.size(); ++i) {
        if (!SameValues(xs[i], ys[i], depth + 1)) return false;
      }
      return true;
    };
    switch (x.kind) {
      case Kind::kAny:
      case Kind::kString:
      case Kind::kNumber:
      case Kind::kInteger:
        return x.first_bytes == y.first_bytes;
      case Kind::kLiterals:
        return x.literals == y.literals && x.literal_owners.empty() && y.literal_owners.empty();
      case Kind::kUnion:
        return all_same(x.alternatives, y.alternatives);
      case Kind::kArray:
        return x.min_items == y.min_items && x.max_items == y.max_items && SameValues(x.items, y.items, depth + 1);
      case Kind::kObject:
        return x.keys == y.keys && x.required == y.required && all_same(x.values, y.values);
      case Kind::kObjects:
        return false;
    }
    return false;
  }

  // Several objects as one node: a property declared by several must have one schema in all, or be
  // enum/const values in all, whose values then say which alternatives remain.
  absl::StatusOr<uint32_t> MergeObjects(const std::vector<uint32_t>& objects, bool one_of, const std::string& path) {
    if (objects.size() > JsonSchema::kMaxObjectAlternatives) {
      return Refuse(path, absl::StrCat("at most ", JsonSchema::kMaxObjectAlternatives,
                                       " objects may be alternatives of one 'anyOf' or 'oneOf'"));
    }
    std::vector<std::string> keys;
    for (uint32_t object : objects) keys.insert(keys.end(), nodes_[object].keys.begin(), nodes_[object].keys.end());
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (keys.size() > JsonSchema::kMaxProperties) {
      return Refuse(path, absl::StrCat("objects that are alternatives declare more than ", JsonSchema::kMaxProperties,
                                       " properties together"));
    }
    const auto key_index = [&](const std::string& key) {
      return static_cast<size_t>(std::lower_bound(keys.begin(), keys.end(), key) - keys.begin());
    };
    std::vector<uint32_t> owners(keys.size(), 0);
    std::vector<uint64_t> required(objects.size(), 0);
    std::vector<std::vector<uint32_t>> declared_values(keys.size(), std::vector<uint32_t>(objects.size(), JsonSchema::kNoNode));
    for (size_t a = 0; a < objects.size(); ++a) {
      const JsonSchema::Node& object = nodes_[objects[a]];
      for (size_t i = 0; i < object.keys.size(); ++i) {
        const size_t k = key_index(object.keys[i]);
        owners[k] |= uint32_t{1} << a;
        declared_values[k][a] = object.values[i];
        if ((object.required >> i) & 1) required[a] |= uint64_t{1} << k;
      }
    }
    std::vector<uint32_t> values(keys.size());
    same_steps_left_ = kMaxSameSteps;
    for (size_t k = 0; k < keys.size(); ++k) {
      std::vector<uint32_t> declaring;
      for (size_t a = 0; a < objects.size(); ++a) {
        if (declared_values[k][a] != JsonSchema::kNoNode) declaring.push_back(static_cast<uint32_t>(a));
      }
      const uint32_t first = declared_values[k][declaring[0]];
      const bool shared = std::all_of(declaring.begin(), declaring.end(),
                                      [&](uint32_t a) { return SameValues(declared_values[k][a], first); });
      if (shared) {
        values[k] = first;
        continue;
      }
      CAI_ASSIGN_OR_RETURN(values[k], MergeLiterals(declared_values[k], path, keys[k]));
    }
    if (one_of) {
      for (size_t a = 0; a < objects.size(); ++a) {
        for (size_t b = a + 1; b < objects.size(); ++b) {
          if (!Discriminated(declared_values, required, a, b)) {
            return Refuse(path, "objects that are alternatives of 'oneOf' must each pair require a property whose "
                                "enum or const values tell them apart (a discriminator)");
          }
        }
      }
    }
    CAI_ASSIGN_OR_RETURN(const uint32_t index, NewNode(path));
    JsonSchema::Node& node = nodes_[index];
    node.kind = Kind::kObjects;
    node.first_bytes = Bytes("{");
    node.alternatives = objects;
    node.keys = std::move(keys);
    node.values = std::move(values);
    node.key_owners = std::move(owners);
    node.alternative_required = std::move(required);
    return index;
  }

  // The values of one property of several objects (kNoNode where an object lacks it), all enum or
  // const, as one kLiterals node whose literal_owners say whose each value is.
  absl::StatusOr<uint32_t> MergeLiterals(const std::vector<uint32_t>& by_object, const std::string& path,
                                         const std::string& key) {
    std::vector<std::pair<std::string, uint32_t>> owned;  // a literal and its owners
    for (size_t a = 0; a < by_object.size(); ++a) {
      if (by_object[a] == JsonSchema::kNoNode) continue;
      const JsonSchema::Node& values = nodes_[Resolved(by_object[a])];
      if (values.kind != Kind::kLiterals) {
        return Refuse(path, absl::StrCat("objects that are alternatives declare property ", key,
                                         " with different schemas: they may differ only in its enum or const values"));
      }
      for (const std::string& literal : values.literals) owned.emplace_back(literal, uint32_t{1} << a);
    }
    std::sort(owned.begin(), owned.end());
    CAI_ASSIGN_OR_RETURN(const uint32_t index, NewNode(path));
    JsonSchema::Node& node = nodes_[index];
    node.kind = Kind::kLiterals;
    for (const auto& [literal, owner] : owned) {
      if (!node.literals.empty() && node.literals.back() == literal) {
        node.literal_owners.back() |= owner;
        continue;
      }
      node.literals.push_back(literal);
      node.literal_owners.push_back(owner);
      node.first_bytes.set(static_cast<uint8_t>(literal[0]));
    }
    literal_count_ += nodes_[index].literals.size();
    if (literal_count_ > JsonSchema::kMaxLiterals) {
      return Refuse(path, absl::StrCat("the schema lists more than ", JsonSchema::kMaxLiterals,
                                       " enum values (counting those merged for alternatives that are objects)"));
    }
    return index;
  }

  // Whether objects a and b both require a property whose enum/const values they share none of.
  // Only strings, booleans and null count: their compact texts differ exactly when the values do,
  // where 1 and 1.0 (or 0 and -0.0) are two texts of one number.
  bool Discriminated(const std::vector<std::vector<uint32_t>>& declared_values, const std::vector<uint64_t>& required,
                     size_t a, size_t b) const {
    for (size_t k = 0; k < declared_values.size(); ++k) {
      if (((required[a] & required[b]) >> k & 1) == 0) continue;
      const JsonSchema::Node& x = nodes_[Resolved(declared_values[k][a])];
      const JsonSchema::Node& y = nodes_[Resolved(declared_values[k][b])];
      if (x.kind != Kind::kLiterals || y.kind != Kind::kLiterals) continue;
      const auto plain = [](const std::string& literal) { return literal[0] == '"' || literal[0] == 't' ||
                                                                  literal[0] == 'f' || literal[0] == 'n'; };
      if (!std::all_of(x.literals.begin(), x.literals.end(), plain) ||
          !std::all_of(y.literals.begin(), y.literals.end(), plain)) {
        continue;
      }
      const bool disjoint = std::none_of(x.literals.begin(), x.literals.end(), [&](const std::string& literal) {
        return std::binary_search(y.literals.begin(), y.literals.end(), literal);
      });
      if (disjoint) return true;
    }
    return false;
  }

  const Json& root_;
  const JsonSchema::ValueAssertions assertions_;
  std::vector<JsonSchema::Node> nodes_;
  std::vector<std::string> paths_;                       // by node, for errors
  std::vector<uint8_t> visiting_;                        // by node: FirstBytes is under way
  absl::flat_hash_map<const Json*, uint32_t> compiled_;  // subschemas reached by $ref, by address
  size_t literal_count_ = 0;
  size_t same_steps_left_ = 0;  // SameValues' budget
};

absl::StatusOr<std::shared_ptr<const JsonSchema>> JsonSchema::Parse(std::string_view text,
                                                                    ValueAssertions assertions) {
  const Json schema = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) return absl::InvalidArgumentError("json_schema: the schema is not valid JSON");
  return JsonSchemaCompiler(schema, assertions).Run();
}

const std::shared_ptr<const JsonSchema>& JsonSchema::AnyObject() {
  static const std::shared_ptr<const JsonSchema> any_object = *Parse(R"({"type":"object"})");
  return any_object;
}

const std::shared_ptr<const JsonSchema>& JsonSchema::EmptyObject() {
  static const std::shared_ptr<const JsonSchema> empty_object =
      *Parse(R"({"type":"object","additionalProperties":false})");
  return empty_object;
}

uint32_t JsonSchema::Dispatch(uint32_t index, uint8_t byte) const {
  while (index != kNoNode && nodes_[index].first_bytes.test(byte) && nodes_[index].kind == Kind::kUnion) {
    const std::vector<uint32_t>& alternatives = nodes_[index].alternatives;
    const auto it = std::find_if(alternatives.begin(), alternatives.end(),
                                 [&](uint32_t alternative) { return nodes_[alternative].first_bytes.test(byte); });
    index = *it;  // one exists: the union's first bytes are its alternatives'
  }
  return index != kNoNode && nodes_[index].first_bytes.test(byte) ? index : kNoNode;
}

}  // namespace cai::inference
