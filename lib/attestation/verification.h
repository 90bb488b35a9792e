#pragma once

// What every verifier in this folder returns: one entry per check, in the order performed. A check
// is kPass only when it was performed and held; checks that need something the verifier does not
// have (collateral, NVIDIA's online services) are kNotPerformed with the reason, never kPass.
#include <string>
#include <vector>

namespace cai {

enum class CheckStatus { kPass, kFail, kNotPerformed };

struct VerificationCheck {
  std::string name;
  CheckStatus status = CheckStatus::kFail;
  std::string detail;  // the reason, for every status
};

class Verification {
 public:
  void Pass(std::string name, std::string detail) { Add(std::move(name), CheckStatus::kPass, std::move(detail)); }
  void Fail(std::string name, std::string detail) { Add(std::move(name), CheckStatus::kFail, std::move(detail)); }
  void NotPerformed(std::string name, std::string detail) {
    Add(std::move(name), CheckStatus::kNotPerformed, std::move(detail));
  }
  void Add(std::string name, CheckStatus status, std::string detail) {
    checks_.push_back({std::move(name), status, std::move(detail)});
  }
  void Append(const Verification& other, const std::string& prefix = "") {
    for (const VerificationCheck& c : other.checks_) Add(prefix + c.name, c.status, c.detail);
  }

  // No check failed and at least one passed (an empty verification proves nothing).
  bool ok() const {
    bool any_pass = false;
    for (const VerificationCheck& c : checks_) {
      if (c.status == CheckStatus::kFail) return false;
      any_pass = any_pass || c.status == CheckStatus::kPass;
    }
    return any_pass;
  }
  // The check named `name`, or nullptr.
  const VerificationCheck* Find(const std::string& name) const {
    for (const VerificationCheck& c : checks_) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }
  // The first failed check, or nullptr.
  const VerificationCheck* FirstFailure() const {
    for (const VerificationCheck& c : checks_) {
      if (c.status == CheckStatus::kFail) return &c;
    }
    return nullptr;
  }
  const std::vector<VerificationCheck>& checks() const { return checks_; }

 private:
  std::vector<VerificationCheck> checks_;
};

inline const char* CheckStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPass: return "pass";
    case CheckStatus::kFail: return "fail";
    case CheckStatus::kNotPerformed: return "not performed";
  }
  return "?";
}

}  // namespace cai
