#include "services/inference/engine/json_prefix.h"

#include "lib/common/hex.h"
#include "lib/common/utf8.h"

namespace cai::inference {
namespace {

bool IsDigit(uint8_t byte) { return byte >= '0' && byte <= '9'; }

}  // namespace

JsonPrefix JsonPrefix::AnyValue() {
  JsonPrefix value;
  value.mode_ = Mode::kValue;  // at depth 0, which an object root never is
  return value;
}

bool JsonPrefix::could_end() const {
  if (complete()) return true;
  const bool number_may_end =
      mode_ == Mode::kZero || mode_ == Mode::kInteger || mode_ == Mode::kFraction || mode_ == Mode::kExponentDigits;
  return depth_ == 0 && number_may_end;
}

JsonPrefix::StringPosition JsonPrefix::string_position() const {
  switch (mode_) {
    case Mode::kString:
      return utf8_left_ == 0 ? StringPosition::kPlain : StringPosition::kOther;
    case Mode::kEscape:
      return StringPosition::kAfterBackslash;
    case Mode::kHex:
    case Mode::kLowSurrogateSlash:
    case Mode::kLowSurrogateU:
      return StringPosition::kOther;
    default:
      return StringPosition::kOutside;
  }
}

bool JsonPrefix::Step(uint8_t byte) {
  switch (mode_) {
    case Mode::kStart:
      if (IsJsonWhitespace(byte)) return StructuralWhitespace();
      return byte == '{' && Open(true);
    case Mode::kKeyOrEnd:
    case Mode::kKey:
      if (IsJsonWhitespace(byte)) return StructuralWhitespace();
      whitespace_run_ = 0;
      if (byte == '"') {
        mode_ = Mode::kString;
        key_ = true;
        return true;
      }
      return mode_ == Mode::kKeyOrEnd && byte == '}' && Close(true);
    case Mode::kColon:
      if (IsJsonWhitespace(byte)) return StructuralWhitespace();
      whitespace_run_ = 0;
      if (byte != ':') return false;
      mode_ = Mode::kValue;
      return true;
    case Mode::kValue:
    case Mode::kValueOrEnd:
      if (IsJsonWhitespace(byte)) return depth_ > 0 && StructuralWhitespace();
      whitespace_run_ = 0;
      if (mode_ == Mode::kValueOrEnd && byte == ']') return Close(false);
      return BeginValue(byte);
    case Mode::kCommaOrEnd:
      if (IsJsonWhitespace(byte)) return StructuralWhitespace();
      whitespace_run_ = 0;
      if (byte == ',') {
        mode_ = InObject() ? Mode::kKey : Mode::kValue;
        return true;
      }
      return (byte == '}' || byte == ']') && Close(byte == '}');
    case Mode::kString:
      return StringByte(byte);
    case Mode::kEscape:
      if (byte == 'u') {
        mode_ = Mode::kHex;
        hex_left_ = 4;
        hex_high_byte_ = 0;
        return true;
      }
      switch (byte) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          mode_ = Mode::kString;
          return true;
        default:
          return false;
      }
    case Mode::kHex:
      return HexDigit(byte);
    case Mode::kLowSurrogateSlash:
      if (byte != '\\') return false;
      mode_ = Mode::kLowSurrogateU;
      return true;
    case Mode::kLowSurrogateU:
      if (byte != 'u') return false;
      mode_ = Mode::kHex;
      hex_left_ = 4;
      hex_high_byte_ = 0;
      return true;
    case Mode::kMinus:
      if (!IsDigit(byte)) return false;
      mode_ = byte == '0' ? Mode::kZero : Mode::kInteger;
      return true;
    case Mode::kPoint:
    case Mode::kExponentSign:
      if (!IsDigit(byte)) return false;
      mode_ = mode_ == Mode::kPoint ? Mode::kFraction : Mode::kExponentDigits;
      return true;
    case Mode::kExponent:
      if (byte == '+' || byte == '-') {
        mode_ = Mode::kExponentSign;
        return true;
      }
      if (!IsDigit(byte)) return false;
      mode_ = Mode::kExponentDigits;
      return true;
    case Mode::kZero:
    case Mode::kInteger:
    case Mode::kFraction:
    case Mode::kExponentDigits:
      if (IsDigit(byte) && mode_ != Mode::kZero) return true;
      if (byte == '.' && (mode_ == Mode::kZero || mode_ == Mode::kInteger)) {
        mode_ = Mode::kPoint;
        return true;
      }
      if ((byte == 'e' || byte == 'E') && mode_ != Mode::kExponentDigits) {
        mode_ = Mode::kExponent;
        return true;
      }
      // A number ends only at the byte after it, which the container then reads.
      EndValue();
      return Step(byte);
    case Mode::kLiteral:
      if (byte != static_cast<uint8_t>(*literal_)) return false;
      if (*++literal_ == '\0') EndValue();
      return true;
    case Mode::kDone:
      return false;
  }
  return false;
}

