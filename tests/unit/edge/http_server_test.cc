// The HTTP layer with a test handler (limits, framing, keep-alive, hang-ups), and the edge's
// routing answered without any backend (404, 405, 401, 400, 503). The flows against the real
// signer, attestor and inference services are covered by tests/e2e.
#include "services/edge/http_server.h"

#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "lib/attestation/ec_crypto.h"
#include "services/edge/edge_service.h"
#include "services/edge/tls_context.h"

namespace cai::edge {
namespace {

struct Response {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;  // raw, still chunk-framed when chunked
};

class Client {
 public:
  explicit Client(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval timeout{.tv_sec = 20, .tv_usec = 0};  // a hung server fails the test instead of blocking it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~Client() { ::close(fd_); }

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void Send(const std::string& bytes) { ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size())); }
  void Close() { ::shutdown(fd_, SHUT_RDWR); }

  // One response: by Content-Length, up to the last chunk, or to EOF.
  Response Read() {
    Response response;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return response;
    }
    response.head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    response.status = std::stoi(response.head.substr(9, 3));
    if (size_t at = response.head.find("Content-Length: "); at != std::string::npos) {
      size_t length = std::stoul(response.head.substr(at + 16));
      while (buffer_.size() < length && Fill()) {}
      response.body = buffer_.substr(0, length);
      buffer_.erase(0, length);
    } else if (response.head.find("Transfer-Encoding: chunked") != std::string::npos) {
      size_t last;
      while ((last = buffer_.find("0\r\n\r\n")) == std::string::npos || (last != 0 && buffer_[last - 1] != '\n')) {
        if (!Fill()) break;
      }
      response.body = buffer_.substr(0, last + 5);
      buffer_.erase(0, last + 5);
    } else {
      while (Fill()) {}
      response.body = std::move(buffer_);
      buffer_.clear();
    }
    return response;
  }

  bool AtEof() { return buffer_.empty() && !Fill(); }
  // The last read ended by the 20 s receive timeout, not by the server closing or resetting.
  bool timed_out() const { return timed_out_; }

 private:
  bool Fill() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    timed_out_ = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  bool connected_ = false;
  bool timed_out_ = false;
  std::string buffer_;
};

// Runs an HttpServer on an ephemeral port for one test.
class RunningServer {
 public:
  RunningServer(HttpServerOptions options, HttpHandler handler) : server_(std::move(options), std::move(handler)) {
    EXPECT_TRUE(server_.Listen().ok());
    thread_ = std::thread([this] { server_.Run(); });
  }
  ~RunningServer() {
    server_.Stop();
    thread_.join();
  }
  uint16_t port() const { return server_.port(); }

 private:
  HttpServer server_;
  std::thread thread_;
};

HttpServerOptions SmallLimits() {
  HttpServerOptions options;
  options.port = 0;
  options.max_body_bytes = 1024;
  options.max_header_bytes = 2048;
  return options;
}

void Echo(const HttpRequest& request, ResponseWriter& writer) {
  writer.Send(200, "text/plain", request.method + " " + request.path + " ?" + request.query + " [" + request.body + "]");
}

std::string Post(const std::string& path, const std::string& body, const std::string& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

TEST(HttpLayerWithTestHandler, KeepAliveServesSeveralRequestsOnOneConnection) {
  RunningServer server(SmallLimits(), Echo);
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  client.Send(Post("/a?x=1", "first") + Post("/b", "second"));  // pipelined
  Response one = client.Read();
  Response two = client.Read();
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.body, "POST /a ?x=1 [first]");
  EXPECT_EQ(two.body, "POST /b ? [second]");
  client.Send("GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  Response three = client.Read();
  EXPECT_EQ(three.body, "GET /c ? []");
  EXPECT_TRUE(client.AtEof());
}

TEST(HttpLayerWithTestHandler, ChunkedRequestBodyArrivesExactly) {
  RunningServer server(SmallLimits(), Echo);
  Client client(server.port());
  client.Send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2\r\n\":\r\n0\r\n\r\n");
  EXPECT_EQ(client.Read().body, "POST /x ? [{\"a\":]");
}

