#include "tests/unit/tools/fake_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cai::cli::testing {
namespace {

// Polls so the thread notices stop_ within this many milliseconds.
constexpr int kPollMs = 50;

// Reads the request head (and a Content-Length body) so the client's write completes.
std::string ReadRequest(int fd, const std::atomic<bool>& stop) {
  std::string request;
  size_t head_end = std::string::npos;
  size_t wanted = 0;
  while (!stop) {
    if (head_end != std::string::npos && request.size() >= wanted) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    char chunk[4096];
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    request.append(chunk, static_cast<size_t>(n));
    if (head_end == std::string::npos && (head_end = request.find("\r\n\r\n")) != std::string::npos) {
      wanted = head_end + 4;
      if (size_t at = request.find("Content-Length: "); at != std::string::npos && at < head_end) {
        wanted += std::stoul(request.substr(at + 16));
      }
    }
  }
  return request;
}

}  // namespace

FakeHttpServer::FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    return;
  }
  listen_fd_ = fd;
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

FakeHttpServer::~FakeHttpServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (int fd : stalled_) ::close(fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string FakeHttpServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string FakeHttpServer::Response(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

std::vector<std::string> FakeHttpServer::targets() const {
  std::lock_guard lock(targets_mutex_);
  return targets_;
}

void FakeHttpServer::Serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd >= 0) HandleConnection(fd);
  }
}

void FakeHttpServer::HandleConnection(int fd) {
  const std::string request = ReadRequest(fd, stop_);
  // "GET /path?query HTTP/1.1": the target is between the first two spaces, the path before '?'.
  const size_t start = request.find(' ') + 1;
  const size_t end = request.find(' ', start);
  const std::string target = start == 0 || end == std::string::npos ? "" : request.substr(start, end - start);
  const std::string path = target.substr(0, target.find('?'));
  {
    std::lock_guard lock(targets_mutex_);
    targets_.push_back(target);
  }
  std::optional<std::string> answer = handler_(path);
  if (!answer) {
    stalled_.push_back(fd);
    return;
  }
  for (size_t sent = 0; sent < answer->size();) {
    ssize_t n = ::send(fd, answer->data() + sent, answer->size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

}  // namespace cai::cli::testing