bool JsonPrefix::StructuralWhitespace() {
  if (whitespace_run_ >= kMaxWhitespaceRun) return false;
  ++whitespace_run_;
  return true;
}

bool JsonPrefix::BeginValue(uint8_t byte) {
  switch (byte) {
    case '{':
    case '[':
      return Open(byte == '{');
    case '"':
      mode_ = Mode::kString;
      key_ = false;
      return true;
    case '-':
      mode_ = Mode::kMinus;
      return true;
    case 't':
      literal_ = "rue";
      break;
    case 'f':
      literal_ = "alse";
      break;
    case 'n':
      literal_ = "ull";
      break;
    default:
      if (!IsDigit(byte)) return false;
      mode_ = byte == '0' ? Mode::kZero : Mode::kInteger;
      return true;
  }
  mode_ = Mode::kLiteral;
  return true;
}

bool JsonPrefix::Open(bool object) {
  if (depth_ >= kMaxDepth) return false;
  const uint64_t bit = uint64_t{1} << depth_;
  objects_ = object ? objects_ | bit : objects_ & ~bit;
  ++depth_;
  whitespace_run_ = 0;
  mode_ = object ? Mode::kKeyOrEnd : Mode::kValueOrEnd;
  return true;
}

bool JsonPrefix::Close(bool object) {
  if (depth_ == 0 || InObject() != object) return false;
  --depth_;
  EndValue();
  return true;
}

void JsonPrefix::EndValue() {
  // The only value at depth 0 is the root (an object unless AnyValue()).
  mode_ = depth_ == 0 ? Mode::kDone : Mode::kCommaOrEnd;
}

bool JsonPrefix::StringByte(uint8_t byte) {
  if (utf8_left_ > 0) {
    if (byte < utf8_low_ || byte > utf8_high_) return false;
    --utf8_left_;
    utf8_low_ = 0x80;
    utf8_high_ = 0xBF;
    return true;
  }
  if (byte == '"') {
    if (key_) {
      mode_ = Mode::kColon;
    } else {
      EndValue();
    }
    return true;
  }
  if (byte == '\\') {
    mode_ = Mode::kEscape;
    return true;
  }
  if (byte < 0x20) return false;  // control characters must be escaped
  // Otherwise a character starts: its continuation bytes, if any, are checked as they come.
  const std::optional<Utf8Lead> lead = Utf8LeadOf(byte);
  if (!lead) return false;
  utf8_left_ = lead->continuation_bytes;
  utf8_low_ = lead->second_low;
  utf8_high_ = lead->second_high;
  return true;
}

bool JsonPrefix::HexDigit(uint8_t byte) {
  const int value = HexDigitValue(static_cast<char>(byte));
  if (value < 0) return false;
  const int position = 4 - hex_left_;  // 0 for the first digit
  if (position == 0 && low_surrogate_due_ && value != 0xD) return false;
  if (position == 1) {
    hex_high_byte_ = static_cast<uint8_t>(hex_high_byte_ << 4 | value);
    const bool low = hex_high_byte_ >= 0xDC && hex_high_byte_ <= 0xDF;
    if (low != low_surrogate_due_) return false;  // a low surrogate alone, or something else after a high one
    high_surrogate_ = hex_high_byte_ >= 0xD8 && hex_high_byte_ <= 0xDB;
  } else if (position == 0) {
    hex_high_byte_ = static_cast<uint8_t>(value);
  }
  if (--hex_left_ > 0) return true;
  if (high_surrogate_) {
    high_surrogate_ = false;
    low_surrogate_due_ = true;
    mode_ = Mode::kLowSurrogateSlash;
  } else {
    low_surrogate_due_ = false;
    mode_ = Mode::kString;
  }
  return true;
}

}  // namespace cai::inference
