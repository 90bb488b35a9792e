// `cai verify service` against a hostile or stalled service: every malformed answer fails the
// check it belongs to with the field named, and a silent service fails within the deadline.
#include "tools/cai/service_check.h"

#include <map>

#include <gtest/gtest.h>

#include "lib/common/hex.h"
#include "tests/unit/tools/fake_http_server.h"

namespace cai::cli {
namespace {

using testing::FakeHttpServer;

// Answers by path, with one answer replaced; the signature endpoint by prefix.
class FakeService {
 public:
  FakeService(const std::string& path, std::string body) { bodies_[path] = std::move(body); }

  ServiceCheckResult Check(bool allow_simulated = false) {
    FakeHttpServer server([this](const std::string& path) -> std::optional<std::string> {
      const std::string key = path.rfind("/v1/signature/", 0) == 0 ? "/v1/signature/" : path;
      auto it = bodies_.find(key);
      return FakeHttpServer::Response(it == bodies_.end() ? 404 : 200, it == bodies_.end() ? "{}" : it->second);
    });
    EXPECT_TRUE(server.listening());
    HttpClientOptions http;
    http.timeout = std::chrono::seconds(10);
    ServiceCheckOptions options;
    options.allow_simulated = allow_simulated;
    ServiceCheckResult result = CheckService(HttpClient(server.url(), "", http), options);
    targets_ = server.targets();
    return result;
  }

  // The request targets ("/path?query") of the last Check.
  const std::vector<std::string>& targets() const { return targets_; }

