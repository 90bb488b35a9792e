// Feeds arbitrary bytes to the edge's HTTP layer exactly as a client sends them: over a loopback
// socket to a running HttpServer. That covers Beast's parser under the edge's header, body and time
// limits, the target split, the 400/408/413/431 refusals and keep-alive across pipelined requests.
// Oracle beyond "no crash": whatever the server sends back starts with an HTTP/1.x status line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/edge/http_server.h"

namespace {

using cai::edge::HttpRequest;
using cai::edge::ResponseWriter;

// One server for the whole run; small limits so that inputs reach them often.
uint16_t ServerPort() {
  static const uint16_t port = [] {
    cai::edge::HttpServerOptions options;
    options.port = 0;
    options.max_body_bytes = 4096;
    options.max_header_bytes = 2048;
    options.request_timeout = std::chrono::seconds(2);
    auto* server = new cai::edge::HttpServer(options, [](const HttpRequest& request, ResponseWriter& writer) {
      if (request.path == "/stream") {  // the chunked path too
        writer.BeginEventStream({});
        writer.WriteChunk(request.body);
        writer.EndStream();
        return;
      }
      writer.Send(200, "text/plain",
                  absl::StrCat(request.method.size(), " ", request.path.size(), " ", request.query.size(), " ",
                               request.Header("Authorization").size(), " ", request.body.size()));
    });
    if (!server->Listen().ok()) std::abort();
    std::thread([server] { server->Run(); }).detach();  // lives as long as the process
    return server->port();
  }();
  return port;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint16_t port = ServerPort();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return 0;
  }
  for (size_t sent = 0; sent < size;) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server refused and closed early
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);  // the request ends here: the server sees EOF, never waits
  std::string response;
  char chunk[4096];
  ssize_t n;
  while (response.size() < (1u << 20) && (n = ::recv(fd, chunk, sizeof chunk, 0)) > 0) {
    response.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  const std::string_view answer(response);
  if (!answer.empty() && !answer.starts_with("HTTP/1.1 ") && !answer.starts_with("HTTP/1.0 ")) std::abort();
  return 0;
}
