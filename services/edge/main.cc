// cai-edge: the public HTTP/1.1 server (OpenAI API, signatures, attestation) in front of the
// signer, attestor and inference services.

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "lib/common/command_line.h"
#include "lib/common/grpc_channel.h"
#include "lib/common/grpc_server.h"
#include "lib/common/log.h"
#include "services/edge/auth.h"
#include "services/edge/edge_service.h"
#include "services/edge/http_server.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on");
ABSL_FLAG(int32_t, port, 8000, "TCP port; 0 picks a free one (see --port_file)");
ABSL_FLAG(std::string, port_file, "", "Write the bound port here once listening");
ABSL_FLAG(std::string, signer, "unix:/tmp/cai/signer.sock", "gRPC address of cai-signer");
ABSL_FLAG(std::string, attestor, "unix:/tmp/cai/attestor.sock", "gRPC address of cai-attestor");
ABSL_FLAG(std::string, inference, "unix:/tmp/cai/inference.sock",
          "gRPC address of cai-inference (with --inference_round_robin, one that names several replicas)");
ABSL_FLAG(bool, inference_round_robin, false,
          "Spread requests over every address --inference resolves to (replicas of the same model in this "
          "confidential VM); off: one at a time, which reconnects on demand after a restart");
ABSL_FLAG(bool, insecure_e2ee_v1, false,
          "Accept end-to-end encryption version 1 (NEAR's ECDSA mode): it binds nothing, so a recorded request can "
          "be replayed with another client key to read its answer. Off: only version 2");
ABSL_FLAG(std::string, api_keys_file, "", "File with one API key per line (also: $CAI_API_KEYS, comma-separated)");
ABSL_FLAG(int64_t, max_body_bytes, 1 << 20, "Largest request body (413 beyond)");
ABSL_FLAG(int64_t, max_header_bytes, 16 << 10, "Largest request header block (431 beyond)");
ABSL_FLAG(int32_t, max_connections, 256, "Most concurrent connections (503 beyond)");
ABSL_FLAG(int32_t, request_timeout_seconds, 30, "Time to read a request; idle keep-alive; each write");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain: serve HTTPS (TLS 1.2+) instead of HTTP; needs --tls_key_file");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");

namespace {

constexpr char kVersion[] = "cai-edge " CAI_VERSION;

[[noreturn]] void Die(const std::string& message) {
  cai::LogError(message);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  cai::SetLogName("cai-edge");
  cai::BlockTerminationSignals();
  cai::ParseCommandLine(argc, argv,
                       "the public OpenAI-compatible HTTP API.\n"
                       "Usage: cai-edge [--host H] [--port N] [--api_keys_file F] [--signer A] [--attestor A] "
                       "[--inference A]");

  const int64_t max_body = absl::GetFlag(FLAGS_max_body_bytes);
  const int64_t max_header = absl::GetFlag(FLAGS_max_header_bytes);
  const int32_t port = absl::GetFlag(FLAGS_port);
  const int32_t max_connections = absl::GetFlag(FLAGS_max_connections);
  const int32_t timeout = absl::GetFlag(FLAGS_request_timeout_seconds);
  if (max_body < 1 || max_body > (64 << 20)) Die("--max_body_bytes must be in 1..64 MiB");
  if (max_header < 1024 || max_header > (1 << 20)) Die("--max_header_bytes must be in 1 KiB..1 MiB");
  if (port < 0 || port > 65535) Die("--port must be in 0..65535");
  if (max_connections < 1 || max_connections > 100000) Die("--max_connections must be in 1..100000");
  if (timeout < 1 || timeout > 3600) Die("--request_timeout_seconds must be in 1..3600");

  std::shared_ptr<cai::edge::TlsContext> tls;
  const std::string tls_cert = absl::GetFlag(FLAGS_tls_cert_file), tls_key = absl::GetFlag(FLAGS_tls_key_file);
  if (tls_cert.empty() != tls_key.empty()) Die("--tls_cert_file and --tls_key_file go together");
  if (!tls_cert.empty()) {
    absl::StatusOr<std::shared_ptr<cai::edge::TlsContext>> loaded = cai::edge::TlsContext::Load(tls_cert, tls_key);
    if (!loaded.ok()) Die(std::string(loaded.status().message()));
    tls = *std::move(loaded);
  }

  const char* env_keys = std::getenv("CAI_API_KEYS");
  absl::StatusOr<cai::edge::ApiKeys> keys =
      cai::edge::ApiKeys::Load(absl::GetFlag(FLAGS_api_keys_file), env_keys ? env_keys : "");
  if (!keys.ok()) Die(keys.status().ToString());
  if (keys->empty()) {
    cai::LogWarning("NO API KEYS CONFIGURED: every route is open to anyone who can reach this port. "
                    "Set --api_keys_file or CAI_API_KEYS.");
  } else {
    cai::LogInfo(keys->size(), " API keys loaded");
  }

  cai::edge::EdgeService service(
      cai::edge::Backends{.signer = cai::ConnectBackend(absl::GetFlag(FLAGS_signer)),
                          .attestor = cai::ConnectBackend(absl::GetFlag(FLAGS_attestor)),
                          .inference = cai::ConnectBackend(absl::GetFlag(FLAGS_inference),
                                                           absl::GetFlag(FLAGS_inference_round_robin)
                                                               ? cai::LoadBalancing::kRoundRobin
                                                               : cai::LoadBalancing::kPickFirst)},
      *std::move(keys), kVersion);
  service.set_insecure_e2ee_v1(absl::GetFlag(FLAGS_insecure_e2ee_v1));
  if (absl::GetFlag(FLAGS_insecure_e2ee_v1)) {
    cai::LogWarning("--insecure_e2ee_v1: accepting end-to-end encryption version 1, which can be replayed");
  }
  cai::edge::HttpServerOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.port = static_cast<uint16_t>(port);
  options.max_body_bytes = static_cast<size_t>(max_body);
  options.max_header_bytes = static_cast<size_t>(max_header);
  options.max_connections = max_connections;
  options.request_timeout = std::chrono::seconds(timeout);
  options.tls = tls;
  cai::edge::HttpServer server(
      options,
      [&service](const cai::edge::HttpRequest& request, cai::edge::ResponseWriter& writer) {
        service.Handle(request, writer);
      });
  if (absl::Status status = server.Listen(); !status.ok()) Die(status.ToString());
  cai::LogInfo("listening on ", tls != nullptr ? "https://" : "http://", absl::GetFlag(FLAGS_host), ":", server.port());
  if (const std::string path = absl::GetFlag(FLAGS_port_file); !path.empty()) {
    // Written whole under another name, then renamed, so a reader never sees a partial number.
    const std::string temporary = path + ".tmp";
    std::ofstream(temporary) << server.port() << "\n";
    if (std::rename(temporary.c_str(), path.c_str()) != 0) Die("cannot write --port_file " + path);
  }

  std::thread signals([&server] {
    cai::LogInfo("signal ", cai::WaitForTerminationSignal(), " received, finishing in-flight requests");
    server.Stop();
  });
  server.Run();
  signals.join();
  cai::LogInfo("stopped");
  return 0;
}
