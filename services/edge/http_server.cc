#include "services/edge/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <set>
#include <system_error>
#include <thread>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "absl/strings/str_cat.h"
#include "lib/common/log.h"
#include "services/edge/openai/api_error.h"

namespace cai::edge {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

constexpr int kPollSliceMs = 200;  // how often a blocked read or write looks at the stop flag

// A connected socket as a Beast sync stream, in plain text or through TLS: every read and write
// waits with poll() until a deadline, and a read between requests also gives up when the server
// is stopping.
class FdStream {
 public:
  FdStream(int fd, const std::atomic<bool>& stopping, SSL* ssl = nullptr)
      : fd_(fd), stopping_(stopping), ssl_(ssl) {}

  // The TLS handshake, under the current deadline.
  bool Handshake(beast::error_code& ec) {
    TlsCall([this] { return SSL_accept(ssl_); }, ec);
    return !ec;
  }
  // Ends TLS with a close_notify, so the client can tell the end from a truncation. Best effort;
  // Serve calls it once, as the connection ends.
  void CloseNotify() {
    // Not after a fatal TLS error: OpenSSL forbids SSL_shutdown then, and the socket is dead.
    if (ssl_ == nullptr || tls_failed_ || !SSL_is_init_finished(ssl_)) return;
    SSL_shutdown(ssl_);
  }

  void set_deadline(Clock::time_point deadline) { deadline_ = deadline; }
  void set_abort_on_stop(bool abort) { abort_on_stop_ = abort; }
  int fd() const { return fd_; }

  template <class Buffers>
  size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    ec = {};
    net::mutable_buffer buffer = *net::buffer_sequence_begin(buffers);
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
      net::mutable_buffer candidate = *it;
      if (candidate.size() > 0) {
        buffer = candidate;
        break;
      }
    }
    if (buffer.size() == 0) return 0;
    if (ssl_ != nullptr) {
      const int size = static_cast<int>(std::min<size_t>(buffer.size(), INT_MAX));
      return TlsCall([&] { return SSL_read(ssl_, buffer.data(), size); }, ec);
    }
    for (;;) {
      if (!Wait(POLLIN, ec)) return 0;
      ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) {
        ec = net::error::eof;
        return 0;
      }
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      ec.assign(errno, beast::system_category());
      return 0;
    }
  }

  template <class Buffers>
  size_t write_some(const Buffers& buffers, beast::error_code& ec) {
    ec = {};
    iovec iov[16];
    size_t count = 0;
    for (auto it = net::buffer_sequence_begin(buffers);
         it != net::buffer_sequence_end(buffers) && count < std::size(iov); ++it) {
      net::const_buffer buffer = *it;
      if (buffer.size() == 0) continue;
      iov[count].iov_base = const_cast<void*>(buffer.data());
      iov[count].iov_len = buffer.size();
      ++count;
    }
    if (count == 0) return 0;
    if (ssl_ != nullptr) return TlsWrite(iov, count, ec);
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = count;
    for (;;) {
      if (!Wait(POLLOUT, ec)) return 0;
      ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      ec.assign(errno, beast::system_category());
      return 0;
    }
  }

  // The throwing forms complete the stream concepts; this file only uses the error_code forms.
  template <class Buffers>
  size_t read_some(const Buffers& buffers) {
    beast::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }
  template <class Buffers>
  size_t write_some(const Buffers& buffers) {
    beast::error_code ec;
    size_t n = write_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  bool Wait(short events, beast::error_code& ec) {
    for (;;) {
      if (abort_on_stop_ && stopping_.load()) {
        ec = net::error::operation_aborted;
        return false;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
      if (left <= 0) {
        ec = beast::error::timeout;
        return false;
      }
      pollfd p{.fd = fd_, .events = events, .revents = 0};
      int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, kPollSliceMs)));
      if (r > 0) return true;  // ready, or an error the next call reports
      if (r < 0 && errno != EINTR) {
        ec.assign(errno, beast::system_category());
        return false;
      }
    }
  }

  // Small buffers (an SSE chunk is four: size, CRLF, data, CRLF) go out as one TLS record, not one
  // record and one TCP segment each; a large first buffer goes alone (write_some may write less).
  size_t TlsWrite(const iovec* iov, size_t count, beast::error_code& ec) {
    char record[16384];
    size_t size = 0;
    for (size_t i = 0; i < count && size + iov[i].iov_len <= sizeof record; ++i) {
      std::memcpy(record + size, iov[i].iov_base, iov[i].iov_len);
      size += iov[i].iov_len;
    }
    const void* data = size > 0 ? record : iov[0].iov_base;
    const int length = static_cast<int>(size > 0 ? size : std::min<size_t>(iov[0].iov_len, INT_MAX));
    return TlsCall([&] { return SSL_write(ssl_, data, length); }, ec);
  }

  // One TLS call, repeated while TLS waits for the socket (a read may need to write, and a write to
  // read); its byte count, or 0 with `ec` set.
  template <class Call>
  size_t TlsCall(Call call, beast::error_code& ec) {
    ec = {};
    for (;;) {
      ERR_clear_error();
      errno = 0;
      const int n = call();
      if (n > 0) return static_cast<size_t>(n);
      switch (SSL_get_error(ssl_, n)) {
        case SSL_ERROR_WANT_READ:
          if (!Wait(POLLIN, ec)) return 0;
          continue;
        case SSL_ERROR_WANT_WRITE:
          if (!Wait(POLLOUT, ec)) return 0;
          continue;
        case SSL_ERROR_ZERO_RETURN:
          ec = net::error::eof;
          return 0;
        case SSL_ERROR_SYSCALL:
          tls_failed_ = true;
          if (errno != 0) {
            ec.assign(errno, beast::system_category());
          } else {
            ec = net::error::eof;  // the peer closed without a close_notify
          }
          return 0;
        default:  // a protocol error: not TLS, a failed handshake, a bad record
          tls_failed_ = true;
          ERR_clear_error();
          ec = net::error::connection_aborted;
          return 0;
      }
    }
  }

  int fd_;
  const std::atomic<bool>& stopping_;
  SSL* ssl_;  // nullptr: plain text
  bool tls_failed_ = false;  // SSL_ERROR_SYSCALL or SSL_ERROR_SSL: no more TLS on this connection
  Clock::time_point deadline_ = Clock::now();
  bool abort_on_stop_ = false;
};

