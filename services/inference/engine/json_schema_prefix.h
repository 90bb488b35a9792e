#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "services/inference/engine/byte_recognizer.h"
#include "services/inference/engine/json_prefix.h"
#include "services/inference/engine/json_schema.h"

namespace cai::inference {

// The prefixes of the JSON texts a compiled schema admits, recognised a byte at a time: what
// response_format json_schema lets a model write. The same contract as JsonPrefix (Feed,
// FeedOrSpoil, complete, string_position), so the token mask serves both.
//
// The schema's objects and arrays are tracked here, a frame each; a string, a number or a value the
// schema leaves free is read by a JsonPrefix of its own (AnyValue), and enum values and property
// names are matched byte for byte against the schema's sorted texts, as a range of candidates that
// narrows with each byte. Whitespace between tokens is JsonPrefix's: at most kMaxWhitespaceRun in
// a row. A value nested deeper than kMaxDepth schema objects and arrays is not admitted, so a
// recursive schema's text stays bounded (a choice with nothing left to write ends as "length").
//
// Holds a pointer to `schema`, which must outlive it; copied per trie node by the token mask, so it
// is a fixed-size value (about 450 bytes, of which a copy takes 56 and 24 per frame in use).
class JsonSchemaPrefix : public ByteRecognizer<JsonSchemaPrefix> {
 public:
  static constexpr int kMaxDepth = 16;

  explicit JsonSchemaPrefix(const JsonSchema& schema) : schema_(&schema) {}
  // Copies only the frames in use: the token mask copies a state per trie node it tries, and most
  // texts are a few frames deep.
  JsonSchemaPrefix(const JsonSchemaPrefix& other) : ByteRecognizer(other) { *this = other; }
  JsonSchemaPrefix& operator=(const JsonSchemaPrefix& other);

  bool complete() const { return done_; }
  // Inside a free string, where the string is: all such positions of one kind take the same bytes
  // short of the closing quote, as in JsonPrefix. Property names and enum strings are kOutside,
  // since what may follow there depends on the schema.
  JsonPrefix::StringPosition string_position() const {
    return token_ == Token::kFree ? free_.string_position() : JsonPrefix::StringPosition::kOutside;
  }

 private:
  friend class ByteRecognizer<JsonSchemaPrefix>;

  enum class Phase : uint8_t {
    kKeyOrEnd,   // after '{'
    kKey,        // after ',' in an object
    kColon,      // after a property name
    kValue,      // after ':', or ',' in an array
    kValueOrEnd, // after '['
    kCommaOrEnd, // after a value in an object or array
  };
  // Trivial, so that frames past depth_ are left unset rather than written at every copy.
  struct Frame {
    uint64_t written;  // object: bit i, keys[i] has been written
    uint32_t items;    // array: items so far (saturates)
    uint32_t candidates;  // kObjects: bit a, alternatives[a] is still possible
    uint16_t node;     // kObject, kObjects or kArray
    uint8_t key;       // object: the property whose value comes next
    Phase phase;
  };
  // What the bytes under way are.
  enum class Token : uint8_t {
    kNone,     // between tokens
    kFree,     // a string, number or free value: free_ reads it
    kLiteral,  // an enum value or property name: one of literals [low, high)
  };

  bool Step(uint8_t byte);
  bool Structural(uint8_t byte);
  bool Close();  // the top frame's '}' or ']'
  bool BeginValue(uint32_t expected, uint8_t byte);
  bool FreeByte(uint8_t byte);
  bool LiteralByte(uint8_t byte);
  void EndLiteral();
  void EndValue();
  bool Whitespace();
  const JsonSchema::Node& Top() const { return schema_->node(frames_[depth_ - 1].node); }
  const std::vector<std::string>& Candidates() const;
  // Whether some candidate in [low, high) is a property not yet written that an alternative still
  // possible declares (objects only).
  bool AnyUnwritten(uint32_t low, uint32_t high) const;
  // Whether literal i of a value (a discriminator's) belongs to an alternative still possible.
  bool ValuePossible(uint32_t i) const;

  const JsonSchema* schema_;
  std::array<Frame, kMaxDepth> frames_;  // [0, depth_) are set
  uint8_t depth_ = 0;
  uint8_t whitespace_run_ = 0;
  bool done_ = false;
  Token token_ = Token::kNone;
  bool integer_ = false;       // kFree: a JSON Schema integer (no fraction, no exponent)
  bool literal_key_ = false;   // kLiteral: a property name of the top frame, else the values of literal_node_
  uint16_t literal_node_ = 0;
  uint16_t low_ = 0;           // kLiteral: the candidates that match the bytes so far
  uint16_t high_ = 0;
  uint16_t matched_ = 0;       // kLiteral: bytes matched so far
  JsonPrefix free_;
};

}  // namespace cai::inference