TEST(HttpLayerWithTestHandler, EventStreamIsChunkFramed) {
  RunningServer server(SmallLimits(), [](const HttpRequest&, ResponseWriter& writer) {
    ASSERT_TRUE(writer.BeginEventStream({}));
    ASSERT_TRUE(writer.WriteChunk("data: a\n\n"));
    ASSERT_TRUE(writer.WriteChunk(""));  // must not end the body
    ASSERT_TRUE(writer.WriteChunk("data: [DONE]\n\n"));
    ASSERT_TRUE(writer.EndStream());
  });
  Client client(server.port());
  client.Send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n");
  Response response = client.Read();
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.head.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(response.head.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(response.body, "9\r\ndata: a\n\n\r\ne\r\ndata: [DONE]\n\n\r\n0\r\n\r\n");
  client.Send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n");  // still usable afterwards
  EXPECT_EQ(client.Read().status, 200);
}

TEST(HttpLayerWithTestHandler, HandlersReadRequestHeadersAndSetStreamHeaders) {
  RunningServer server(SmallLimits(), [](const HttpRequest& request, ResponseWriter& writer) {
    // Names match whatever their case; a header sent twice reads as its first value.
    const std::string value(request.Header("x-e2ee-nonce"));
    const std::string first(request.Header("X-TWICE"));
    ASSERT_TRUE(writer.BeginEventStream({{"X-Echo", value + "|" + first}, {"X-E2EE-Applied", "true"}}));
    ASSERT_TRUE(writer.EndStream());
  });
  Client client(server.port());
  client.Send("GET /s HTTP/1.1\r\nHost: x\r\nX-E2EE-Nonce: n-123\r\nX-Twice: one\r\nX-Twice: two\r\n\r\n");
  Response response = client.Read();
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.head.find("X-Echo: n-123|one\r\n"), std::string::npos) << response.head;
  EXPECT_NE(response.head.find("X-E2EE-Applied: true\r\n"), std::string::npos) << response.head;
  EXPECT_NE(response.head.find("Content-Type: text/event-stream"), std::string::npos);
}

TEST(HttpLayerWithTestHandler, OversizedBodyIs413) {
  RunningServer server(SmallLimits(), Echo);
  Client client(server.port());
  client.Send(Post("/v1/chat/completions", std::string(2000, 'x')));
  Response response = client.Read();
  EXPECT_EQ(response.status, 413);
  EXPECT_NE(response.body.find("\"error\""), std::string::npos);
  // A chunked body over the limit is caught while reading it.
  Client chunked(server.port());
  chunked.Send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + std::string(2048, 'y') +
               "\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.Read().status, 413);
}

TEST(HttpLayerWithTestHandler, OversizedHeadersAre431) {
  RunningServer server(SmallLimits(), Echo);
  Client client(server.port());
  client.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'h') + "\r\n\r\n");
  EXPECT_EQ(client.Read().status, 431);
}

TEST(HttpLayerWithTestHandler, GarbageIs400AndTheServerKeepsServing) {
  RunningServer server(SmallLimits(), Echo);
  {
    Client client(server.port());
    client.Send("NOT HTTP AT ALL\r\n\r\n");
    EXPECT_EQ(client.Read().status, 400);
  }
  Client next(server.port());
  next.Send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(next.Read().status, 200);
}