// Watches for the client's hang-up on another thread, until destroyed. The destructor wakes the
// thread through an eventfd, so ending a watch costs no poll interval on the request path.
class PollPeerWatch : public PeerWatch {
 public:
  PollPeerWatch(int fd, std::function<void()> on_close) : wake_fd_(eventfd(0, EFD_CLOEXEC)) {
    // Out of threads (a pids limit), there is no watch: a hang-up is then noticed only when a
    // write fails, which is what a response without a watch does anyway.
    try {
      Start(fd, std::move(on_close));
    } catch (const std::system_error& e) {
      LogWarning("no thread to watch a connection for hang-ups: ", e.what());
    }
  }
  ~PollPeerWatch() override {
    done_ = true;
    if (wake_fd_ >= 0) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof(one));
    }
    if (thread_.joinable()) thread_.join();
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

 private:
  void Start(int fd, std::function<void()> on_close) {
    thread_ = std::thread([this, fd, on_close = std::move(on_close)] {
      pollfd fds[2] = {{.fd = fd, .events = POLLRDHUP, .revents = 0},
                       {.fd = wake_fd_, .events = POLLIN, .revents = 0}};
      while (true) {
        // Without an eventfd (fd exhaustion), fall back to polling in slices.
        int n = ::poll(fds, wake_fd_ >= 0 ? 2 : 1, wake_fd_ >= 0 ? -1 : kPollSliceMs / 2);
        if (done_.load() || (n > 0 && (fds[1].revents & POLLIN))) return;
        if (n > 0 && (fds[0].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
          on_close();
          return;
        }
      }
    });
  }

  const int wake_fd_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

std::string ErrorBody(int status, std::string type, std::string message) {
  return openai::RenderError(openai::ApiError{.status = status, .type = std::move(type),
                                              .message = std::move(message), .param = "", .code = ""});
}

class BeastResponseWriter : public ResponseWriter {
 public:
  BeastResponseWriter(FdStream& stream, unsigned version, bool keep_alive, std::chrono::seconds timeout,
                      const std::atomic<bool>& stopping)
      : stream_(stream), version_(version), keep_alive_(keep_alive), timeout_(timeout), stopping_(stopping) {}

  bool Send(int status, std::string_view content_type, std::string_view body,
            const Headers& headers) override {
    if (state_ != State::kNone) return false;
    state_ = State::kDone;
    http::response<http::string_body> response{static_cast<http::status>(status), version_};
    response.set(http::field::server, "cai-edge");
    response.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
    for (const auto& [name, value] : headers) response.set(name, value);
    response.keep_alive(KeepAlive());
    response.body() = std::string(body);
    response.prepare_payload();
    beast::error_code ec;
    stream_.set_deadline(Clock::now() + timeout_);
    http::write(stream_, response, ec);
    return Check(ec);
  }

  bool BeginEventStream(const Headers& headers) override {
    if (state_ != State::kNone) return false;
    state_ = State::kStreaming;
    http::response<http::empty_body> response{http::status::ok, version_};
    response.set(http::field::server, "cai-edge");
    response.set(http::field::content_type, "text/event-stream");
    response.set(http::field::cache_control, "no-cache");
    for (const auto& [name, value] : headers) response.set(name, value);
    response.keep_alive(KeepAlive());
    response.chunked(true);
    http::response_serializer<http::empty_body> serializer{response};
    beast::error_code ec;
    stream_.set_deadline(Clock::now() + timeout_);
    http::write_header(stream_, serializer, ec);
    return Check(ec);
  }

  bool WriteChunk(std::string_view data) override {
    if (state_ != State::kStreaming || broken_) return false;
    if (data.empty()) return true;  // an empty chunk would end the body
    beast::error_code ec;
    stream_.set_deadline(Clock::now() + timeout_);
    net::write(stream_, http::make_chunk(net::const_buffer(data.data(), data.size())), ec);
    return Check(ec);
  }

  bool EndStream() override {
    if (state_ != State::kStreaming || broken_) return false;
    state_ = State::kDone;
    beast::error_code ec;
    stream_.set_deadline(Clock::now() + timeout_);
    net::write(stream_, http::make_chunk_last(), ec);
    return Check(ec);
  }

  std::unique_ptr<PeerWatch> WatchPeer(std::function<void()> on_close) override {
    return std::make_unique<PollPeerWatch>(stream_.fd(), std::move(on_close));
  }

  bool responded() const { return state_ != State::kNone; }
  // The connection can carry another request only after a complete, intact response.
  bool reusable() const { return state_ == State::kDone && !broken_ && keep_alive_sent_; }

 private:
  enum class State { kNone, kStreaming, kDone };

  bool KeepAlive() {
    keep_alive_sent_ = keep_alive_ && !stopping_.load();
    return keep_alive_sent_;
  }
  bool Check(const beast::error_code& ec) {
    if (ec) broken_ = true;
    return !ec;
  }

  FdStream& stream_;
  unsigned version_;
  bool keep_alive_;
  std::chrono::seconds timeout_;
  const std::atomic<bool>& stopping_;
  State state_ = State::kNone;
  bool broken_ = false;
  bool keep_alive_sent_ = false;
};

// A reset or broken connection: an answer could not be delivered, so none is attempted.
bool ClientWentAway(const beast::error_code& ec) {
  return ec == net::error::connection_reset || ec == net::error::connection_aborted || ec == net::error::broken_pipe;
}

// How long a refused connection (503 over max_connections, or a 400/408/413/431) is kept draining
// so that its client reads the error rather than a reset; refusals never make a caller wait.
constexpr std::chrono::milliseconds kRefusalLinger{1000};
// Refused connections kept draining at once; beyond, a flood's connections are closed outright.
constexpr size_t kMaxLingeringRefusals = 1024;

// Answers with an error that ends the connection. The caller hands the socket to a
// LingeringCloser: closing it while the client still sends would reset it, and the client could
// lose the error it has not read yet. (Over TLS, Serve's close_notify follows as it returns.)
void Refuse(FdStream& stream, unsigned version, int status, std::string type, std::string message) {
  std::atomic<bool> never{false};
  BeastResponseWriter writer(stream, version, /*keep_alive=*/false, std::chrono::seconds(5), never);
  writer.Send(status, "application/json", ErrorBody(status, std::move(type), std::move(message)), {});
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (beast::iequals(field, beast::string_view(name.data(), name.size()))) return value;
  }
  return {};
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      refused_(kRefusalLinger, kMaxLingeringRefusals) {}

HttpServer::~HttpServer() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

absl::Status HttpServer::Listen() {
  // Writes can meet a socket the client has reset. The plain path sends with MSG_NOSIGNAL, but
  // OpenSSL writes with write(): without this, one client's reset mid-response would kill the edge.
  ::signal(SIGPIPE, SIG_IGN);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  std::string port = std::to_string(options_.port);
  if (int rc = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &addresses); rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve ", options_.host, ": ", gai_strerror(rc)));
  }
  std::string last_error = "no address";
  for (addrinfo* a = addresses; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) {
      listen_fd_ = fd;
    } else {
      last_error = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(addresses);
  if (listen_fd_ < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.host, ":", options_.port, ": ", last_error));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return absl::OkStatus();
}