 private:
  std::map<std::string, std::string> bodies_ = {
      {"/v1/models", R"({"data":[{"id":"m"}]})"},
      {"/v1/attestation/report", "{}"},
      {"/v1/chat/completions", R"({"id":"chatcmpl-1","choices":[{"message":{"content":"hi"}}]})"},
      {"/v1/signature/", R"({"text":"t","signature":"0x00"})"},
  };
  std::vector<std::string> targets_;
};

// The check `name` exists, failed, and its detail contains `text`.
void ExpectFailed(const ServiceCheckResult& result, const std::string& name, const std::string& text) {
  const Check* check = result.checklist.Find(name);
  ASSERT_NE(check, nullptr) << name << "\n" << result.checklist.ToText();
  EXPECT_EQ(check->outcome, CheckOutcome::kFail) << name;
  EXPECT_NE(check->detail.find(text), std::string::npos) << check->detail;
  EXPECT_FALSE(result.checklist.AllPassed());
}

TEST(CheckServiceTest, NumericModelIdFailsModelsAreListed) {
  FakeService service("/v1/models", R"({"data":[{"id":5}]})");
  ServiceCheckResult result = service.Check();
  ExpectFailed(result, "models are listed", "field 'data[0].id' must be a string (found number)");
  EXPECT_EQ(result.checklist.checks().size(), 1u);  // nothing after: there is no model to ask for
}

TEST(CheckServiceTest, NonObjectModelFailsModelsAreListed) {
  FakeService service("/v1/models", R"({"data":[5]})");
  ExpectFailed(service.Check(), "models are listed", "field 'data[0]' must be an object");
}

TEST(CheckServiceTest, NonJsonModelListFailsModelsAreListed) {
  FakeService service("/v1/models", "<html>");
  ExpectFailed(service.Check(), "models are listed", "not a JSON object");
}

TEST(CheckServiceTest, NonBooleanSimulatedFailsTheReport) {
  FakeService service("/v1/attestation/report", R"({"info":{"simulated":"false"}})");
  ServiceCheckResult result = service.Check();
  ExpectFailed(result, "attestation (ecdsa): report", "field 'info.simulated' must be a boolean");
  ExpectFailed(result, "attestation (ed25519): report", "field 'info.simulated' must be a boolean");
  EXPECT_FALSE(result.simulated);
}

TEST(CheckServiceTest, NonStringSimulatedRootFailsTheReport) {
  FakeService service("/v1/attestation/report",
                      R"({"info":{"simulated":true,"simulated_roots":{"tdx_root_ca_pem":1}}})");
  ExpectFailed(service.Check(/*allow_simulated=*/true), "attestation (ecdsa): report",
               "field 'info.simulated_roots.tdx_root_ca_pem' must be a string (found number)");
}

TEST(CheckServiceTest, NumericCompletionIdFailsChatCompletion) {
  FakeService service("/v1/chat/completions", R"({"id":5})");
  ExpectFailed(service.Check(), "chat completion", "field 'id' must be a string (found number)");
}

TEST(CheckServiceTest, NonStringSignatureTextFailsTheFetch) {
  FakeService service("/v1/signature/", R"({"text":1,"signature":"0x00"})");
  ServiceCheckResult result = service.Check();
  ExpectFailed(result, "signature (ecdsa): fetched", "field 'text' must be a string (found number)");
  ExpectFailed(result, "signature (ed25519): fetched", "field 'text' must be a string (found number)");
}

TEST(CheckServiceTest, ResponseIdCannotReshapeTheSignatureRequest) {
  FakeService service("/v1/chat/completions", R"({"id":"../x?model=y#"})");
  service.Check();
  ASSERT_FALSE(service.targets().empty());
  const std::string& last = service.targets().back();
  EXPECT_EQ(last.substr(0, last.find('?')), "/v1/signature/..%2Fx%3Fmodel%3Dy%23");
}

TEST(CheckServiceTest, ModelIdCannotReshapeTheSignatureQuery) {
  FakeService service("/v1/models", R"({"data":[{"id":"m&signing_algo=x#"}]})");
  service.Check();
  ASSERT_FALSE(service.targets().empty());
  const std::string& last = service.targets().back();
  EXPECT_NE(last.find("?model=m%26signing_algo%3Dx%23&"), std::string::npos) << last;
}

TEST(CheckServiceTest, StalledServiceFailsWithinTheDeadline) {
  FakeHttpServer server([](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(server.listening());
  HttpClientOptions http;
  http.timeout = std::chrono::milliseconds(300);
  ServiceCheckResult result = CheckService(HttpClient(server.url(), "", http), ServiceCheckOptions());
  const Check* models = result.checklist.Find("models are listed");
  ASSERT_NE(models, nullptr);
  EXPECT_EQ(models->outcome, CheckOutcome::kFail);
  EXPECT_NE(models->detail.find("no complete response within"), std::string::npos) << models->detail;
}

TEST(CheckAttestationReportTest, WrongNonceAndGarbageEvidenceFailWithoutThrowing) {
  ServiceCheckResult result;
  const std::string nonce(64, 'a');
  std::vector<uint8_t> key = CheckAttestationReport(
      R"({"request_nonce":"bb","intel_quote":"zz","signing_address":"00"})", "ecdsa", nonce, 1750000000,
      ServiceCheckOptions(), result);
  EXPECT_TRUE(key.empty());
  ExpectFailed(result, "attestation (ecdsa): request_nonce echoes our nonce", "differs");
  ExpectFailed(result, "attestation (ecdsa): TDX quote parses", "intel_quote is not hex");
}

// The key of private key 1 (the generator point) and its address.
constexpr std::string_view kGeneratorXY =
    "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8";
constexpr std::string_view kGeneratorAddress = "7e5f4552091a69125d5dfcb7b8c2659029395bdf";

TEST(AttestedEcdsaPublicKeyTest, TheKeyBehindTheAttestedAddressPasses) {
  Checklist list;
  auto key = AttestedEcdsaPublicKey(*HexDecode(kGeneratorAddress), kGeneratorXY, list);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(HexEncode(*key), kGeneratorXY);
  EXPECT_EQ(list.Find("attestation (ecdsa): signing_public_key is the attested key")->outcome, CheckOutcome::kPass);
}

TEST(AttestedEcdsaPublicKeyTest, AnotherKeyFailsNamingItsAddress) {
  Checklist list;
  std::vector<uint8_t> other_address(20, 0x11);
  EXPECT_FALSE(AttestedEcdsaPublicKey(other_address, kGeneratorXY, list).has_value());
  const Check* check = list.Find("attestation (ecdsa): signing_public_key is the attested key");
  EXPECT_EQ(check->outcome, CheckOutcome::kFail);
  EXPECT_NE(check->detail.find("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"), std::string::npos) << check->detail;
}

TEST(AttestedEcdsaPublicKeyTest, MalformedKeysFailAndAnAbsentOneIsNotPerformed) {
  const std::vector<uint8_t> address = *HexDecode(kGeneratorAddress);
  for (std::string bad : {std::string("zz"), std::string(kGeneratorXY.substr(2)), "04" + std::string(kGeneratorXY)}) {
    Checklist list;
    EXPECT_FALSE(AttestedEcdsaPublicKey(address, bad, list).has_value());
    EXPECT_EQ(list.Find("attestation (ecdsa): signing_public_key is the attested key")->outcome, CheckOutcome::kFail);
  }
  Checklist list;
  EXPECT_FALSE(AttestedEcdsaPublicKey(address, "", list).has_value());
  EXPECT_EQ(list.Find("attestation (ecdsa): signing_public_key is the attested key")->outcome,
            CheckOutcome::kNotPerformed);
}

}  // namespace
}  // namespace cai::cli
