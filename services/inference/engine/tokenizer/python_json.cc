#include "services/inference/engine/tokenizer/python_json.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace cai::inference {
namespace {

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

void Write(const nlohmann::ordered_json& value, std::optional<int> indent, int depth, std::string& out) {
  const auto newline = [&](int level) {
    out += '\n';
    out.append(static_cast<size_t>(*indent * level), ' ');
  };
  const char* item_separator = indent ? "," : ", ";
  switch (value.type()) {
    case nlohmann::ordered_json::value_t::object: {
      if (value.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) out += item_separator;
        first = false;
        if (indent) newline(depth + 1);
        out += PythonJsonString(key);
        out += ": ";
        Write(item, indent, depth + 1, out);
      }
      if (indent) newline(depth);
      out += '}';
      return;
    }
    case nlohmann::ordered_json::value_t::array: {
      if (value.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += item_separator;
        first = false;
        if (indent) newline(depth + 1);
        Write(item, indent, depth + 1, out);
      }
      if (indent) newline(depth);
      out += ']';
      return;
    }
    case nlohmann::ordered_json::value_t::string:
      out += PythonJsonString(value.get_ref<const std::string&>());
      return;
    case nlohmann::ordered_json::value_t::number_float:
      out += PythonFloatRepr(value.get<double>());
      return;
    case nlohmann::ordered_json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case nlohmann::ordered_json::value_t::null:
      out += "null";
      return;
    default:  // integers (and never-parsed binary or discarded values, which dump as null)
      out += value.dump();
      return;
  }
}

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

std::string PythonJsonDumps(const nlohmann::ordered_json& value, std::optional<int> indent) {
  std::string out;
  Write(value, indent, 0, out);
  return out;
}

}  // namespace cai::inference
