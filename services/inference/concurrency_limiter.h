#pragma once

#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

namespace cai::inference {

// Admits at most `limit` sequences at once; the others wait in line (FIFO by ticket) until a
// slot frees or their caller gives up.
class ConcurrencyLimiter {
 public:
  explicit ConcurrencyLimiter(int limit) : limit_(limit) {}

  // Blocks until a slot is free; false (and no slot) once `cancelled` returns true.
  bool Acquire(const std::function<bool()>& cancelled) {
    std::unique_lock lock(mu_);
    const uint64_t ticket = next_ticket_++;
    while (!(ticket == serving_ && active_ < limit_)) {
      if (cancelled()) {
        // Give the turn away if it was ours, so the line keeps moving.
        abandoned_.push_back(ticket);
        Advance();
        cv_.notify_all();
        return false;
      }
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    ++active_;
    ++serving_;
    Advance();
    cv_.notify_all();
    return true;
  }

  void Release() {
    std::lock_guard lock(mu_);
    --active_;
    cv_.notify_all();
  }

  int active() const {
    std::lock_guard lock(mu_);
    return active_;
  }

 private:
  // Skips tickets whose holders left the line.
  void Advance() {
    bool moved = true;
    while (moved) {
      moved = false;
      for (auto it = abandoned_.begin(); it != abandoned_.end(); ++it) {
        if (*it == serving_) {
          abandoned_.erase(it);
          ++serving_;
          moved = true;
          break;
        }
      }
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  const int limit_;
  int active_ = 0;
  uint64_t next_ticket_ = 0;
  uint64_t serving_ = 0;
  std::vector<uint64_t> abandoned_;
};

}  // namespace cai::inference
