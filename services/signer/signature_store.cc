#include "services/signer/signature_store.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cai {

absl::Time SignatureStore::MonotonicNow() {
  return absl::UnixEpoch() + absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

SignatureStore::SignatureStore(absl::Duration ttl, size_t max_entries, Clock clock)
    : ttl_(ttl), max_entries_(max_entries), clock_(std::move(clock)) {}

size_t SignatureStore::EntryBytes(const ChatSignatures& e) {
  return sizeof(Slot) + sizeof(Index::value_type) + 1 + e.id.size() + e.model.size() + e.text.size();
}

void SignatureStore::PopOldest() {
  const Slot& oldest = slots_.front();
  index_.erase(std::string_view(oldest.value.id));
  bytes_ -= EntryBytes(oldest.value);
  slots_.pop_front();
}

absl::Status SignatureStore::ValidateId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("id must be 1..", kMaxIdBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status SignatureStore::Validate(const ChatSignatures& entry) {
  if (absl::Status id = ValidateId(entry.id); !id.ok()) return id;
  if (entry.model.size() > kMaxModelBytes) {
    return absl::InvalidArgumentError(absl::StrCat("model must be at most ", kMaxModelBytes, " bytes"));
  }
  if (entry.text.size() > kMaxTextBytes) {
    return absl::InvalidArgumentError(absl::StrCat("text must be at most ", kMaxTextBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status SignatureStore::Insert(ChatSignatures entry) {
  if (absl::Status valid = Validate(entry); !valid.ok()) return valid;
  if (max_entries_ == 0) return absl::ResourceExhaustedError("signature store has no capacity");

  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  while (!slots_.empty() && slots_.front().expires <= now) PopOldest();
  if (index_.contains(std::string_view(entry.id))) {
    return absl::AlreadyExistsError("a signature with this id already exists");
  }
  while (slots_.size() >= max_entries_) PopOldest();

  bytes_ += EntryBytes(entry);
  const Slot& slot = slots_.emplace_back(Slot{now + ttl_, std::move(entry)});
  index_.emplace(std::string_view(slot.value.id), &slot);
  return absl::OkStatus();
}

absl::StatusOr<ChatSignatures> SignatureStore::Get(std::string_view id) const {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  auto it = index_.find(id);
  if (it == index_.end() || it->second->expires <= now) {
    return absl::NotFoundError("no signature for this id (unknown or expired)");
  }
  return it->second->value;
}

size_t SignatureStore::size() const {
  absl::MutexLock lock(&mu_);
  return slots_.size();
}

size_t SignatureStore::size_bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace cai
