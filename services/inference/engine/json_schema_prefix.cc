#include "services/inference/engine/json_schema_prefix.h"

#include <algorithm>
#include <limits>

namespace cai::inference {
namespace {

using Kind = JsonSchema::Kind;

}  // namespace

JsonSchemaPrefix& JsonSchemaPrefix::operator=(const JsonSchemaPrefix& other) {
  if (this == &other) return *this;
  schema_ = other.schema_;
  std::copy_n(other.frames_.begin(), other.depth_, frames_.begin());
  depth_ = other.depth_;
  whitespace_run_ = other.whitespace_run_;
  done_ = other.done_;
  token_ = other.token_;
  integer_ = other.integer_;
  literal_key_ = other.literal_key_;
  literal_node_ = other.literal_node_;
  low_ = other.low_;
  high_ = other.high_;
  matched_ = other.matched_;
  free_ = other.free_;
  return *this;
}

bool JsonSchemaPrefix::Step(uint8_t byte) {
  switch (token_) {
    case Token::kFree:
      return FreeByte(byte);
    case Token::kLiteral:
      return LiteralByte(byte);
    case Token::kNone:
      return Structural(byte);
  }
  return false;
}

bool JsonSchemaPrefix::Whitespace() {
  if (whitespace_run_ >= JsonPrefix::kMaxWhitespaceRun) return false;
  ++whitespace_run_;
  return true;
}

bool JsonSchemaPrefix::Structural(uint8_t byte) {
  if (done_) return false;
  if (IsJsonWhitespace(byte)) return Whitespace();
  whitespace_run_ = 0;
  if (depth_ == 0) return BeginValue(JsonSchema::kRoot, byte);
  Frame& frame = frames_[depth_ - 1];
  const JsonSchema::Node& node = Top();
  const bool object = node.kind != Kind::kArray;
  switch (frame.phase) {
    case Phase::kKeyOrEnd:
    case Phase::kKey:
      if (byte == '"') {
        token_ = Token::kLiteral;
        literal_key_ = true;
        low_ = 0;
        high_ = static_cast<uint16_t>(node.keys.size());
        matched_ = 0;
        return LiteralByte(byte);
      }
      return frame.phase == Phase::kKeyOrEnd && byte == '}' && Close();
    case Phase::kColon:
      if (byte != ':') return false;
      frame.phase = Phase::kValue;
      return true;
    case Phase::kValueOrEnd:
      if (byte == ']') return Close();
      if (frame.items >= node.max_items) return false;  // maxItems 0
      [[fallthrough]];
    case Phase::kValue:
      return BeginValue(object ? node.values[frame.key] : node.items, byte);
    case Phase::kCommaOrEnd:
      if (byte == ',') {
        if (object ? !AnyUnwritten(0, static_cast<uint32_t>(node.keys.size())) : frame.items >= node.max_items) {
          return false;
        }
        frame.phase = object ? Phase::kKey : Phase::kValue;
        return true;
      }
      return byte == (object ? '}' : ']') && Close();
  }
  return false;
}

bool JsonSchemaPrefix::Close() {
  const Frame& frame = frames_[depth_ - 1];
  const JsonSchema::Node& node = Top();
  bool whole = false;
  switch (node.kind) {
    case Kind::kObject:
      whole = (frame.written & node.required) == node.required;
      break;
    case Kind::kObjects:  // some alternative still possible has all it requires
      for (uint32_t a = 0; a < node.alternatives.size() && !whole; ++a) {
        whole = ((frame.candidates >> a) & 1) != 0 && (node.alternative_required[a] & ~frame.written) == 0;
      }
      break;
    default:
      whole = frame.items >= node.min_items;
  }
  if (!whole) return false;
  --depth_;
  EndValue();
  return true;
}

bool JsonSchemaPrefix::BeginValue(uint32_t expected, uint8_t byte) {
  const uint32_t index = schema_->Dispatch(expected, byte);
  if (index == JsonSchema::kNoNode) return false;
  const JsonSchema::Node& node = schema_->node(index);
  switch (node.kind) {
    case Kind::kObject:
    case Kind::kObjects:
    case Kind::kArray:
      if (depth_ == kMaxDepth) return false;
      frames_[depth_++] = Frame{
          .written = 0,
          .items = 0,
          .candidates = node.kind == Kind::kObjects ? static_cast<uint32_t>((uint64_t{1} << node.alternatives.size()) - 1)
                                                    : 0,
          .node = static_cast<uint16_t>(index),
          .key = 0,
          .phase = node.kind == Kind::kArray ? Phase::kValueOrEnd : Phase::kKeyOrEnd};
      return true;
    case Kind::kLiterals:
      token_ = Token::kLiteral;
      literal_key_ = false;
      literal_node_ = static_cast<uint16_t>(index);
      low_ = 0;
      high_ = static_cast<uint16_t>(node.literals.size());
      matched_ = 0;
      return LiteralByte(byte);
    case Kind::kAny:
    case Kind::kString:
    case Kind::kNumber:
    case Kind::kInteger:
      token_ = Token::kFree;
      integer_ = node.kind == Kind::kInteger;
      free_ = JsonPrefix::AnyValue();
      return FreeByte(byte);
    case Kind::kUnion:
      break;  // Dispatch never answers one
  }
  return false;
}

bool JsonSchemaPrefix::FreeByte(uint8_t byte) {
  // In an integer the bytes of a fraction or an exponent can neither continue it nor follow it.
  if (integer_ && (byte == '.' || byte == 'e' || byte == 'E')) return false;
  const bool could_end = free_.could_end();
  if (free_.FeedOrSpoil(byte)) {
    if (free_.complete()) EndValue();
    return true;
  }
  // A number ends only at the byte after it, which the schema's text then reads (free_, spoiled,
  // is not read again).
  if (!could_end) return false;
  EndValue();
  return Structural(byte);
}

const std::vector<std::string>& JsonSchemaPrefix::Candidates() const {
  return literal_key_ ? Top().keys : schema_->node(literal_node_).literals;
}

bool JsonSchemaPrefix::AnyUnwritten(uint32_t low, uint32_t high) const {
  const Frame& frame = frames_[depth_ - 1];
  const JsonSchema::Node& node = Top();
  if (node.kind == Kind::kObjects) {
    for (uint32_t k = low; k < high; ++k) {
      if (((frame.written >> k) & 1) == 0 && (node.key_owners[k] & frame.candidates) != 0) return true;
    }
    return false;
  }
  const auto below = [](uint32_t n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; };
  return ((below(high) & ~below(low)) & ~frame.written) != 0;
}

bool JsonSchemaPrefix::ValuePossible(uint32_t i) const {
  const std::vector<uint32_t>& owners = schema_->node(literal_node_).literal_owners;
  return owners.empty() || (owners[i] & frames_[depth_ - 1].candidates) != 0;
}

bool JsonSchemaPrefix::LiteralByte(uint8_t byte) {
  const std::vector<std::string>& texts = Candidates();
  // The candidates share their first matched_ bytes and are sorted bytewise, so those with `byte`
  // next form a run, after any that end at matched_.
  const auto next_byte = [&](uint32_t i) -> int {
    return texts[i].size() > matched_ ? static_cast<uint8_t>(texts[i][matched_]) : -1;
  };
  // The first index in [from, high_) where `before` no longer holds (it holds on a prefix).
  const auto partition = [&](uint32_t from, auto before) {
    uint32_t to = high_;
    while (from < to) {
      const uint32_t mid = from + (to - from) / 2;
      if (before(next_byte(mid))) {
        from = mid + 1;
      } else {
        to = mid;
      }
    }
    return from;
  };
  const uint32_t low = partition(low_, [&](int next) { return next < byte; });
  const uint32_t high = partition(low, [&](int next) { return next <= byte; });
  const auto any_possible = [&] {
    if (literal_key_) return AnyUnwritten(low, high);
    for (uint32_t i = low; i < high; ++i) {
      if (ValuePossible(i)) return true;
    }
    return false;
  };
  if (low < high && any_possible()) {
    low_ = static_cast<uint16_t>(low);
    high_ = static_cast<uint16_t>(high);
    ++matched_;
    // Whole, and nothing else could continue it: ends here (property names and all but numbers
    // always do, since none is a prefix of another).
    if (high_ - low_ == 1 && texts[low_].size() == matched_) EndLiteral();
    return true;
  }
  // Nothing continues: the text may have ended at the byte before (1 among 1 and 12).
  if (literal_key_ || low_ >= high_ || texts[low_].size() != matched_ || !ValuePossible(low_)) return false;
  EndLiteral();
  return Structural(byte);
}

void JsonSchemaPrefix::EndLiteral() {
  if (!literal_key_) {
    // A discriminator's value: only the alternatives it belongs to remain.
    const std::vector<uint32_t>& owners = schema_->node(literal_node_).literal_owners;
    if (!owners.empty()) frames_[depth_ - 1].candidates &= owners[low_];
    EndValue();
    return;
  }
  Frame& frame = frames_[depth_ - 1];
  frame.key = static_cast<uint8_t>(low_);
  frame.written |= uint64_t{1} << low_;
  if (Top().kind == Kind::kObjects) frame.candidates &= Top().key_owners[low_];
  frame.phase = Phase::kColon;
  token_ = Token::kNone;
}

void JsonSchemaPrefix::EndValue() {
  token_ = Token::kNone;
  if (depth_ == 0) {
    done_ = true;
    return;
  }
  Frame& frame = frames_[depth_ - 1];
  const bool array = schema_->node(frame.node).kind == Kind::kArray;
  if (array && frame.items < std::numeric_limits<uint32_t>::max()) ++frame.items;
  frame.phase = Phase::kCommaOrEnd;
}

}  // namespace cai::inference
