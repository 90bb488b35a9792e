// What verifiability adds to one request: hashing the request and response bytes, and the signer
// round trip (sign with both keys + store). And what end-to-end encryption adds when a client asks
// for it: the signer opening the sealed messages, one ECDH per response, and sealing each streamed
// content. Reported in microseconds and as a ratio to an empty gRPC round trip
// (grpc.health.v1 Check) over the same channel, measured in the same run.
//
//   build/bin/cai-bench-signing-overhead --signer unix:/tmp/cai-0/signer.sock [--iterations 2000]
#include <chrono>
#include <cstdio>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "bench/stats.h"
#include "cai/v1/signer.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "lib/common/random.h"
#include "lib/crypto/ecies_secp256k1.h"
#include "lib/crypto/sha256.h"

ABSL_FLAG(std::string, signer, "unix:/tmp/cai/signer.sock", "signer gRPC address");
ABSL_FLAG(int, iterations, 2000, "measured iterations per figure");
ABSL_FLAG(int, request_bytes, 1024, "size of the hashed request body");
ABSL_FLAG(int, response_bytes, 4096, "size of the hashed response body");
ABSL_FLAG(int, sealed_messages, 2, "E2EE: sealed messages per request (system + user)");
ABSL_FLAG(int, message_bytes, 512, "E2EE: plaintext bytes per sealed message");
ABSL_FLAG(int, chunk_bytes, 16, "E2EE: plaintext bytes per sealed stream chunk (a token or a few)");

namespace {

using Clock = std::chrono::steady_clock;

double MicrosSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

template <typename F>
std::vector<double> Measure(int n, F&& f) {
  for (int i = 0; i < n / 10 + 1; ++i) f(i);  // warm up
  std::vector<double> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    f(i);
    out.push_back(MicrosSince(t0));
  }
  return out;
}

void Print(const char* name, const std::vector<double>& us, double reference_p50) {
  double p50 = cai::bench::Percentile(us, 50), p99 = cai::bench::Percentile(us, 99);
  std::printf("%-34s p50 %8.1f us  p99 %8.1f us  p50 = %5.2fx empty RPC\n", name, p50, p99, p50 / reference_p50);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int n = absl::GetFlag(FLAGS_iterations);
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_signer), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto signer = cai::v1::Signer::NewStub(channel);

  auto empty_rpc = Measure(n, [&](int) {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    if (!health->Check(&ctx, req, &resp).ok()) std::abort();
  });
  const double ref = cai::bench::Percentile(empty_rpc, 50);

  const std::string request(absl::GetFlag(FLAGS_request_bytes), 'q');
  const std::string response(absl::GetFlag(FLAGS_response_bytes), 'r');
  auto hashing = Measure(n, [&](int) {
    auto a = cai::Sha256(request);
    auto b = cai::Sha256(response);
    if (a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3]) std::printf(" ");
  });

  const std::string run_id = cai::RandomHex(4);
  auto sign_and_store = Measure(n, [&](int i) {
    grpc::ClientContext ctx;
    cai::v1::SignChatRequest req;
    req.set_id(absl::StrCat("chatcmpl-bench-", run_id, "-", i, "-", Clock::now().time_since_epoch().count()));
    req.set_model("bench");
    auto a = cai::Sha256(request), b = cai::Sha256(response);
    req.set_request_sha256(a.data(), a.size());
    req.set_response_sha256(b.data(), b.size());
    cai::v1::SignChatResponse resp;
    grpc::Status s = signer->SignChat(&ctx, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "SignChat: %s\n", s.error_message().c_str());
      std::abort();
    }
  });

  std::vector<double> total(n);
  for (int i = 0; i < n; ++i) total[i] = hashing[i] + sign_and_store[i];

  std::printf("signing overhead, %d iterations, request %d B, response %d B, signer %s\n", n,
              absl::GetFlag(FLAGS_request_bytes), absl::GetFlag(FLAGS_response_bytes),
              absl::GetFlag(FLAGS_signer).c_str());
  Print("reference: empty gRPC round trip", empty_rpc, ref);
  Print("sha256(request) + sha256(response)", hashing, ref);
  Print("SignChat (ecdsa + ed25519 + store)", sign_and_store, ref);
  Print("verifiability total", total, ref);
  const double p50_ms = cai::bench::Percentile(total, 50) / 1000.0;
  std::printf("verifiability adds %.3f ms per request at p50 (aim: < 0.3 ms): %s\n", p50_ms,
              p50_ms < 0.3 ? "met" : "NOT met");

  // End-to-end encryption, only for requests that ask for it.
  cai::v1::PublicKeys keys;
  {
    grpc::ClientContext ctx;
    if (!signer->GetPublicKeys(&ctx, cai::v1::GetPublicKeysRequest(), &keys).ok()) std::abort();
  }
  const auto model_key = *cai::ParseSecp256k1PublicKey(
      std::span(reinterpret_cast<const uint8_t*>(keys.ecdsa_public_key().data()), keys.ecdsa_public_key().size()));
  cai::v1::OpenSealedRequest open;
  open.set_algo(cai::v1::SIGNING_ALGO_ECDSA);
  for (int m = 0; m < absl::GetFlag(FLAGS_sealed_messages); ++m) {
    // Each message under its own ephemeral key, as clients seal them.
    std::vector<uint8_t> sealed = *cai::SealerForSecp256k1(model_key)->Seal(
        std::string(absl::GetFlag(FLAGS_message_bytes), 'm'), absl::StrCat("aad-", m));
    cai::v1::SealedField* field = open.add_fields();
    field->set_sealed(sealed.data(), sealed.size());
    field->set_aad(absl::StrCat("aad-", m));
  }
  auto open_request = Measure(n, [&](int) {
    grpc::ClientContext ctx;
    cai::v1::OpenSealedResponse resp;
    if (!signer->OpenSealed(&ctx, open, &resp).ok()) std::abort();
  });
  auto start_response = Measure(n, [&](int) {
    if (!cai::SealerForSecp256k1(model_key).ok()) std::abort();
  });
  const auto sealer = *cai::SealerForSecp256k1(model_key);
  const std::string chunk(absl::GetFlag(FLAGS_chunk_bytes), 'c');
  auto seal_chunk = Measure(n, [&](int) {
    if (!sealer.Seal(chunk, "v2|resp|algo=ecdsa|model=m|id=chatcmpl-0|choice=0|field=content|n=0|ts=0").ok()) {
      std::abort();
    }
  });
  std::printf("E2EE: %d sealed messages of %d B, stream chunks of %d B\n", absl::GetFlag(FLAGS_sealed_messages),
              absl::GetFlag(FLAGS_message_bytes), absl::GetFlag(FLAGS_chunk_bytes));
  Print("OpenSealed (signer opens request)", open_request, ref);
  Print("ephemeral key + ECDH per response", start_response, ref);
  Print("seal one stream chunk", seal_chunk, ref);
  return 0;
}
