#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "lib/crypto/sha256.h"

namespace cai {

// Remembers the (timestamp, nonce) of recent E2EE version 2 requests, so a recorded request cannot
// be opened again while its timestamp is still accepted. It lives in the signer, next to the key
// that opens the requests, so a restarted edge or a second edge cannot reopen one. A claim is kept
// (as a 32-byte hash, whatever the nonce's length) until its timestamp leaves the window, so memory
// is bounded by the request rate; past max_claims live claims new ones are refused (kFull) rather
// than an old one forgotten, which would let it be replayed. Thread-safe.
class ReplayGuard {
 public:
  enum class Claim { kFresh, kReplayed, kOutsideWindow, kFull };

  ReplayGuard(int64_t window_seconds, size_t max_claims) : window_(window_seconds), max_claims_(max_claims) {}

  // |now - timestamp| <= window: what Admit requires first, to be asked before costly work.
  bool InWindow(int64_t timestamp, int64_t now) const {
    // Written so that no subtraction can overflow for any int64 timestamp.
    return timestamp >= now - window_ && timestamp <= now + window_;
  }

  // kFresh (and remembered) when the timestamp is InWindow and the pair was not claimed before.
  Claim Admit(std::string_view nonce, int64_t timestamp, int64_t now);

  int64_t window_seconds() const { return window_; }
  size_t size() const;

 private:
  void ForgetExpired(int64_t now);  // requires mu_

  const int64_t window_;
  const size_t max_claims_;
  mutable std::mutex mu_;
  absl::flat_hash_set<Sha256Digest> claims_;        // SHA-256 of "<timestamp>:<nonce>"
  std::multimap<int64_t, Sha256Digest> by_expiry_;  // last second a claim could be replayed -> claim
};

}  // namespace cai
