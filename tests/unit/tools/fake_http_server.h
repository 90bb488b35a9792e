#pragma once

// A one-thread HTTP/1.1 server on 127.0.0.1 for client tests. Each request is answered with the
// raw bytes the handler returns for its path (query stripped), or never answered when the handler
// returns nullopt: the connection stays open and silent until the server is destroyed.
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

namespace cai::cli::testing {

class FakeHttpServer {
 public:
  using Handler = std::function<std::optional<std::string>(const std::string& path)>;

  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  std::string url() const;  // "http://127.0.0.1:PORT"
  bool listening() const { return listen_fd_ >= 0; }

  // Every request target asked for so far ("/path?query"), in order.
  std::vector<std::string> targets() const;

  // A complete response with Content-Length.
  static std::string Response(int status, const std::string& body);

 private:
  void Serve();
  void HandleConnection(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> stalled_;  // connections left unanswered, closed on destruction
  mutable std::mutex targets_mutex_;
  std::vector<std::string> targets_;
  std::thread thread_;
};

}  // namespace cai::cli::testing
