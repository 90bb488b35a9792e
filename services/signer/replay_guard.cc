#include "services/signer/replay_guard.h"

#include "absl/strings/str_cat.h"

namespace cai {

ReplayGuard::Claim ReplayGuard::Admit(std::string_view nonce, int64_t timestamp, int64_t now) {
  if (!InWindow(timestamp, now)) return Claim::kOutsideWindow;
  const Sha256Digest key = Sha256(absl::StrCat(timestamp, ":", std::string(nonce)));
  std::lock_guard lock(mu_);
  ForgetExpired(now);
  if (claims_.contains(key)) return Claim::kReplayed;
  if (claims_.size() >= max_claims_) return Claim::kFull;
  by_expiry_.emplace(timestamp + window_, key);
  claims_.insert(key);
  return Claim::kFresh;
}

size_t ReplayGuard::size() const {
  std::lock_guard lock(mu_);
  return claims_.size();
}

void ReplayGuard::ForgetExpired(int64_t now) {
  // A claim whose timestamp is older than now - window can no longer be admitted, so it is safe
  // to forget.
  while (!by_expiry_.empty() && by_expiry_.begin()->first < now) {
    claims_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

}  // namespace cai