void HttpServer::Stop() { stopping_ = true; }

void HttpServer::Run() {
  std::set<int> open_fds;  // guarded by mutex_, for the forced close after the drain timeout
  auto serve = [this, &open_fds](int fd) {
    const bool refused = Serve(fd);
    std::lock_guard lock(mutex_);
    open_fds.erase(fd);
    if (refused) {
      refused_.Close(fd);
    } else {
      ::close(fd);
    }
    --connections_;
    drained_.notify_all();
  };
  while (!stopping_.load()) {
    pollfd p{.fd = listen_fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, kPollSliceMs) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors, the pending connection stays queued and poll() reports it at once
      // again: wait for some to be freed instead of spinning.
      if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // SSE chunks go out at once
    std::unique_lock lock(mutex_);
    if (connections_ >= options_.max_connections) {
      lock.unlock();
      if (options_.tls != nullptr) {  // a 503 would need a handshake first, here in the accept loop
        ::close(fd);
        continue;
      }
      FdStream stream(fd, stopping_);
      Refuse(stream, 11, 503, "server_busy", "Too many connections; retry later.");
      refused_.Close(fd);  // drained and closed by the closer's thread: the next accept goes on now
      continue;
    }
    ++connections_;
    open_fds.insert(fd);
    try {
      std::thread(serve, fd).detach();
    } catch (const std::system_error& e) {  // out of threads (a pids limit): drop this one, keep serving
      --connections_;
      open_fds.erase(fd);
      lock.unlock();
      ::close(fd);
      LogWarning("no thread for a new connection, closed it: ", e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ::close(listen_fd_);
  listen_fd_ = -1;

  // Idle connections notice the stop within a poll slice; busy ones finish their response.
  std::unique_lock lock(mutex_);
  if (!drained_.wait_for(lock, options_.drain_timeout, [this] { return connections_ == 0; })) {
    LogWarning("closing ", connections_, " connections still busy after the drain timeout");
    for (int fd : open_fds) ::shutdown(fd, SHUT_RDWR);
    drained_.wait(lock, [this] { return connections_ == 0; });
  }
}

bool HttpServer::Serve(int fd) {
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(nullptr, SSL_free);
  if (options_.tls != nullptr) {
    ssl.reset(SSL_new(options_.tls->get()));
    // SSL_read and SSL_write do their own socket calls: they must not block past the deadline.
    if (ssl == nullptr || SSL_set_fd(ssl.get(), fd) != 1) return false;
    if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) return false;
  }
  FdStream stream(fd, stopping_, ssl.get());
  if (ssl != nullptr) {
    beast::error_code ec;
    stream.set_deadline(Clock::now() + options_.request_timeout);
    stream.set_abort_on_stop(true);
    if (!stream.Handshake(ec)) return false;  // not TLS, or a client that gave up: nothing to answer
  }
  struct CloseNotifyOnReturn {
    FdStream& stream;
    ~CloseNotifyOnReturn() { stream.CloseNotify(); }
  } close_notify{stream};
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_body_bytes);
    beast::error_code ec;

    // Between requests: wait for the next one, unless the server stops or the client idles too long.
    stream.set_deadline(Clock::now() + options_.request_timeout);
    stream.set_abort_on_stop(true);
    http::read_header(stream, buffer, parser, ec);
    stream.set_abort_on_stop(false);
    if (ec == http::error::header_limit) {
      Refuse(stream, 11, 431, "invalid_request_error", "Request headers too large.");
      return true;
    }
    if (ec == http::error::body_limit) {
      Refuse(stream, 11, 413, "invalid_request_error",
             absl::StrCat("Request body larger than ", options_.max_body_bytes, " bytes."));
      return true;
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ClientWentAway(ec)) {
      return false;  // nothing to answer, or no one to answer to
    }
    if (ec) {
      Refuse(stream, 11, 400, "invalid_request_error", "Malformed HTTP request.");
      return true;
    }

    const auto& header = parser.get();
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::write(stream, net::const_buffer(kContinue.data(), kContinue.size()), ec);
      if (ec) return false;
    }
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::body_limit) {
      Refuse(stream, header.version(), 413, "invalid_request_error",
             absl::StrCat("Request body larger than ", options_.max_body_bytes, " bytes."));
      return true;
    }
    if (ec == beast::error::timeout) {
      Refuse(stream, header.version(), 408, "invalid_request_error", "Request timed out.");
      return true;
    }
    if (ec == net::error::eof || ec == http::error::partial_message || ClientWentAway(ec)) return false;
    if (ec) {
      Refuse(stream, header.version(), 400, "invalid_request_error", "Malformed HTTP request.");
      return true;
    }

    http::request<http::string_body> message = parser.release();
    std::string_view target(message.target().data(), message.target().size());
    size_t question = target.find('?');
    HttpRequest request{
        .method = std::string(message.method_string().data(), message.method_string().size()),
        .path = std::string(target.substr(0, question)),
        .query = question == std::string_view::npos ? "" : std::string(target.substr(question + 1)),
        .headers = {},
        .body = std::move(message.body()),
    };
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    BeastResponseWriter writer(stream, message.version(), message.keep_alive(), options_.request_timeout,
                               stopping_);
    handler_(request, writer);
    if (!writer.responded()) {
      writer.Send(500, "application/json", ErrorBody(500, "server_error", "The handler did not answer."), {});
    }
    if (!writer.reusable()) return false;
  }
}

}  // namespace cai::edge
