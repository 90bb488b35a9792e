#include "services/edge/lingering_closer.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace cai::edge {
namespace {

constexpr int kPollSliceMs = 50;        // how soon a new socket is watched and a stop is seen
constexpr size_t kMaxDrainBytes = 8 << 20;  // a peer that keeps sending is cut off

// Reads whatever is pending; false when the peer closed, failed, or sent too much.
bool DrainPending(int fd, size_t& drained) {
  char sink[16384];
  while (true) {
    const ssize_t n = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
    if (n > 0) {
      drained += static_cast<size_t>(n);
      if (drained > kMaxDrainBytes) return false;
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }
}

}  // namespace

LingeringCloser::LingeringCloser(std::chrono::milliseconds linger, size_t max_sockets)
    : linger_(linger), max_sockets_(max_sockets), thread_([this] { Loop(); }) {}

LingeringCloser::~LingeringCloser() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void LingeringCloser::Close(int fd) {
  ::shutdown(fd, SHUT_WR);  // the response is complete: the peer reads it, then EOF
  if (held_.fetch_add(1) >= max_sockets_) {  // a flood: no lingering
    --held_;
    ::close(fd);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    incoming_.push_back({fd, std::chrono::steady_clock::now() + linger_});
  }
  wake_.notify_one();
}

void LingeringCloser::Loop() {
  std::vector<Socket> sockets;
  std::vector<pollfd> polled;
  auto close_at = [&](size_t i) {
    ::close(sockets[i].fd);
    sockets[i] = sockets.back();
    sockets.pop_back();
    --held_;
  };
  while (true) {
    {
      // With nothing to watch, sleep until a socket comes or the closer stops.
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !sockets.empty() || !incoming_.empty(); });
      if (stopping_) break;
      sockets.insert(sockets.end(), incoming_.begin(), incoming_.end());
      incoming_.clear();
    }
    polled.clear();
    for (const Socket& s : sockets) polled.push_back({.fd = s.fd, .events = POLLIN, .revents = 0});
    ::poll(polled.data(), polled.size(), kPollSliceMs);
    const auto now = std::chrono::steady_clock::now();
    // Backwards, so that close_at's swap with the last socket never skips one.
    for (size_t i = sockets.size(); i-- > 0;) {
      const bool ready = polled[i].revents != 0;
      if ((ready && !DrainPending(sockets[i].fd, sockets[i].drained)) || now >= sockets[i].deadline) close_at(i);
    }
  }
  std::lock_guard lock(mutex_);
  sockets.insert(sockets.end(), incoming_.begin(), incoming_.end());
  incoming_.clear();
  while (!sockets.empty()) close_at(sockets.size() - 1);
}

}  // namespace cai::edge
