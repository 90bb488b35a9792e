#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"

namespace cai::edge {

// Remembers the (timestamp, nonce) of recent E2EE version 2 requests, so a recorded request cannot
// be sent again while its timestamp is still accepted. A claim is kept until its timestamp leaves
// the window, so memory is bounded by the request rate; past max_claims live claims new ones are
// refused (kFull) rather than an old one forgotten. Per edge process: with one edge per signer key
// (as deployed) that is every request a key can open. Thread-safe.
class ReplayGuard {
 public:
  enum class Claim { kFresh, kReplayed, kOutsideWindow, kFull };

  ReplayGuard(int64_t window_seconds, size_t max_claims) : window_(window_seconds), max_claims_(max_claims) {}

  // kFresh (and remembered) when |now - timestamp| <= window and the pair was not claimed before.
  Claim Admit(std::string_view nonce, int64_t timestamp, int64_t now);

  int64_t window_seconds() const { return window_; }
  size_t size() const;

 private:
  void ForgetExpired(int64_t now);  // requires mu_

  const int64_t window_;
  const size_t max_claims_;
  mutable std::mutex mu_;
  absl::flat_hash_set<std::string> claims_;           // "<timestamp>:<nonce>"
  std::multimap<int64_t, std::string> by_expiry_;     // last second a claim could be replayed -> claim
};

}  // namespace cai::edge
