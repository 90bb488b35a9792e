#include "services/attestor/attestor_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/unit/attestation/chain_to_root.h"
#include "lib/attestation/ec_crypto.h"
#include "lib/attestation/nvidia_spdm.h"
#include "lib/attestation/tdx_quote.h"
#include "lib/attestation/simulated_tdx.h"
#include "services/attestor/nvml_provider.h"
#include "services/attestor/simulated_providers.h"
#include "tests/unit/attestor/fake_nvml_control.h"

namespace cai {
namespace {

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i);
  return s;
}

std::span<const uint8_t> AsSpan(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class AttestorServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto tdx = MakeSimulatedTdxProvider();
    auto gpu = MakeSimulatedGpuProvider();
    ASSERT_TRUE(tdx.ok() && gpu.ok());
    service_ = new AttestorService(std::move(*tdx), std::move(*gpu));
  }
  static void TearDownTestSuite() { delete service_; }

  static v1::GetEvidenceRequest Request(size_t report_data_size, size_t nonce_size) {
    v1::GetEvidenceRequest request;
    request.set_report_data(Pattern(report_data_size, 'a'));
    request.set_gpu_nonce(Pattern(nonce_size, 'N'));
    return request;
  }
  static AttestorService* service_;
};
AttestorService* AttestorServiceTest::service_ = nullptr;

TEST_F(AttestorServiceTest, QuoteCarriesTheReportDataAndVerifies) {
  v1::GetEvidenceRequest request = Request(64, 32);
  absl::StatusOr<v1::Evidence> evidence = service_->Collect(request);
  ASSERT_TRUE(evidence.ok()) << evidence.status();
  const std::string& quote = evidence->tdx_quote();
  ASSERT_GT(quote.size(), 632u);
  EXPECT_EQ(quote.substr(568, 64), request.report_data());  // unhashed, at the real offset
  absl::StatusOr<TdxQuote> parsed = ParseTdxQuote(AsSpan(quote));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(VerifyQuoteSignature(*parsed).ok());
  EXPECT_TRUE(VerifyQeReportBinding(*parsed).ok());
  EXPECT_TRUE(VerifyQeReportSignature(*parsed).ok());
  EXPECT_TRUE(evidence->simulated());
  EXPECT_EQ(evidence->tdx_provider(), "simulated");
  EXPECT_EQ(evidence->gpu_provider(), "simulated");
  EXPECT_EQ(evidence->event_log(), "");
}

TEST_F(AttestorServiceTest, GpuReportCarriesTheNonceAndVerifies) {
  v1::GetEvidenceRequest request = Request(64, 32);
  absl::StatusOr<v1::Evidence> evidence = service_->Collect(request);
  ASSERT_TRUE(evidence.ok()) << evidence.status();
  ASSERT_EQ(evidence->gpus_size(), 1);
  const v1::GpuEvidence& gpu = evidence->gpus(0);
  EXPECT_EQ(gpu.arch(), "HOPPER");
  absl::StatusOr<SpdmReport> report = ParseSpdmReport(AsSpan(gpu.attestation_report()));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(CheckSpdmNonce(*report, AsSpan(request.gpu_nonce())).ok());
  EXPECT_TRUE(VerifySpdmSignature(*report, gpu.certificate_chain()).ok());
}

TEST_F(AttestorServiceTest, InfoJsonNamesProvidersAndSimulatedRoots) {
  absl::StatusOr<v1::Evidence> evidence = service_->Collect(Request(64, 32));
  ASSERT_TRUE(evidence.ok());
  nlohmann::json info = nlohmann::json::parse(evidence->info_json());
  EXPECT_EQ(info["tdx_provider"], "simulated");
  EXPECT_EQ(info["gpu_provider"], "simulated");
  EXPECT_EQ(info["simulated"], true);
  std::string tdx_root = info["simulated_roots"]["tdx_root_ca_pem"];
  std::string gpu_root = info["simulated_roots"]["gpu_root_ca_pem"];
  // The published roots are the ones the evidence chains to.
  absl::StatusOr<TdxQuote> quote = ParseTdxQuote(AsSpan(evidence->tdx_quote()));
  ASSERT_TRUE(quote.ok());
  EXPECT_TRUE(ChainVerifiesToRoot(quote->pck_chain_pem, tdx_root).ok());
  EXPECT_TRUE(ChainVerifiesToRoot(evidence->gpus(0).certificate_chain(), gpu_root).ok());
}

