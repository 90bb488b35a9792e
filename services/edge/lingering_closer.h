#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace cai::edge {

// Closes sockets whose last response has been written, without losing it: closing a socket with
// unread input makes the kernel send a reset, and a client that has not yet read the response
// then loses it. So writes are shut down at once, input is drained until the peer closes or
// `linger` passes, and only then is the socket closed. One thread serves every socket, so the
// accept loop that refuses connections never waits on a client.
class LingeringCloser {
 public:
  LingeringCloser(std::chrono::milliseconds linger, size_t max_sockets);
  ~LingeringCloser();  // closes every socket still held, at once
  LingeringCloser(const LingeringCloser&) = delete;
  LingeringCloser& operator=(const LingeringCloser&) = delete;

  // Takes ownership of `fd` (thread-safe). With max_sockets already held (a flood), closes it at
  // once instead.
  void Close(int fd);
  size_t held() const { return held_.load(); }

 private:
  struct Socket {
    int fd;
    std::chrono::steady_clock::time_point deadline;
    size_t drained = 0;
  };
  void Loop();

  const std::chrono::milliseconds linger_;
  const size_t max_sockets_;
  std::atomic<size_t> held_{0};
  std::mutex mutex_;
  std::condition_variable wake_;  // a socket came, or the closer stops
  bool stopping_ = false;          // guarded by mutex_
  std::vector<Socket> incoming_;  // guarded by mutex_; moved to the loop's own list each slice
  std::thread thread_;
};

}  // namespace cai::edge
