#include "tools/cai/health.h"

#include <chrono>
#include <cstdio>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "lib/common/grpc_status.h"
#include "tools/cai/http_client.h"

namespace cai::cli {
namespace {

// A healthcheck answers at once or the service counts as unhealthy; the caller retries.
constexpr int kHealthTimeoutMs = 2000;

}  // namespace

absl::Status CheckGrpcHealth(const std::string& address, int timeout_ms) {
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status status = stub->Check(&ctx, req, &resp);
  if (!status.ok()) return FromGrpcStatus(status);
  if (resp.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError(absl::StrCat(address, " is not serving (status ", resp.status(), ")"));
  }
  return absl::OkStatus();
}

int RunHealth(const std::vector<std::string>& args) {
  constexpr char kUsage[] =
      "usage: cai health grpc ADDRESS | cai health http URL [--tls-ca FILE]\n"
      "  --tls-ca FILE: an https URL's certificate, pinned (a probe reaches the edge by address, so\n"
      "  the certificate need not name it)\n";
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const bool pinned = args.size() == 4 && args[0] == "http" && args[2] == "--tls-ca";
  if (!(args.size() == 2 || pinned) || (args[0] != "grpc" && args[0] != "http")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (args[0] == "grpc") {
    absl::Status s = CheckGrpcHealth(args[1], kHealthTimeoutMs);
    if (!s.ok()) std::fprintf(stderr, "unhealthy: %s\n", s.ToString().c_str());
    return s.ok() ? 0 : 1;
  }
  HttpClientOptions options;
  options.timeout = std::chrono::milliseconds(kHealthTimeoutMs);
  if (pinned) PinStartedEdgeCertificate(options, args[3]);
  absl::StatusOr<HttpResponse> r = HttpClient(ServiceRootUrl(args[1]), "", options).Get("/health");
  if (!r.ok() || r->status != 200) {
    std::fprintf(stderr, "unhealthy: %s\n", r.ok() ? absl::StrCat("HTTP ", r->status).c_str() : r.status().ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace cai::cli
