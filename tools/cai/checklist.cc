#include "tools/cai/checklist.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace cai::cli {
namespace {

const char* OutcomeName(CheckOutcome outcome) {
  switch (outcome) {
    case CheckOutcome::kPass: return "pass";
    case CheckOutcome::kFail: return "fail";
    case CheckOutcome::kNotPerformed: return "not performed";
  }
  return "?";
}

}  // namespace

std::string Printable(const std::string& text) {
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(byte, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool Checklist::AllPassed() const {
  for (const Check& c : checks_) {
    if (c.outcome == CheckOutcome::kFail) return false;
  }
  return true;
}

std::string Checklist::ToText() const {
  std::string out;
  for (const Check& c : checks_) {
    absl::StrAppend(&out, "  [", OutcomeName(c.outcome), "] ", Printable(c.name), ": ", Printable(c.detail), "\n");
  }
  return out;
}

std::string Checklist::Summary() const {
  size_t counts[3] = {0, 0, 0};
  for (const Check& c : checks_) ++counts[static_cast<int>(c.outcome)];
  return absl::StrCat(counts[static_cast<int>(CheckOutcome::kPass)], " passed, ",
                      counts[static_cast<int>(CheckOutcome::kNotPerformed)], " not performed, ",
                      counts[static_cast<int>(CheckOutcome::kFail)], " failed");
}

nlohmann::json Checklist::ToJsonValue() const {
  nlohmann::json list = nlohmann::json::array();
  for (const Check& c : checks_) {
    list.push_back({{"name", c.name}, {"outcome", OutcomeName(c.outcome)}, {"detail", c.detail}});
  }
  return {{"passed", AllPassed()}, {"checks", list}};
}

const Check* Checklist::Find(std::string_view name) const {
  for (const Check& c : checks_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace cai::cli
