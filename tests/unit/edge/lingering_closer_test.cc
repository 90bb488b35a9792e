// The edge's closer of refused connections: the peer reads the whole response and then EOF, and
// the socket is closed once the peer closes, when the linger passes, or at once under a flood.
#include "services/edge/lingering_closer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace cai::edge {
namespace {

using std::chrono::milliseconds;

struct Pair {
  Pair() { ::socketpair(AF_UNIX, SOCK_STREAM, 0, fds); }
  ~Pair() { ::close(fds[1]); }  // fds[0] goes to the closer
  int ours() const { return fds[0]; }
  int peer() const { return fds[1]; }
  int fds[2] = {-1, -1};
};

std::string ReadToEof(int fd) {
  std::string out;
  char buffer[256];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) out.append(buffer, static_cast<size_t>(n));
  return out;
}

// Liveness, not speed: the closer's thread gets ample time to act.
bool Eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 1000 && !condition(); ++i) std::this_thread::sleep_for(milliseconds(10));
  return condition();
}

TEST(LingeringCloser, PeerReadsTheResponseThenEofAndItsCloseEndsTheLinger) {
  LingeringCloser closer(std::chrono::hours(1), 8);
  Pair pair;
  ASSERT_EQ(::send(pair.peer(), "unread request", 14, 0), 14);  // input the server never read
  ASSERT_EQ(::send(pair.ours(), "HTTP/1.1 503", 12, 0), 12);
  closer.Close(pair.ours());
  EXPECT_EQ(ReadToEof(pair.peer()), "HTTP/1.1 503");
  EXPECT_EQ(closer.held(), 1u) << "held until the peer closes or the linger passes";
  ::shutdown(pair.peer(), SHUT_WR);
  EXPECT_TRUE(Eventually([&] { return closer.held() == 0; }));
}

TEST(LingeringCloser, ClosesWhenTheLingerPasses) {
  LingeringCloser closer(milliseconds(1), 8);
  Pair pair;
  closer.Close(pair.ours());
  EXPECT_TRUE(Eventually([&] { return closer.held() == 0; }));
}

TEST(LingeringCloser, BeyondItsLimitClosesAtOnceAndAtDestructionClosesAll) {
  Pair first, second;
  {
    LingeringCloser closer(std::chrono::hours(1), 1);
    closer.Close(first.ours());
    closer.Close(second.ours());  // a flood: not held
    EXPECT_EQ(closer.held(), 1u);
    EXPECT_EQ(ReadToEof(second.peer()), "");
  }
  // Closed, not merely shut down: a write from the peer now fails.
  EXPECT_EQ(::send(first.peer(), "x", 1, MSG_NOSIGNAL), -1);
}

}  // namespace
}  // namespace cai::edge
