#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cai::cli {

// One verification step as a verifier reports it. A check is never "pass" unless it was performed.
enum class CheckOutcome { kPass, kFail, kNotPerformed };

struct Check {
  std::string name;
  CheckOutcome outcome;
  std::string detail;  // the reason, for every outcome
};

// `text` with control bytes shown as \xNN: names and details carry text from the service or file
// under verification, which must not forge output lines or move the terminal cursor.
std::string Printable(const std::string& text);

class Checklist {
 public:
  void Pass(std::string name, std::string detail) { Add(std::move(name), CheckOutcome::kPass, std::move(detail)); }
  void Fail(std::string name, std::string detail) { Add(std::move(name), CheckOutcome::kFail, std::move(detail)); }
  void NotPerformed(std::string name, std::string detail) {
    Add(std::move(name), CheckOutcome::kNotPerformed, std::move(detail));
  }
  // Pass or Fail depending on `ok`.
  void Expect(bool ok, std::string name, std::string pass_detail, std::string fail_detail) {
    ok ? Pass(std::move(name), std::move(pass_detail)) : Fail(std::move(name), std::move(fail_detail));
  }

  bool AllPassed() const;  // no failures (not-performed checks do not fail the list)
  const std::vector<Check>& checks() const { return checks_; }
  std::string ToText() const;     // "  [pass] name: detail" lines, Printable
  std::string Summary() const;    // "44 passed, 13 not performed, 0 failed"
  nlohmann::json ToJsonValue() const;  // {"passed", "checks": [{name, outcome, detail}]}
  // The first check named `name`, or nullptr.
  const Check* Find(std::string_view name) const;

 private:
  void Add(std::string name, CheckOutcome outcome, std::string detail) {
    checks_.push_back({std::move(name), outcome, std::move(detail)});
  }
  std::vector<Check> checks_;
};

}  // namespace cai::cli
