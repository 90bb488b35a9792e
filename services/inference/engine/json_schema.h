#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cai::inference {

// A JSON Schema (response_format json_schema) compiled into the graph of nodes that
// JsonSchemaPrefix walks a byte at a time while a model writes.
//
// The subset is what constrained decoding can keep exactly, so every text that completes is valid
// against the schema; a keyword that would constrain what this cannot enforce (minimum, pattern,
// format, allOf, ...) is refused with its path rather than ignored. Taken:
//   type (a name or a list), properties, required, additionalProperties (true or false: only the
//   declared properties are written either way), items, minItems, maxItems, enum, const,
//   anyOf / oneOf (alternatives must start with different bytes, so the first byte picks one: a
//   type and null, a string and an object, ...; except objects, up to 32 of them, which may share
//   a property only with one schema, or with enum/const values that tell them apart (a
//   discriminator); oneOf's must each pair have such a property that both require, with string,
//   boolean or null values), $ref to "#"
//   or a JSON pointer under it
//   ($defs, definitions; recursion allowed), and the annotations (title, description, ...).
// The root must be an object, as OpenAI requires. Properties may come in any order; each at most
// once. Free values (strings, numbers, schemas without constraints) follow RFC 8259 as JsonPrefix
// has it, and an integer is digits only (no fraction, no exponent: 1.0 is an integer to JSON
// Schema, but not written as one here); enum and const values and property names are written in
// compact JSON (nlohmann's serialisation), byte for byte, and compared as such. Refused besides:
// $id below the root (it would move what "#/..." means there) and percent-encoded $refs.
class JsonSchema {
 public:
  static constexpr size_t kMaxNodes = 4096;
  static constexpr size_t kMaxProperties = 64;  // per object: a 64-bit set tracks those written
  static constexpr size_t kMaxLiterals = 1024;  // enum values per schema
  static constexpr size_t kMaxLiteralBytes = 1024;
  static constexpr size_t kMaxObjectAlternatives = 32;  // per anyOf/oneOf: a 32-bit set tracks those still possible

  enum class Kind : uint8_t {
    kAny,       // any value whose first byte is in first_bytes
    kObject,    // the declared properties
    kArray,     // items, min_items to max_items of them
    kString,
    kNumber,
    kInteger,   // a number without fraction or exponent
    kLiterals,  // one of `literals`, byte for byte
    kUnion,     // one of `alternatives`, chosen by the first byte
    kObjects,   // one of several objects (`alternatives`), told apart by the properties written
  };

  struct Node {
    Kind kind = Kind::kAny;
    std::bitset<256> first_bytes;  // the bytes a value of this node may start with
    // kObject: each property's name as a JSON string (quotes and escapes included), sorted
    // bytewise, and the node of its value.
    std::vector<std::string> keys;
    std::vector<uint32_t> values;
    uint64_t required = 0;  // bit i: keys[i] must be written
    // kArray
    uint32_t items = 0;
    uint32_t min_items = 0;
    uint32_t max_items = UINT32_MAX;
    // kLiterals: compact JSON texts, sorted bytewise, none twice.
    std::vector<std::string> literals;
    // kUnion: the alternatives, whose first_bytes do not overlap. kObjects: the kObject nodes.
    std::vector<uint32_t> alternatives;
    bool one_of = false;  // kUnion from oneOf
    // kObjects: `keys` are all the alternatives' properties, sorted, `values` the node of each (one
    // all its alternatives share, or a kLiterals node of all their values with literal_owners);
    // key_owners[i] has bit a when alternatives[a] declares keys[i], and alternative_required[a]
    // the keys alternatives[a] requires.
    std::vector<uint32_t> key_owners;
    std::vector<uint64_t> alternative_required;
    // kLiterals that tell kObjects alternatives apart: bit a when literals[i] is alternatives[a]'s.
    std::vector<uint32_t> literal_owners;
  };

  // What to do with a keyword that asserts something of a value which the walk cannot keep, but
  // which leaves the value's shape alone: minimum, maximum, exclusive*, multipleOf, minLength,
  // maxLength, pattern, format, content*, uniqueItems, minProperties, maxProperties.
  enum class ValueAssertions {
    kRefuse,  // structured outputs: a text that completes is valid, or there is no text
    kIgnore,  // a tool that is not `strict`: calls keep the shape, and may miss these assertions
  };

  // `text` is the schema's JSON text; errors are InvalidArgument and name the keyword's path.
  static absl::StatusOr<std::shared_ptr<const JsonSchema>> Parse(
      std::string_view text, ValueAssertions assertions = ValueAssertions::kRefuse);
  // {"type": "object"}: any JSON object (a tool whose schema could not be taken).
  static const std::shared_ptr<const JsonSchema>& AnyObject();
  // {"type": "object", "additionalProperties": false}: only {} (a tool that takes no arguments).
  static const std::shared_ptr<const JsonSchema>& EmptyObject();

  static constexpr uint32_t kRoot = 0;
  static constexpr uint32_t kNoNode = UINT32_MAX;
  const Node& node(uint32_t index) const { return nodes_[index]; }
  size_t size() const { return nodes_.size(); }
  // The node, never a union, that a value of `index` starting with `byte` belongs to; kNoNode if
  // none.
  uint32_t Dispatch(uint32_t index, uint8_t byte) const;

 private:
  friend class JsonSchemaCompiler;
  std::vector<Node> nodes_;
};

}  // namespace cai::inference
