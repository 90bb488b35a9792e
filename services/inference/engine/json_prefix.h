#pragma once

#include <cstdint>
#include <string_view>

#include "services/inference/engine/byte_recognizer.h"

namespace cai::inference {

// JSON's whitespace between tokens (RFC 8259): space, tab, line feed, carriage return.
inline bool IsJsonWhitespace(uint8_t byte) { return byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r'; }

// The prefixes of one JSON object (RFC 8259, UTF-8), recognised a byte at a time: what JSON mode
// (response_format json_object) lets a model write. Feed answers whether a byte can follow the
// text so far on the way to a whole object; complete() whether the text is one.
//
// Strict where parsers differ, so that strict parsers take a complete text too: UTF-8 must be
// valid (no overlong forms, no encoded surrogates), a \u escape of a high surrogate must be
// followed by one of a low surrogate and a low one never comes alone, and nothing follows the
// object, not even whitespace. Numbers are taken as the grammar has them, of any size, so a parser
// that refuses values beyond a double's range (nlohmann::json does) refuses an object holding one.
// Two limits keep a runaway model's text bounded in shape: objects and arrays nest at most
// kMaxDepth deep, and at most kMaxWhitespaceRun whitespace bytes follow one another outside strings
// (models in JSON mode are known to emit newlines without end).
//
// A small value type: the token mask (json_token_mask.h) copies one per trie node it tries.
class JsonPrefix : public ByteRecognizer<JsonPrefix> {
 public:
  static constexpr int kMaxDepth = 64;
  static constexpr int kMaxWhitespaceRun = 64;

  // The prefixes of one JSON object, which whitespace may precede.
  JsonPrefix() = default;
  // The prefixes of one JSON value of any kind, starting at its first byte: the free values a
  // schema leaves open (json_schema_prefix.h), where the text around them is the schema's.
  static JsonPrefix AnyValue();

  // The text fed so far is one whole JSON object; then no byte may come next.
  bool complete() const { return mode_ == Mode::kDone; }
  // The text is one whole value should the next byte not continue it: complete(), or a number
  // (which ends only at the byte after it) on its own in AnyValue().
  bool could_end() const;
  // Where in a string the text is. All positions of one kind take the same byte strings, as long
  // as those do not end the string, whatever surrounds it (json_token_mask.h relies on this).
  enum class StringPosition {
    kOutside,
    kPlain,           // nothing under way: no escape, no partial UTF-8 character
    kAfterBackslash,  // right after the '\' of an escape
    kOther,           // in a \u escape or a UTF-8 character
  };
  StringPosition string_position() const;

 private:
  friend class ByteRecognizer<JsonPrefix>;

  enum class Mode : uint8_t {
    kStart,             // before the object's '{'
    kKeyOrEnd,          // after '{': a key or '}'
    kKey,               // after ',' in an object
    kColon,             // after a key
    kValue,             // after ':', or ',' in an array
    kValueOrEnd,        // after '[': a value or ']'
    kCommaOrEnd,        // after a value in an object or array
    kString,            // in a string (key_ says whether it is a key)
    kEscape,            // after '\' in a string
    kHex,               // in the four hex digits of a \u escape
    kLowSurrogateSlash, // after a high surrogate's escape: the '\' of the low one's
    kLowSurrogateU,     // then its 'u'
    kMinus,             // number: after '-'
    kZero,              // number: a leading 0 (no digit may follow)
    kInteger,           // number: in the integer digits
    kPoint,             // number: after '.'
    kFraction,          // number: in the fraction digits
    kExponent,          // number: after 'e' or 'E'
    kExponentSign,      // number: after the exponent's sign
    kExponentDigits,    // number: in the exponent digits
    kLiteral,           // in true, false or null
    kDone,              // the object is whole
  };

  bool Step(uint8_t byte);
  bool StructuralWhitespace();
  bool BeginValue(uint8_t byte);  // in kValue / kValueOrEnd
  bool Open(bool object);
  bool Close(bool object);
  void EndValue();
  bool InObject() const { return depth_ > 0 && ((objects_ >> (depth_ - 1)) & 1u) != 0; }
  bool StringByte(uint8_t byte);
  bool HexDigit(uint8_t byte);

  uint64_t objects_ = 0;  // bit d: the container at depth d + 1 is an object (else an array)
  Mode mode_ = Mode::kStart;
  uint8_t depth_ = 0;
  uint8_t whitespace_run_ = 0;
  bool key_ = false;
  const char* literal_ = nullptr;  // the rest of true / false / null still due
  uint8_t utf8_left_ = 0;          // continuation bytes still due in a string
  uint8_t utf8_low_ = 0x80;        // range of the next continuation byte
  uint8_t utf8_high_ = 0xBF;
  uint8_t hex_left_ = 0;
  uint8_t hex_high_byte_ = 0;      // the escape's first two hex digits
  bool high_surrogate_ = false;    // the escape being read is a high surrogate
  bool low_surrogate_due_ = false; // the escape being read must be a low surrogate
};

}  // namespace cai::inference
