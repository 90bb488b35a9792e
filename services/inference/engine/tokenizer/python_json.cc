#include "services/inference/engine/tokenizer/python_json.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace cai::inference {
namespace {

constexpr size_t kMaxPythonJsonDepth = 128;
// Texts with a repeated key are rewritten through a key-ordered tree up to this size (a 64 KiB
// object of one-byte keys, the worst case, then takes tens of milliseconds).
constexpr size_t kMaxRepeatedKeyText = 64 * 1024;

// Python's repr of a finite double: the shortest digits that read back the same value, in
// positional notation when the decimal exponent e (d.ddd × 10^e) is in [-4, 16), else as
// "d.ddde±XX"; a whole number in positional notation keeps a ".0".
std::string PythonFloatRepr(double value) {
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string_view scientific(buffer, static_cast<size_t>(end - buffer));  // "-1.2345e+06"
  const size_t e_at = scientific.find('e');
  const int exponent = std::atoi(std::string(scientific.substr(e_at + 1)).c_str());
  std::string_view mantissa = scientific.substr(0, e_at);
  const bool negative = mantissa.front() == '-';
  if (negative) mantissa.remove_prefix(1);
  std::string digits;  // the significant digits, without the point
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }

  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp;
  }
  if (exponent < 0) return out + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  const size_t whole = static_cast<size_t>(exponent) + 1;  // digits before the point
  if (digits.size() <= whole) return out + digits + std::string(whole - digits.size(), '0') + ".0";
  return out + digits.substr(0, whole) + "." + digits.substr(whole);
}

// json.dumps's output, written as nlohmann's parser reports the text's values in order.
class PythonJsonWriter final : public nlohmann::json_sax<nlohmann::json> {
 public:
  PythonJsonWriter(std::optional<int> indent, int level, size_t max_bytes)
      : indent_(indent), base_level_(level), max_bytes_(max_bytes) {}

  bool null() override { return Scalar("null"); }
  bool boolean(bool value) override { return Scalar(value ? "true" : "false"); }
  bool number_integer(number_integer_t value) override { return Scalar(std::to_string(value)); }
  bool number_unsigned(number_unsigned_t value) override { return Scalar(std::to_string(value)); }
  bool number_float(number_float_t value, const string_t&) override { return Scalar(PythonFloatRepr(value)); }
  bool string(string_t& value) override { return Scalar(PythonJsonString(value)); }
  bool binary(binary_t&) override { return false; }  // never in JSON text
  bool start_object(std::size_t) override { return Open('{', true); }
  bool end_object() override { return Close('}'); }
  bool start_array(std::size_t) override { return Open('[', false); }
  bool end_array() override { return Close(']'); }
  bool key(string_t& key) override {
    Level& level = levels_.back();
    if (!level.keys.insert(key).second) {
      repeated_key_ = true;
      return Fail("repeats a key in one object");
    }
    Separate(level);
    out_ += PythonJsonString(key);
    out_ += ": ";
    after_key_ = true;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return Fail("is not valid JSON");
  }

  std::string& out() { return out_; }
  const std::string& error() const { return error_; }
  bool repeated_key() const { return repeated_key_; }

 private:
  struct Level {
    bool object = false;
    size_t count = 0;  // members or elements written
    absl::flat_hash_set<std::string> keys;
  };

  bool Fail(std::string error) {
    if (error_.empty()) error_ = std::move(error);
    return false;
  }
  // The separator before a member or element, and with an indent its line.
  void Separate(Level& level) {
    if (level.count++ > 0) out_ += indent_ ? "," : ", ";
    if (indent_) NewLine(levels_.size());
  }
  void NewLine(size_t depth) {
    out_ += '\n';
    out_.append(static_cast<size_t>(*indent_) * (base_level_ + depth), ' ');
  }
  // Where a value begins: the root must be an object; an array element is separated from the last.
  bool BeginValue(bool object) {
    if (levels_.empty()) return object || Fail("is not the JSON text of an object");
    if (!after_key_) Separate(levels_.back());
    after_key_ = false;
    return true;
  }
  bool Scalar(const std::string& text) {
    if (!BeginValue(false)) return false;
    out_ += text;
    return WithinBounds();
  }
  bool Open(char bracket, bool object) {
    if (!BeginValue(object)) return false;
    if (levels_.size() >= kMaxPythonJsonDepth) return Fail("nests deeper than 128");
    out_ += bracket;
    levels_.push_back(Level{.object = object, .count = 0, .keys = {}});
    return WithinBounds();
  }
  // Indentation grows with depth, so the text written may be far longer than the text read.
  bool WithinBounds() {
    return out_.size() <= max_bytes_ || Fail(absl::StrCat("is longer than ", max_bytes_, " bytes once written"));
  }
  bool Close(char bracket) {
    const bool empty = levels_.back().count == 0;
    levels_.pop_back();
    if (indent_ && !empty) NewLine(levels_.size());
    out_ += bracket;
    return true;
  }

  const std::optional<int> indent_;
  const int base_level_;
  const size_t max_bytes_;
  bool repeated_key_ = false;
  std::vector<Level> levels_;
  bool after_key_ = false;
  std::string out_;
  std::string error_;
};

}  // namespace

std::string PythonJsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

absl::StatusOr<std::string> PythonJsonDumps(std::string_view text, std::optional<int> indent, int level,
                                            size_t max_bytes) {
  PythonJsonWriter writer(indent, level, max_bytes);
  if (nlohmann::json::sax_parse(text, &writer)) return std::move(writer.out());
  // Python keeps a repeated key's last value at its first place. A tree that keeps key order does
  // that too, at a cost quadratic in the keys of an object, so only for texts of bounded size.
  if (writer.repeated_key() && text.size() <= kMaxRepeatedKeyText) {
    const nlohmann::ordered_json tree = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (tree.is_discarded()) return absl::InvalidArgumentError("is not valid JSON");  // past the repeat
    return PythonJsonDumps(tree.dump(), indent, level, max_bytes);
  }
  return absl::InvalidArgumentError(writer.error().empty() ? "is not valid JSON" : writer.error());
}

}  // namespace cai::inference
