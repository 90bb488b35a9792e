#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cai {

// Both signatures of one chat response. Signatures are public data; nothing here is secret.
struct ChatSignatures {
  std::string id;
  std::string model;
  std::string text;
  std::array<uint8_t, 65> ecdsa{};    // r || s || v
  std::array<uint8_t, 64> ed25519{};
};

// Recent signatures by response id, bounded in entries and bytes, each kept for `ttl`.
// Entries leave in insertion order, which is also expiry order (one ttl, monotonic clock): expired
// ones are purged from the front on every insert, and when full the oldest is evicted.
// Thread-safe.
class SignatureStore {
 public:
  using Clock = std::function<absl::Time()>;

  static constexpr size_t kMaxIdBytes = 128;
  static constexpr size_t kMaxModelBytes = 256;
  static constexpr size_t kMaxTextBytes = 256;

  // `clock` must not go backwards; the default reads CLOCK_MONOTONIC.
  SignatureStore(absl::Duration ttl, size_t max_entries, Clock clock = MonotonicNow);

  // InvalidArgument for an empty or oversized field, AlreadyExists for a live id.
  absl::Status Insert(ChatSignatures entry);
  // The limits Insert enforces on an entry (id 1..kMaxIdBytes, model and text sizes), so a caller
  // can refuse a request before doing work for it.
  static absl::Status Validate(const ChatSignatures& entry);
  static absl::Status ValidateId(std::string_view id);
  // NotFound for an unknown or expired id.
  absl::StatusOr<ChatSignatures> Get(std::string_view id) const;

  size_t size() const;
  // Bytes the entries account for (strings, signatures, index); at most max_entries * MaxEntryBytes().
  size_t size_bytes() const;
  static constexpr size_t MaxEntryBytes() {
    return sizeof(Slot) + sizeof(Index::value_type) + 1 + kMaxIdBytes + kMaxModelBytes + kMaxTextBytes;
  }

  static absl::Time MonotonicNow();

 private:
  struct Slot {
    absl::Time expires;
    ChatSignatures value;
  };
  // Keys view the id inside the deque's slot: std::deque never moves an element while others are
  // pushed at the back or popped at the front, so the views stay valid until their slot is popped.
  using Index = absl::flat_hash_map<std::string_view, const Slot*>;

  static size_t EntryBytes(const ChatSignatures& e);
  void PopOldest() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration ttl_;
  const size_t max_entries_;
  const Clock clock_;

  mutable absl::Mutex mu_;
  std::deque<Slot> slots_ ABSL_GUARDED_BY(mu_);  // oldest first
  Index index_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cai