TEST_F(AttestorServiceTest, WrongSizesAreInvalidArgument) {
  for (auto [rd, nonce] : {std::pair{63, 32}, std::pair{65, 32}, std::pair{0, 32}, std::pair{64, 31},
                           std::pair{64, 33}, std::pair{64, 0}, std::pair{32, 64}}) {
    v1::GetEvidenceRequest request = Request(static_cast<size_t>(rd), static_cast<size_t>(nonce));
    EXPECT_EQ(service_->Collect(request).status().code(), absl::StatusCode::kInvalidArgument)
        << rd << "/" << nonce;
    v1::Evidence response;
    grpc::Status status = service_->GetEvidence(nullptr, &request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(response.tdx_quote().empty());
  }
}

TEST_F(AttestorServiceTest, GrpcMethodReturnsTheEvidence) {
  v1::GetEvidenceRequest request = Request(64, 32);
  v1::Evidence response;
  grpc::Status status = service_->GetEvidence(nullptr, &request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.tdx_quote().substr(568, 64), request.report_data());
  EXPECT_EQ(response.gpus_size(), 1);
}

TEST_F(AttestorServiceTest, ConcurrentCallsEachGetTheirOwnReportData) {
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        v1::GetEvidenceRequest request;
        request.set_report_data(Pattern(64, static_cast<char>(t * 8 + i)));
        request.set_gpu_nonce(Pattern(32, static_cast<char>(100 + t)));
        absl::StatusOr<v1::Evidence> e = service_->Collect(request);
        if (!e.ok()) continue;
        absl::StatusOr<TdxQuote> q = ParseTdxQuote(AsSpan(e->tdx_quote()));
        absl::StatusOr<SpdmReport> r = ParseSpdmReport(AsSpan(e->gpus(0).attestation_report()));
        if (q.ok() && r.ok() && VerifyQuoteSignature(*q).ok() &&
            e->tdx_quote().substr(568, 64) == request.report_data() &&
            CheckSpdmNonce(*r, AsSpan(request.gpu_nonce())).ok()) {
          ++good;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(good.load(), 24);
}

TEST_F(AttestorServiceTest, WorksOverGrpc) {
  grpc::ServerBuilder builder;
  builder.RegisterService(service_);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  std::unique_ptr<v1::Attestor::Stub> stub = v1::Attestor::NewStub(server->InProcessChannel({}));
  v1::GetEvidenceRequest request = Request(64, 32);
  v1::Evidence response;
  grpc::ClientContext context;
  grpc::Status status = stub->GetEvidence(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.tdx_quote().substr(568, 64), request.report_data());
  grpc::ClientContext bad_context;
  request.set_gpu_nonce("short");
  EXPECT_EQ(stub->GetEvidence(&bad_context, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  server->Shutdown();
}

TEST(AttestorServiceNoGpuTest, NoneMeansNoGpus) {
  auto tdx = MakeSimulatedTdxProvider();
  ASSERT_TRUE(tdx.ok());
  AttestorService service(std::move(*tdx), nullptr);
  v1::GetEvidenceRequest request;
  request.set_report_data(std::string(64, 'x'));
  request.set_gpu_nonce(std::string(32, 'y'));
  absl::StatusOr<v1::Evidence> evidence = service.Collect(request);
  ASSERT_TRUE(evidence.ok());
  EXPECT_EQ(evidence->gpus_size(), 0);
  EXPECT_EQ(evidence->gpu_provider(), "none");
  EXPECT_TRUE(evidence->simulated());
}

// Stands in for a real TDX provider (dstack, configfs-tsm): not simulated, with an event log,
// VM config and start-time facts, so the service's handling of those can be checked.
class RealLikeTdx final : public TdxQuoteProvider {
 public:
  RealLikeTdx() : tdx_(std::move(*SimulatedTdx::Create())) {}
  std::string name() const override { return "dstack"; }
  bool simulated() const override { return false; }
  std::string info_json() const override { return R"({"app_id":"a1","compose_hash":"c2"})"; }
  absl::StatusOr<TdxEvidence> Quote(std::span<const uint8_t, 64> report_data) override {
    TdxEvidence evidence;
    evidence.quote = *tdx_->Quote(report_data);
    evidence.event_log = R"([{"imr":3}])";
    evidence.vm_config = R"({"cpu_count":2})";
    return evidence;
  }

 private:
  std::unique_ptr<SimulatedTdx> tdx_;
};

v1::GetEvidenceRequest PlainRequest() {
  v1::GetEvidenceRequest request;
  request.set_report_data(std::string(64, 'r'));
  request.set_gpu_nonce(std::string(32, 'n'));
  return request;
}

std::unique_ptr<GpuEvidenceProvider> FakeNvmlGpu() {
  fake_nvml::ConfigureFakeNvml(fake_nvml::FakeNvmlSetup());
  absl::StatusOr<std::unique_ptr<NvmlGpuProvider>> nvml = NvmlGpuProvider::Load(fake_nvml::FakeNvmlPath());
  EXPECT_TRUE(nvml.ok()) << nvml.status();
  return nvml.ok() ? std::move(*nvml) : nullptr;
}

TEST(AttestorServiceRealProvidersTest, RealEvidenceIsNotSimulatedAndCarriesProviderFacts) {
  AttestorService service(std::make_unique<RealLikeTdx>(), FakeNvmlGpu());
  EXPECT_FALSE(service.simulated());
  absl::StatusOr<v1::Evidence> evidence = service.Collect(PlainRequest());
  ASSERT_TRUE(evidence.ok()) << evidence.status();
  EXPECT_FALSE(evidence->simulated());
  EXPECT_EQ(evidence->tdx_provider(), "dstack");
  EXPECT_EQ(evidence->gpu_provider(), "nvml");
  EXPECT_EQ(evidence->gpus_size(), 1);
  EXPECT_EQ(evidence->event_log(), R"([{"imr":3}])");
  EXPECT_EQ(evidence->vm_config(), R"({"cpu_count":2})");
  nlohmann::json info = nlohmann::json::parse(evidence->info_json());
  EXPECT_EQ(info["simulated"], false);
  EXPECT_FALSE(info.contains("simulated_roots"));
  EXPECT_EQ(info["tdx_info"]["app_id"], "a1");
  EXPECT_EQ(info["tdx_info"]["compose_hash"], "c2");
}

TEST(AttestorServiceRealProvidersTest, SimulatedIfAnyPartIsSimulated) {
  auto simulated_gpu = MakeSimulatedGpuProvider();
  auto simulated_tdx = MakeSimulatedTdxProvider();
  ASSERT_TRUE(simulated_gpu.ok() && simulated_tdx.ok());
  AttestorService real_tdx_simulated_gpu(std::make_unique<RealLikeTdx>(), std::move(*simulated_gpu));
  AttestorService simulated_tdx_real_gpu(std::move(*simulated_tdx), FakeNvmlGpu());
  AttestorService real_tdx_no_gpu(std::make_unique<RealLikeTdx>(), nullptr);
  EXPECT_TRUE(real_tdx_simulated_gpu.Collect(PlainRequest())->simulated());
  EXPECT_TRUE(simulated_tdx_real_gpu.Collect(PlainRequest())->simulated());
  EXPECT_FALSE(real_tdx_no_gpu.Collect(PlainRequest())->simulated());
}

}  // namespace
}  // namespace cai
