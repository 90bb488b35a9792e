#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "services/edge/lingering_closer.h"
#include "services/edge/tls_context.h"

namespace cai::edge {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A request as the handler sees it: the body is complete and exactly the bytes received.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // target before '?', not decoded
  std::string query;   // target after '?'
  Headers headers;  // every header field, in order (bounded by max_header_bytes)
  std::string body;

  // The value of the first field named `name` (case-insensitive), or "" when there is none.
  std::string_view Header(std::string_view name) const;
};

// Stops watching the client when destroyed.
class PeerWatch {
 public:
  virtual ~PeerWatch() = default;
};

// How a handler answers: either Send once, or BeginEventStream, WriteChunk..., EndStream.
// Every call returns false once the client is gone; the handler should then stop.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual bool Send(int status, std::string_view content_type, std::string_view body,
                    const Headers& headers = {}) = 0;
  // 200, Content-Type: text/event-stream, Transfer-Encoding: chunked, and `headers`.
  virtual bool BeginEventStream(const Headers& headers) = 0;
  virtual bool WriteChunk(std::string_view data) = 0;
  virtual bool EndStream() = 0;
  // Calls `on_close` (from another thread) if the client hangs up while the watch lives.
  virtual std::unique_ptr<PeerWatch> WatchPeer(std::function<void()> on_close) = 0;
};

using HttpHandler = std::function<void(const HttpRequest&, ResponseWriter&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;  // 0: ephemeral
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  int max_connections = 256;
  std::chrono::seconds request_timeout{30};  // to read a request, idle keep-alive, each write
  std::chrono::seconds drain_timeout{10};    // in-flight requests at shutdown
  // HTTPS when set (TLS ends here, inside the VM); plain HTTP when null. Over max_connections a
  // TLS connection is closed without a 503, which would need a handshake in the accept loop.
  std::shared_ptr<TlsContext> tls;
};

// HTTP/1.1 with keep-alive and chunked responses, one thread per connection. Requests over the
// limits are answered here (400, 413, 431, 503) with OpenAI error objects, without the handler.
class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();

  absl::Status Listen();      // binds and listens; then port() is the bound port
  uint16_t port() const { return port_; }
  void Run();                 // serves until Stop(), then drains connections and returns
  void Stop();                // thread-safe, idempotent

 private:
  // One connection's requests; true when it ended in a refusal (close it lingering).
  bool Serve(int fd);

  HttpServerOptions options_;
  HttpHandler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable drained_;
  int connections_ = 0;
  LingeringCloser refused_;  // connections answered 503 by the accept loop
};

}  // namespace cai::edge