TEST(HttpLayerWithTestHandler, ClientHangUpIsReportedToTheHandler) {
  std::promise<void> hung_up;
  RunningServer server(SmallLimits(), [&hung_up](const HttpRequest&, ResponseWriter& writer) {
    std::promise<void> closed;
    auto watch = writer.WatchPeer([&closed] { closed.set_value(); });
    // Bounded so a broken watch fails the test rather than hanging it.
    if (closed.get_future().wait_for(std::chrono::seconds(20)) == std::future_status::ready) hung_up.set_value();
    writer.Send(200, "text/plain", "late");
  });
  Client client(server.port());
  client.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  client.Close();
  EXPECT_EQ(hung_up.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
}

// Over max_connections a client gets a 503, also one that sent nothing. Refused clients that keep
// their connections open must not hold up the next one: 25 connect at once and are read last
// first, and an accept loop that drained each refusal for a second itself would answer the last
// one after 25 s, past the clients' 20 s read timeout.
TEST(HttpLayerWithTestHandler, TooManyConnectionsAre503AndRefusalsDoNotWait) {
  HttpServerOptions options = SmallLimits();
  options.max_connections = 1;
  RunningServer server(options, Echo);
  Client first(server.port());
  first.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(first.Read().status, 200);  // `first` now holds the only slot (keep-alive)
  Client silent(server.port());
  EXPECT_EQ(silent.Read().status, 503);
  std::vector<std::unique_ptr<Client>> refused;
  for (int i = 0; i < 25; ++i) {
    refused.push_back(std::make_unique<Client>(server.port()));
    refused.back()->Send("GET /b HTTP/1.1\r\nHost: x\r\n");  // an unfinished request, never closed
  }
  for (int i = 24; i >= 0; --i) EXPECT_EQ(refused[i]->Read().status, 503) << "refused client " << i;
}

// A self-signed P-256 certificate and its key, as PEM files for TlsContext::Load.
struct TlsFiles {
  std::string cert, key;
  X509Ptr certificate;
};

TlsFiles WriteSelfSigned(const std::string& name) {
  TlsFiles files{.cert = ::testing::TempDir() + "/" + name + ".crt", .key = ::testing::TempDir() + "/" + name + ".key",
                 .certificate = nullptr};
  absl::StatusOr<EvpPkeyPtr> key = GenerateEcKey(EcCurve::kP256);
  EXPECT_TRUE(key.ok());
  absl::StatusOr<X509Ptr> cert = MakeCertificate(CertificateSpec{
      .common_name = "127.0.0.1", .subject_key = key->get(), .issuer = nullptr, .issuer_key = key->get(),
      .is_ca = false, .md = EVP_sha256(), .extra_extension_oid = "", .extra_extension_der = {}});
  EXPECT_TRUE(cert.ok()) << cert.status();
  std::ofstream(files.cert) << CertificateToPem(cert->get());
  FILE* out = std::fopen(files.key.c_str(), "w");
  PEM_write_PrivateKey(out, key->get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(out);
  files.certificate = *std::move(cert);
  return files;
}

// SmallLimits serving HTTPS with a fresh self-signed certificate (kept in `files`).
HttpServerOptions HttpsOptions(const std::string& name, TlsFiles& files) {
  files = WriteSelfSigned(name);
  absl::StatusOr<std::shared_ptr<TlsContext>> tls = TlsContext::Load(files.cert, files.key);
  EXPECT_TRUE(tls.ok()) << tls.status();
  HttpServerOptions options = SmallLimits();
  options.tls = tls.ok() ? *tls : nullptr;
  return options;
}

// One HTTPS exchange through OpenSSL's client: the certificate the server showed, and its answer.
struct TlsExchange {
  bool handshake = false;
  X509Ptr server_certificate;
  std::string response;
};

// An OpenSSL client connection (no certificate checks: the tests compare the certificate).
class TlsClient {
 public:
  explicit TlsClient(uint16_t port)
      : tcp_(port), ctx_(SSL_CTX_new(TLS_client_method()), SSL_CTX_free), ssl_(SSL_new(ctx_.get()), SSL_free) {
    SSL_set_fd(ssl_.get(), tcp_.fd());
    const int rc = SSL_connect(ssl_.get());
    connected_ = rc == 1;
    // The socket's receive timeout makes a blocking read report "want read": the server never
    // answered, rather than closing the connection.
    handshake_timed_out_ = !connected_ && SSL_get_error(ssl_.get(), rc) == SSL_ERROR_WANT_READ;
  }
  bool connected() const { return connected_; }
  bool handshake_timed_out() const { return handshake_timed_out_; }
  SSL* ssl() const { return ssl_.get(); }
  void Send(const std::string& bytes) { SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size())); }
  // Closing then sends a TCP reset instead of a FIN.
  void ResetOnClose() {
    linger reset{.l_onoff = 1, .l_linger = 0};
    ::setsockopt(tcp_.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }

 private:
  Client tcp_;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_;
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl_;
  bool connected_ = false;
  bool handshake_timed_out_ = false;
};

TlsExchange HttpsExchange(uint16_t port, const std::string& request) {
  TlsExchange result;
  TlsClient client(port);
  if (!client.connected()) return result;
  result.handshake = true;
  result.server_certificate.reset(SSL_get1_peer_certificate(client.ssl()));
  client.Send(request);
  char chunk[4096];
  int n;
  while ((n = SSL_read(client.ssl(), chunk, sizeof chunk)) > 0) result.response.append(chunk, static_cast<size_t>(n));
  return result;
}

// Over max_connections a TLS connection is closed before its handshake (a 503 would need one in
// the accept loop); the next one after the slot frees is served.
TEST(HttpLayerWithTestHandler, TlsConnectionsOverTheLimitAreClosed) {
  TlsFiles files;
  HttpServerOptions options = HttpsOptions("edge_tls_limit", files);
  ASSERT_NE(options.tls, nullptr);
  options.max_connections = 1;
  RunningServer server(options, Echo);
  {
    TlsClient first(server.port());
    ASSERT_TRUE(first.connected());  // holds the only slot, waiting for a request
    TlsClient second(server.port());
    EXPECT_FALSE(second.connected());
    EXPECT_FALSE(second.handshake_timed_out()) << "the server must close it, not leave the handshake hanging";
  }
  TlsExchange later;
  for (int i = 0; i < 100 && !later.handshake; ++i) {  // the slot frees once the server sees `first` go
    later = HttpsExchange(server.port(), "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (!later.handshake) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(later.response.find("HTTP/1.1 200 OK"), std::string::npos) << later.response;
}

// TLS ends in the edge itself, inside the confidential VM: requests and answers go through it
// whole, the server shows the configured certificate, and a plain-HTTP client gets nothing.
TEST(HttpLayerWithTestHandler, ServesHttpsWithTheConfiguredCertificate) {
  TlsFiles files;
  HttpServerOptions options = HttpsOptions("edge_tls", files);
  ASSERT_NE(options.tls, nullptr);
  RunningServer server(options, Echo);

  const std::string body(600, 'b');  // over one TLS write's worth of a small record, under the limit
  TlsExchange exchange = HttpsExchange(server.port(), "POST /p?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                                      "Content-Length: 600\r\n\r\n" + body);
  ASSERT_TRUE(exchange.handshake);
  ASSERT_NE(exchange.server_certificate, nullptr);
  EXPECT_EQ(X509_cmp(exchange.server_certificate.get(), files.certificate.get()), 0);
  EXPECT_NE(exchange.response.find("HTTP/1.1 200 OK"), std::string::npos) << exchange.response;
  EXPECT_NE(exchange.response.find("POST /p ?q=1 [" + body + "]"), std::string::npos) << exchange.response;

  Client plain(server.port());
  plain.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(plain.Read().status, 0) << "plain HTTP to the TLS port must get no answer";
  EXPECT_FALSE(plain.timed_out()) << "the server must close the connection, not leave it hanging";
}

// A client that resets its connection in the middle of a TLS stream: the server's next write
// fails, and must fail as an error. OpenSSL writes with write(), which raises SIGPIPE, and that
// signal's default action ends the whole process (here the test binary, in production the edge).
TEST(HttpLayerWithTestHandler, AClientResettingAnHttpsStreamLeavesTheServerServing) {
  TlsFiles files;
  HttpServerOptions options = HttpsOptions("edge_tls_reset", files);
  ASSERT_NE(options.tls, nullptr);
  std::promise<void> write_failed;
  RunningServer server(options, [&write_failed](const HttpRequest& request, ResponseWriter& writer) {
    if (request.path != "/stream") return Echo(request, writer);
    writer.BeginEventStream({});
    for (int i = 0; i < 20000 && writer.WriteChunk("data: token\n\n"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    write_failed.set_value();
  });
  {
    TlsClient client(server.port());
    ASSERT_TRUE(client.connected());
    client.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    char chunk[256];
    ASSERT_GT(SSL_read(client.ssl(), chunk, sizeof chunk), 0);  // the stream has begun
    client.ResetOnClose();
  }
  ASSERT_EQ(write_failed.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  {  // a reset in the middle of a request body: nothing is answered, nothing is written
    TlsClient client(server.port());
    ASSERT_TRUE(client.connected());
    client.Send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nonly part");
    client.ResetOnClose();
  }
  // Whatever path a write after a reset takes, it is an error, never the end of the process.
  struct sigaction pipe_action = {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &pipe_action), 0);
  EXPECT_EQ(pipe_action.sa_handler, SIG_IGN);
  TlsExchange after = HttpsExchange(server.port(), "GET /still HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(after.response.find("GET /still"), std::string::npos) << after.response;
}

// Keep-alive over TLS, and bodies larger than one TLS record (16 KiB) in both directions.
TEST(HttpLayerWithTestHandler, HttpsKeepsConnectionsAliveAndCarriesLargeBodies) {
  TlsFiles files;
  HttpServerOptions options = HttpsOptions("edge_tls_large", files);
  ASSERT_NE(options.tls, nullptr);
  options.max_body_bytes = 1 << 20;
  RunningServer server(options, Echo);
  const std::string body(200000, 'z');
  const std::string post = "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + body;
  TlsExchange exchange =
      HttpsExchange(server.port(), post + "GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(exchange.handshake);
  EXPECT_NE(exchange.response.find("POST /big ? [" + body + "]"), std::string::npos);
  EXPECT_NE(exchange.response.find("GET /second ? []"), std::string::npos) << "the second request on one connection";
}

TEST(TlsContext, RefusesMissingMismatchedAndMalformedFiles) {
  const TlsFiles one = WriteSelfSigned("edge_tls_one");
  const TlsFiles two = WriteSelfSigned("edge_tls_two");
  const std::string garbage = ::testing::TempDir() + "/edge_tls_garbage.pem";
  std::ofstream(garbage) << "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  struct Case {
    std::string cert, key, why;
  };
  for (const Case& c : {Case{"/nonexistent.crt", one.key, "certificate chain"},
                        Case{one.cert, "/nonexistent.key", "private key"},
                        Case{garbage, one.key, "certificate chain"},
                        Case{one.cert, two.key, "does not match"}}) {
    absl::StatusOr<std::shared_ptr<TlsContext>> tls = TlsContext::Load(c.cert, c.key);
    ASSERT_FALSE(tls.ok()) << c.cert << " " << c.key;
    EXPECT_NE(tls.status().message().find(c.why), std::string_view::npos) << tls.status();
  }
}

TEST(HttpLayerWithTestHandler, StopEndsIdleKeepAliveConnections) {
  auto server = std::make_unique<RunningServer>(SmallLimits(), Echo);
  Client client(server->port());
  client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(client.Read().status, 200);
  server.reset();  // Stop + Run returns: the idle connection was closed
  EXPECT_TRUE(client.AtEof());
}

// The routing of EdgeService, with backend addresses where nothing listens.
class EdgeRoutingWithoutBackends : public testing::Test {
 protected:
  static std::shared_ptr<grpc::Channel> Nowhere() {
    return grpc::CreateChannel("unix:/nonexistent/cai-edge-test.sock", grpc::InsecureChannelCredentials());
  }
  Response Call(EdgeService& service, const std::string& request) {
    HttpServerOptions options = SmallLimits();
    RunningServer server(options, [&service](const HttpRequest& r, ResponseWriter& w) { service.Handle(r, w); });
    Client client(server.port());
    client.Send(request);
    return client.Read();
  }
  EdgeService open_{Backends{Nowhere(), Nowhere(), Nowhere()}, ApiKeys(), "test"};
};

TEST_F(EdgeRoutingWithoutBackends, UnknownRouteIs404) {
  Response response = Call(open_, "GET /v2/nothing HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body,
            R"j({"error":{"message":"Invalid URL (GET /v2/nothing)","type":"invalid_request_error","param":null,"code":"unknown_url"}})j");
}

TEST_F(EdgeRoutingWithoutBackends, WrongMethodIs405WithAllow) {
  Response response = Call(open_, "GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(response.status, 405);
  EXPECT_NE(response.head.find("Allow: POST"), std::string::npos);
}

TEST_F(EdgeRoutingWithoutBackends, InvalidBodyIs400WithParam) {
  Response response = Call(open_, Post("/v1/chat/completions", R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_p":2})"));
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find(R"("param":"top_p")"), std::string::npos);
}

TEST_F(EdgeRoutingWithoutBackends, BadNonceAndAlgoAre400) {
  EXPECT_EQ(Call(open_, "GET /v1/attestation/report?nonce=abcd HTTP/1.1\r\nHost: x\r\n\r\n").status, 400);
  EXPECT_EQ(Call(open_, "GET /attestation/report?nonce=0x" + std::string(62, '0') + " HTTP/1.1\r\nHost: x\r\n\r\n").status, 400);
  // 32 bytes behind a 0x prefix: the nonce is exactly 64 hex digits, nothing else.
  EXPECT_EQ(Call(open_, "GET /attestation/report?nonce=0x" + std::string(64, '0') + " HTTP/1.1\r\nHost: x\r\n\r\n").status, 400);
  EXPECT_EQ(Call(open_, "GET /v1/signature/chatcmpl-1?signing_algo=rsa HTTP/1.1\r\nHost: x\r\n\r\n").status, 400);
}

TEST_F(EdgeRoutingWithoutBackends, UnreachableBackendIs503) {
  Response response = Call(open_, Post("/v1/chat/completions", R"({"model":"m","messages":[{"role":"user","content":"x"}]})"));
  EXPECT_EQ(response.status, 503);
  EXPECT_NE(response.body.find(R"("type":"service_unavailable")"), std::string::npos);
  EXPECT_EQ(Call(open_, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").status, 503);
}

TEST_F(EdgeRoutingWithoutBackends, ApiKeysGuardTheApiButNotHealthOrMetrics) {
  EdgeService guarded(Backends{Nowhere(), Nowhere(), Nowhere()}, *ApiKeys::Load("", "sk-good"), "test");
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_p":2})";
  Response missing = Call(guarded, Post("/v1/chat/completions", body));
  EXPECT_EQ(missing.status, 401);
  EXPECT_NE(missing.body.find(R"("type":"authentication_error")"), std::string::npos);
  EXPECT_EQ(Call(guarded, Post("/v1/chat/completions", body, "Authorization: Bearer sk-bad\r\n")).status, 401);
  EXPECT_EQ(Call(guarded, "GET /v1/signature/chatcmpl-1 HTTP/1.1\r\nHost: x\r\n\r\n").status, 401);
  EXPECT_EQ(Call(guarded, "GET /attestation/report HTTP/1.1\r\nHost: x\r\n\r\n").status, 401);
  EXPECT_EQ(Call(guarded, "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n").status, 401);
  EXPECT_EQ(Call(guarded, "GET /v1/models/m HTTP/1.1\r\nHost: x\r\n\r\n").status, 401);
  // With the key, the request reaches validation (400 for top_p), so auth passed.
  EXPECT_EQ(Call(guarded, Post("/v1/chat/completions", body, "Authorization: Bearer sk-good\r\n")).status, 400);
  EXPECT_EQ(Call(guarded, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").status, 503);
  Response metrics = Call(guarded, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(R"(cai_edge_requests_total{route="/v1/chat/completions",status="401"} 2)"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("cai_edge_signatures_total{result=\"failed\"} 0"), std::string::npos);
}

}  // namespace
}  // namespace cai::edge
