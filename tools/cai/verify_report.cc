#include "tools/cai/verify_report.h"

#include "absl/strings/str_cat.h"

namespace cai::cli {

std::string RenderReport(const VerifyReport& report, const std::string& title, bool as_json) {
  const Checklist& list = report.checklist;
  if (as_json) {
    nlohmann::json doc = list.ToJsonValue();
    for (const auto& [key, value] : report.extra.items()) doc[key] = value;
    // Details and facts (GPU driver versions) come from the evidence: invalid UTF-8 becomes U+FFFD.
    return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string out = absl::StrCat(Printable(title), "\n", list.ToText());
  for (const std::string& line : report.summary) absl::StrAppend(&out, Printable(line), "\n");
  absl::StrAppend(&out, list.AllPassed() ? "result: PASS" : "result: FAIL", "\n");
  return out;
}

}  // namespace cai::cli
