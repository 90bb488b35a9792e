// The verification policy (tdx_verify, gpu_verify, report_data_binding, event_log) on simulated
// evidence the tests make themselves, including collateral signed under the simulated root, and on
// the real samples in shared/testdata/attestation (skipped when absent).
#include <gtest/gtest.h>

#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "lib/attestation/collateral.h"
#include "lib/attestation/event_log.h"
#include "lib/attestation/gpu_verify.h"
#include "lib/attestation/report_data_binding.h"
#include "lib/attestation/simulated_gpu.h"
#include "lib/attestation/simulated_tdx.h"
#include "lib/attestation/tdx_verify.h"
#include "lib/common/hex.h"
#include "lib/crypto/sha256.h"
#include "tests/unit/attestation/testdata.h"

namespace cai {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr int64_t kSampleWindowStart = 1750329147;  // tdx_quote_collateral.json (reference)
constexpr int64_t kSampleWindowEnd = 1752919235;
constexpr int64_t kOutdatedWindowStart = 1771412331;
constexpr char kHopperNonce[] = "e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576";

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }
// 2025-11-22: inside the PCK certificates' validity of every real quote sample without collateral
// (the earliest ends in August 2031), so the tests do not start failing on that day.
constexpr int64_t kRealQuotesCheckedAt = 1763769600;

std::array<uint8_t, 64> ReportData(uint8_t seed) {
  std::array<uint8_t, 64> rd;
  for (size_t i = 0; i < rd.size(); ++i) rd[i] = static_cast<uint8_t>(seed + i);
  return rd;
}
std::array<uint8_t, 32> Nonce(uint8_t seed) {
  std::array<uint8_t, 32> n;
  for (size_t i = 0; i < n.size(); ++i) n[i] = static_cast<uint8_t>(seed * 7 + i);
  return n;
}

Bytes Flip(Bytes b, size_t at) {
  b.at(at) ^= 0x01;
  return b;
}

// Where a check ended up: the status of `name`, or "parse: <error>" when the quote did not parse.
struct Outcome {
  std::string parse_error;
  TdxVerification result;
};

Outcome VerifyBytes(const Bytes& bytes, const std::optional<std::string>& collateral_json,
                    const TdxVerifyOptions& options) {
  Outcome out;
  absl::StatusOr<TdxQuote> quote = ParseTdxQuote(bytes);
  if (!quote.ok()) {
    out.parse_error = std::string(quote.status().message());
    return out;
  }
  std::optional<Collateral> collateral;
  if (collateral_json) {
    absl::StatusOr<Collateral> c = ParseCollateral(*collateral_json);
    if (!c.ok()) {
      out.parse_error = std::string(c.status().message());
      return out;
    }
    collateral = std::move(*c);
  }
  out.result = VerifyTdxQuote(*quote, collateral, options);
  return out;
}

std::string Describe(const Verification& v) {
  std::string s;
  for (const VerificationCheck& c : v.checks()) absl::StrAppend(&s, "  [", CheckStatusName(c.status), "] ", c.name, ": ", c.detail, "\n");
  return s;
}

// Replaces the PCK chain of a simulated v4 quote (QE auth data of 32 bytes), fixing the lengths.
Bytes WithPckChain(const Bytes& quote, const std::string& pem) {
  constexpr size_t kChainSizeAt = 1254;
  Bytes out(quote.begin(), quote.begin() + kChainSizeAt);
  for (size_t i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(pem.size() >> (8 * i)));
  out.insert(out.end(), pem.begin(), pem.end());
  auto put32 = [&](size_t at, size_t v) {
    for (size_t i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put32(632, out.size() - 636);
  put32(766, out.size() - 770);
  return out;
}

std::vector<std::string> SplitPem(const std::string& pem) {
  std::vector<std::string> certs;
  const std::string end = "-----END CERTIFICATE-----\n";
  for (size_t at = 0; at < pem.size();) {
    size_t e = pem.find(end, at);
    if (e == std::string::npos) break;
    certs.push_back(pem.substr(at, e + end.size() - at));
    at = e + end.size();
  }
  return certs;
}

// Flips a byte of the first certificate's signature (its DER ends with it) and re-encodes.
std::string CorruptLeafSignature(const std::string& pem) {
  std::vector<X509Ptr> certs = *ParsePemCertificates(pem);
  unsigned char* der = nullptr;
  int len = i2d_X509(certs[0].get(), &der);
  der[len - 3] ^= 0x01;
  const unsigned char* p = der;
  X509Ptr corrupted(d2i_X509(nullptr, &p, len));
  OPENSSL_free(der);
  std::string out = CertificateToPem(corrupted.get());
  for (size_t i = 1; i < certs.size(); ++i) out += CertificateToPem(certs[i].get());
  return out;
}

class Simulated : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tdx_ = SimulatedTdx::Create()->release();
    other_tdx_ = SimulatedTdx::Create()->release();
    gpu_ = SimulatedGpu::Create()->release();
    other_gpu_ = SimulatedGpu::Create()->release();
    quote_ = new Bytes(*tdx_->Quote(ReportData(1)));
  }
  static void TearDownTestSuite() {
    delete tdx_;
    delete other_tdx_;
    delete gpu_;
    delete other_gpu_;
    delete quote_;
  }
  static TdxVerifyOptions SimOptions() {
    TdxVerifyOptions o;
    o.now = Now();
    o.root_pins = {*PinOfPem(tdx_->root_certificate_pem())};
    return o;
  }
  static GpuVerifyOptions GpuOptions() {
    GpuVerifyOptions o;
    o.now = Now();
    o.root_pins = {*PinOfPem(gpu_->root_certificate_pem())};
    o.expected_nonce = Nonce(1);
    return o;
  }
  static GpuEvidenceItem GpuItem(SimulatedGpu* gpu, uint8_t nonce_seed) {
    return {"HOPPER", gpu->certificate_chain_pem(), *gpu->AttestationReport(Nonce(nonce_seed))};
  }
  static SimulatedTdx* tdx_;
  static SimulatedTdx* other_tdx_;
  static SimulatedGpu* gpu_;
  static SimulatedGpu* other_gpu_;
  static Bytes* quote_;
};
SimulatedTdx* Simulated::tdx_ = nullptr;
SimulatedTdx* Simulated::other_tdx_ = nullptr;
SimulatedGpu* Simulated::gpu_ = nullptr;
SimulatedGpu* Simulated::other_gpu_ = nullptr;
Bytes* Simulated::quote_ = nullptr;

TEST_F(Simulated, QuoteWithCollateralIsUpToDate) {
  Outcome o = VerifyBytes(*quote_, *tdx_->Collateral(), SimOptions());
  ASSERT_EQ(o.parse_error, "");
  EXPECT_TRUE(o.result.ok()) << Describe(o.result.checks);
  ASSERT_TRUE(o.result.tcb_status.has_value());
  EXPECT_EQ(*o.result.tcb_status, TcbStatus::kUpToDate);
  EXPECT_TRUE(o.result.advisory_ids.empty());
  for (const char* name : {kCheckPckChain, kCheckPckExtension, kCheckQeReportSignature, kCheckQeReportBinding,
                           kCheckQuoteSignature, kCheckTcbInfoSignature, kCheckTcbInfoValidity,
                           kCheckQeIdentitySignature, kCheckQeIdentityValidity, kCheckQeIdentity,
                           kCheckTcbInfoPlatform, kCheckPlatformTcb, kCheckTdxModule, kCheckTcbStatus,
                           kCheckTdAttributes}) {
    const VerificationCheck* c = o.result.checks.Find(name);
    ASSERT_NE(c, nullptr) << name;
    EXPECT_EQ(c->status, CheckStatus::kPass) << name << ": " << c->detail;
  }
}

TEST_F(Simulated, QuoteWithoutCollateralNeverClaimsATcbStatus) {
  Outcome o = VerifyBytes(*quote_, std::nullopt, SimOptions());
  EXPECT_TRUE(o.result.ok()) << Describe(o.result.checks);
  EXPECT_FALSE(o.result.tcb_status.has_value());
  EXPECT_EQ(o.result.tcb_status_text, "unknown (no collateral)");
  EXPECT_EQ(o.result.checks.Find(kCheckTcbStatus)->status, CheckStatus::kNotPerformed);
  EXPECT_EQ(o.result.checks.Find(kCheckCollateral)->status, CheckStatus::kNotPerformed);
}

TEST_F(Simulated, OutOfDateLevelReportsItsAdvisories) {
  SimulatedCollateralOptions c;
  c.platform_status = TcbStatus::kOutOfDate;
  c.advisory_ids = {"INTEL-SA-00999", "INTEL-SA-00111"};
  Outcome o = VerifyBytes(*quote_, *tdx_->Collateral(c), SimOptions());
  EXPECT_TRUE(o.result.ok()) << Describe(o.result.checks);  // a status, not a failure (only Revoked is)
  EXPECT_EQ(o.result.tcb_status, TcbStatus::kOutOfDate);
  EXPECT_EQ(o.result.advisory_ids, (std::vector<std::string>{"INTEL-SA-00111", "INTEL-SA-00999"}));
}

TEST_F(Simulated, DangerousAllowDebugAcceptsADebugTd) {
  TdxVerifyOptions options = SimOptions();
  options.dangerous_allow_debug = true;
  Outcome o = VerifyBytes(*tdx_->Quote(ReportData(1), {.debug = true}), std::nullopt, options);
  EXPECT_TRUE(o.result.ok()) << Describe(o.result.checks);
}

// One named case per failure class: what is done to the evidence, and which check must fail with
// which reason.
struct TdxCase {
  const char* name;
  std::function<Bytes()> quote;                       // default: the baseline quote
  std::function<std::optional<std::string>()> collateral;  // default: fresh simulated collateral
  std::function<void(TdxVerifyOptions&)> options;     // default: simulated pins, now
  const char* failing_check;                          // "parse" for parser errors
  const char* reason;                                 // substring of the detail
};
// gtest prints a parameter with this; without it, every test line shows the struct's raw bytes.
void PrintTo(const TdxCase& c, std::ostream* os) { *os << c.name; }

std::vector<TdxCase> TdxCases() {
  using S = Simulated;
  struct Access : S {
    static SimulatedTdx* tdx() { return tdx_; }
    static SimulatedTdx* other() { return other_tdx_; }
    static const Bytes& quote() { return *quote_; }
  };
  auto flipped = [](size_t at) { return [at] { return Flip(Access::quote(), at); }; };
  auto cut = [](size_t n) { return [n] { return Bytes(Access::quote().begin(), Access::quote().begin() + n); }; };
  auto collateral = [](std::function<void(SimulatedCollateralOptions&)> edit) {
    return [edit]() -> std::optional<std::string> {
      SimulatedCollateralOptions o;
      edit(o);
      return *Access::tdx()->Collateral(o);
    };
  };
  auto tampered = [](const char* field, const char* from, const char* to) {
    return [=]() -> std::optional<std::string> {
      nlohmann::json doc = nlohmann::json::parse(*Access::tdx()->Collateral());
      std::string text = doc[field];
      text.replace(text.find(from), std::string(from).size(), to);
      doc[field] = text;
      return doc.dump();
    };
  };
  const int64_t now = Now();
  return {
      // Signed regions of the quote.
      {"flipped_header", flipped(30), nullptr, nullptr, kCheckQuoteSignature, "quote signature does not verify"},
      {"flipped_body_mrtd", flipped(200), nullptr, nullptr, kCheckQuoteSignature, "quote signature does not verify"},
      {"flipped_report_data", flipped(600), nullptr, nullptr, kCheckQuoteSignature, "quote signature does not verify"},
      {"flipped_quote_signature", flipped(650), nullptr, nullptr, kCheckQuoteSignature, "does not verify"},
      {"flipped_attestation_key", flipped(710), nullptr, nullptr, kCheckQeReportBinding,
       "QE report data does not bind"},
      {"flipped_qe_report", flipped(770 + 64), nullptr, nullptr, kCheckQeReportSignature,
       "QE report signature does not verify"},
      {"flipped_qe_report_signature", flipped(1160), nullptr, nullptr, kCheckQeReportSignature,
       "QE report signature does not verify"},
      {"flipped_qe_auth_data", flipped(1225), nullptr, nullptr, kCheckQeReportBinding, "does not bind"},
      {"corrupted_pck_leaf_signature",
       [] { return WithPckChain(Access::quote(), CorruptLeafSignature(Access::tdx()->pck_chain_pem())); }, nullptr,
       nullptr, kCheckPckChain, "does not verify at depth 0"},
      // Every section truncated (the parser's own table covers each length field).
      {"truncated_header", cut(47), nullptr, nullptr, "parse", "quote truncated in header"},
      {"truncated_body", cut(400), nullptr, nullptr, "parse", "quote truncated in report body"},
      {"truncated_signature_data", cut(900), nullptr, nullptr, "parse", "quote truncated in signature data"},
      {"truncated_pck_chain",
       [] {
         Bytes b = Access::quote();
         return WithPckChain(b, Access::tdx()->pck_chain_pem().substr(0, 700));
       },
       nullptr, nullptr, kCheckPckChain, "does not parse"},
      // Trust anchors.
      {"intel_root_pinned_simulated_chain", nullptr, []() -> std::optional<std::string> { return std::nullopt; },
       [](TdxVerifyOptions& o) { o.root_pins = {kIntelSgxRootCaPin}; }, kCheckPckChain,
       "root certificate is not pinned"},
      {"wrong_root", [] { return *Access::other()->Quote(ReportData(1)); }, nullptr, nullptr, kCheckPckChain,
       "root certificate is not pinned"},
      {"wrong_intermediate",
       [] {
         std::vector<std::string> mine = SplitPem(Access::tdx()->pck_chain_pem());
         std::vector<std::string> theirs = SplitPem(Access::other()->pck_chain_pem());
         return WithPckChain(Access::quote(), mine[0] + theirs[1] + mine[2]);
       },
       nullptr, nullptr, kCheckPckChain, "does not verify at depth 0"},
      {"root_only_chain", [] { return WithPckChain(Access::quote(), Access::tdx()->root_certificate_pem()); },
       nullptr, nullptr, kCheckPckChain, "has 1 certificates, expected 3"},
      {"collateral_from_another_root", nullptr,
       []() -> std::optional<std::string> { return *Access::other()->Collateral(); }, nullptr,
       kCheckTcbInfoSignature, "issuer chain: root certificate is not pinned"},
      // Collateral contents and time.
      {"expired_collateral", nullptr, collateral([now](auto& o) { o.issue_date = now - 40 * 86400, o.next_update = now - 10 * 86400; }),
       nullptr, kCheckTcbInfoValidity, "collateral expired"},
      {"expired_collateral_crl", nullptr,
       collateral([now](auto& o) { o.issue_date = now - 40 * 86400, o.next_update = now - 10 * 86400; }), nullptr, kCheckPckChain,
       "CRL has expired"},
      {"collateral_not_yet_valid", nullptr, collateral([now](auto& o) { o.issue_date = now + 3600; }), nullptr, kCheckQeIdentityValidity,
       "not yet valid"},
      {"now_after_collateral", nullptr, nullptr, [](TdxVerifyOptions& o) { o.now += 31 * 86400; },
       kCheckTcbInfoValidity, "collateral expired"},
      {"revoked_tcb", nullptr, collateral([](auto& o) { o.platform_status = TcbStatus::kRevoked; }), nullptr, kCheckTcbStatus,
       "TCB is Revoked"},
      {"revoked_pck_certificate", nullptr, collateral([](auto& o) { o.revoke_pck_certificate = true; }), nullptr, kCheckPckChain,
       "certificate revoked"},
      {"tampered_tcb_info", nullptr, tampered("tcb_info", "\"tcbEvaluationDataNumber\":17", "\"tcbEvaluationDataNumber\":18"),
       nullptr, kCheckTcbInfoSignature, "signature over the JSON bytes does not verify"},
      {"tampered_qe_identity", nullptr, tampered("qe_identity", "\"isvprodid\":2", "\"isvprodid\":3"), nullptr,
       kCheckQeIdentitySignature, "signature over the JSON bytes does not verify"},
      // TD policy.
      {"debug_td", [] { return *Access::tdx()->Quote(ReportData(1), {.debug = true}); }, nullptr, nullptr,
       kCheckTdAttributes, "DEBUG TD"},
  };
}

class TdxNegative : public Simulated, public ::testing::WithParamInterface<TdxCase> {};

TEST_P(TdxNegative, FailsTheNamedCheck) {
  const TdxCase& c = GetParam();
  TdxVerifyOptions options = SimOptions();
  if (c.options) c.options(options);
  Outcome o = VerifyBytes(c.quote ? c.quote() : *quote_, c.collateral ? c.collateral() : *tdx_->Collateral(), options);
  if (std::string(c.failing_check) == "parse") {
    EXPECT_NE(o.parse_error.find(c.reason), std::string::npos) << o.parse_error;
    return;
  }
  ASSERT_EQ(o.parse_error, "");
  EXPECT_FALSE(o.result.ok());
  const VerificationCheck* check = o.result.checks.Find(c.failing_check);
  ASSERT_NE(check, nullptr) << Describe(o.result.checks);
  EXPECT_EQ(check->status, CheckStatus::kFail) << Describe(o.result.checks);
  EXPECT_NE(check->detail.find(c.reason), std::string::npos) << Describe(o.result.checks);
}

INSTANTIATE_TEST_SUITE_P(Table, TdxNegative, ::testing::ValuesIn(TdxCases()),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- Binding -------------------------------------------------------------------------------

TEST(ReportDataBinding, AcceptsOnlyTheExactKeyAndNonce) {
  const Bytes address(20, 0xab);
  std::array<uint8_t, 64> rd{};
  ASSERT_TRUE(ExpectedReportData(address, Nonce(3), &rd).ok());
  EXPECT_TRUE(CheckReportDataBinding(rd, address, Nonce(3)).ok());
  EXPECT_TRUE(std::all_of(rd.begin() + 20, rd.begin() + 32, [](uint8_t b) { return b == 0; }));

  const Bytes other_key(20, 0xac);
  EXPECT_EQ(CheckReportDataBinding(rd, other_key, Nonce(3)).message(),
            "report_data[0:32] is not the signing key id, zero-padded");
  EXPECT_EQ(CheckReportDataBinding(rd, address, Nonce(4)).message(),
            "report_data[32:64] is not our nonce (replayed or foreign evidence)");
  std::array<uint8_t, 64> padded_wrong = rd;
  padded_wrong[25] = 1;  // garbage in the zero padding is a different key id
  EXPECT_FALSE(CheckReportDataBinding(padded_wrong, address, Nonce(3)).ok());
  EXPECT_FALSE(CheckReportDataBinding(rd, Bytes{}, Nonce(3)).ok());
  EXPECT_FALSE(CheckReportDataBinding(rd, Bytes(33, 1), Nonce(3)).ok());
}

// ---- GPU ------------------------------------------------------------------------------------

TEST_F(Simulated, GpuEvidenceVerifies) {
  GpuVerifyOptions options = GpuOptions();
  options.expected_gpu_count = 2;
  GpuVerification v = VerifyGpuEvidence({GpuItem(gpu_, 1), GpuItem(other_gpu_, 1)},
                                        [&] {
                                          options.root_pins.push_back(*PinOfPem(other_gpu_->root_certificate_pem()));
                                          return options;
                                        }());
  EXPECT_TRUE(v.ok()) << Describe(v.checks);
  EXPECT_EQ(v.checks.Find("GPU 0: FWID")->status, CheckStatus::kPass);
  EXPECT_EQ(v.checks.Find("GPU 1: OCSP revocation")->status, CheckStatus::kNotPerformed);
  EXPECT_EQ(v.gpus[0].driver_version, kSimulatedGpuDriverVersion);
}

struct GpuCase {
  const char* name;
  std::function<std::vector<GpuEvidenceItem>()> items;
  std::function<void(GpuVerifyOptions&)> options;
  const char* failing_check;
  const char* reason;
};
void PrintTo(const GpuCase& c, std::ostream* os) { *os << c.name; }

std::vector<GpuCase> GpuCases() {
  struct Access : Simulated {
    static SimulatedGpu* gpu() { return gpu_; }
    static SimulatedGpu* other() { return other_gpu_; }
    static GpuEvidenceItem Item(SimulatedGpu* g, uint8_t seed) { return GpuItem(g, seed); }
  };
  auto one = [](std::function<void(GpuEvidenceItem&)> edit) {
    return [edit] {
      GpuEvidenceItem item = Access::Item(Access::gpu(), 1);
      edit(item);
      return std::vector<GpuEvidenceItem>{item};
    };
  };
  return {
      {"wrong_nonce", [] { return std::vector{Access::Item(Access::gpu(), 2)}; }, nullptr, "GPU 0: nonce", "not ours"},
      {"report_from_another_gpu",
       one([](GpuEvidenceItem& i) { i.report = Access::Item(Access::other(), 1).report; }), nullptr,
       "GPU 0: report signature", "does not verify"},
      {"flipped_measurement", one([](GpuEvidenceItem& i) { i.report[100] ^= 1; }), nullptr, "GPU 0: report signature",
       "does not verify"},
      {"flipped_nonce", one([](GpuEvidenceItem& i) { i.report[10] ^= 1; }), nullptr, "GPU 0: report signature",
       "does not verify"},
      {"flipped_signature", one([](GpuEvidenceItem& i) { i.report[i.report.size() - 5] ^= 1; }), nullptr,
       "GPU 0: report signature", "does not verify"},
      {"truncated_report", one([](GpuEvidenceItem& i) { i.report.resize(i.report.size() - 1); }), nullptr,
       "GPU 0: SPDM report parses", "SPDM report truncated in signature"},
      {"nvidia_root_pinned_simulated_chain", [] { return std::vector{Access::Item(Access::gpu(), 1)}; },
       [](GpuVerifyOptions& o) { o.root_pins = {kNvidiaDeviceIdentityCaPin}; }, "GPU 0: certificate chain",
       "root certificate is not pinned"},
      {"chain_ends_in_another_root", one([](GpuEvidenceItem& i) {
         std::vector<std::string> certs = SplitPem(i.certificate_chain_pem);
         i.certificate_chain_pem = certs[0] + certs[1] + certs[2] + certs[3] + Access::other()->root_certificate_pem();
       }),
       nullptr, "GPU 0: certificate chain", "root certificate is not pinned"},
      {"chain_of_four", one([](GpuEvidenceItem& i) {
         std::vector<std::string> certs = SplitPem(i.certificate_chain_pem);
         i.certificate_chain_pem = certs[0] + certs[2] + certs[3] + certs[4];
       }),
       nullptr, "GPU 0: certificate chain", "has 4 certificates, expected 5"},
      {"duplicated_gpu", [] { return std::vector{Access::Item(Access::gpu(), 1), Access::Item(Access::gpu(), 1)}; },
       nullptr, "GPUs are distinct", "GPU 1 repeats an earlier GPU's evidence"},
      {"missing_gpu", [] { return std::vector{Access::Item(Access::gpu(), 1)}; },
       [](GpuVerifyOptions& o) { o.expected_gpu_count = 2; }, "GPU count", "a GPU is missing"},
      {"no_gpu", [] { return std::vector<GpuEvidenceItem>{}; }, nullptr, "GPU count", "no GPU evidence"},
      {"gpus_answer_different_nonces",
       [] { return std::vector{Access::Item(Access::gpu(), 1), Access::Item(Access::other(), 2)}; },
       [](GpuVerifyOptions& o) { o.root_pins.push_back(*PinOfPem(Access::other()->root_certificate_pem())); },
       "one nonce for every GPU", "different nonces"},
  };
}

class GpuNegative : public Simulated, public ::testing::WithParamInterface<GpuCase> {};

TEST_P(GpuNegative, FailsTheNamedCheck) {
  const GpuCase& c = GetParam();
  GpuVerifyOptions options = GpuOptions();
  if (c.options) c.options(options);
  GpuVerification v = VerifyGpuEvidence(c.items(), options);
  EXPECT_FALSE(v.ok());
  const VerificationCheck* check = v.checks.Find(c.failing_check);
  ASSERT_NE(check, nullptr) << Describe(v.checks);
  EXPECT_EQ(check->status, CheckStatus::kFail) << Describe(v.checks);
  EXPECT_NE(check->detail.find(c.reason), std::string::npos) << Describe(v.checks);
}

INSTANTIATE_TEST_SUITE_P(Table, GpuNegative, ::testing::ValuesIn(GpuCases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(GpuEvidenceJson, ParsesBothShapesAndRejectsGarbage) {
  nlohmann::json payload = {{"nonce", "ab"}, {"arch", "HOPPER"},
                            {"evidence_list", {{{"certificate", "QUJD"}, {"evidence", "AAEC"}, {"arch", "HOPPER"}}}}};
  for (const std::string& text : {payload.dump(), nlohmann::json(payload.dump()).dump()}) {
    absl::StatusOr<GpuEvidenceList> list = ParseGpuEvidenceJson(text);
    ASSERT_TRUE(list.ok()) << list.status();
    EXPECT_EQ(list->nonce_hex, "ab");
    ASSERT_EQ(list->items.size(), 1u);
    EXPECT_EQ(list->items[0].certificate_chain_pem, "ABC");
    EXPECT_EQ(list->items[0].report, (Bytes{0, 1, 2}));
  }
  EXPECT_FALSE(ParseGpuEvidenceJson("{").ok());
  EXPECT_FALSE(ParseGpuEvidenceJson(R"({"evidence_list":[{"certificate":"!!","evidence":"AAEC"}]})").ok());
  // Each named defect, with its reason.
  nlohmann::json too_many = payload;
  too_many["evidence_list"] = nlohmann::json::array();
  for (size_t i = 0; i <= kMaxGpus; ++i) too_many["evidence_list"].push_back(payload["evidence_list"][0]);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {too_many.dump(), "too many items"},
      {R"({"evidence_list":[3]})", "not an object"},
      {R"({"evidence_list":{}})", "no evidence list"},
      {R"({"nonce":"ab"})", "no evidence list"},
      {"42", "no evidence list"},
      {R"("not json inside")", "not JSON"},
      {R"({"evidence_list":[{"certificate":"","evidence":"AAEC"}]})", "certificate is not base64"},
      {R"({"evidence_list":[{"certificate":"QUJD","evidence":"AAE"}]})", "evidence is not base64"},
      {std::string(kGpuEvidenceMaxSize + 1, ' '), "too large"},
  };
  for (const auto& [text, reason] : bad) {
    absl::StatusOr<GpuEvidenceList> list = ParseGpuEvidenceJson(text);
    ASSERT_FALSE(list.ok()) << text.substr(0, 80);
    EXPECT_NE(list.status().message().find(reason), std::string::npos) << text.substr(0, 80) << ": " << list.status();
  }
  EXPECT_EQ(*Base64Decode("QQ=="), "A");
  EXPECT_EQ(*Base64Decode("QUI="), "AB");
}

// ---- Collateral parser ----------------------------------------------------------------------

TEST(Collateral, IsoTimes) {
  EXPECT_EQ(*ParseIsoTime("2025-06-19T10:32:27Z"), kSampleWindowStart);
  EXPECT_EQ(*ParseIsoTime("1970-01-01T00:00:00Z"), 0);
  for (const char* bad : {"2025-06-19 10:32:27Z", "2025-13-19T10:32:27Z", "2025-06-19T10:32:27", "2025-06-19T1a:32:27Z"}) {
    EXPECT_FALSE(ParseIsoTime(bad).ok()) << bad;
  }
}

TEST_F(Simulated, CollateralParserRejectsMissingAndMalformedFields) {
  nlohmann::json good = nlohmann::json::parse(*tdx_->Collateral());
  ASSERT_TRUE(ParseCollateral(good.dump()).ok());
  for (const char* field : {"root_ca_crl", "pck_crl", "tcb_info", "qe_identity", "tcb_info_signature"}) {
    nlohmann::json bad = good;
    bad.erase(field);
    EXPECT_FALSE(ParseCollateral(bad.dump()).ok()) << field;
  }
  nlohmann::json bad_crl = good;
  bad_crl["pck_crl"] = "3000";
  EXPECT_FALSE(ParseCollateral(bad_crl.dump()).ok());
  nlohmann::json short_sig = good;
  short_sig["tcb_info_signature"] = "00";
  EXPECT_FALSE(ParseCollateral(short_sig.dump()).ok());
  EXPECT_FALSE(ParseCollateral("[]").ok());
}

// ---- Real samples ---------------------------------------------------------------------------

Bytes QuoteSample(const std::string& text, bool hex) {
  return hex ? testing::DecodeHexSample(text) : Bytes(text.begin(), text.end());
}

TEST(Samples, PinsAreTheHashesOfTheSampleRoots) {
  CAI_SAMPLE_OR_SKIP(intel, "IntelSGXRootCA.der");
  CAI_SAMPLE_OR_SKIP(nvidia, "nvidia/verifier_device_root.pem");
  EXPECT_EQ(Sha256(intel), kIntelSgxRootCaPin);
  EXPECT_EQ(*PinOfPem(nvidia), kNvidiaDeviceIdentityCaPin);
}

TEST(Samples, TdxQuoteWithCollateralIsUpToDateInsideItsWindow) {
  CAI_SAMPLE_OR_SKIP(quote, "tdx_quote");
  CAI_SAMPLE_OR_SKIP(collateral, "tdx_quote_collateral.json");
  for (int64_t now : {kSampleWindowStart, int64_t{1752919234}, kSampleWindowEnd}) {
    TdxVerifyOptions options;
    options.now = now;
    Outcome o = VerifyBytes(QuoteSample(quote, false), collateral, options);
    ASSERT_EQ(o.parse_error, "");
    EXPECT_TRUE(o.result.ok()) << now << "\n" << Describe(o.result.checks);
    EXPECT_EQ(o.result.tcb_status, TcbStatus::kUpToDate);
    EXPECT_TRUE(o.result.advisory_ids.empty());
  }
}

TEST(Samples, TdxQuoteCollateralExpiresOutsideItsWindow) {
  CAI_SAMPLE_OR_SKIP(quote, "tdx_quote");
  CAI_SAMPLE_OR_SKIP(collateral, "tdx_quote_collateral.json");
  TdxVerifyOptions options;
  options.now = kSampleWindowStart - 1;
  Outcome before = VerifyBytes(QuoteSample(quote, false), collateral, options);
  EXPECT_FALSE(before.result.ok());
  EXPECT_EQ(before.result.checks.Find(kCheckQeIdentityValidity)->status, CheckStatus::kFail);
  options.now = kSampleWindowEnd + 1;
  Outcome after = VerifyBytes(QuoteSample(quote, false), collateral, options);
  EXPECT_FALSE(after.result.ok());
  EXPECT_NE(after.result.checks.Find(kCheckPckChain)->detail.find("CRL has expired"), std::string::npos)
      << Describe(after.result.checks);
  options.now = Now();
  Outcome today = VerifyBytes(QuoteSample(quote, false), collateral, options);
  EXPECT_EQ(today.result.checks.Find(kCheckTcbInfoValidity)->status, CheckStatus::kFail);
  // Levels from expired collateral decide nothing: no status is claimed.
  EXPECT_FALSE(today.result.tcb_status.has_value());
  EXPECT_EQ(today.result.tcb_status_text, "unknown (collateral not valid)");
  EXPECT_EQ(today.result.checks.Find(kCheckPlatformTcb)->status, CheckStatus::kNotPerformed);
}

TEST(Samples, TamperedSampleTcbInfoFailsItsSignature) {
  CAI_SAMPLE_OR_SKIP(quote, "tdx_quote");
  CAI_SAMPLE_OR_SKIP(collateral, "tdx_quote_collateral.json");
  nlohmann::json doc = nlohmann::json::parse(collateral);
  std::string tcb = doc["tcb_info"];
  tcb.replace(tcb.find("\"pcesvn\":11"), 11, "\"pcesvn\":10");
  doc["tcb_info"] = tcb;
  TdxVerifyOptions options;
  options.now = 1752919234;
  Outcome o = VerifyBytes(QuoteSample(quote, false), doc.dump(), options);
  EXPECT_EQ(o.result.checks.Find(kCheckTcbInfoSignature)->status, CheckStatus::kFail);
  EXPECT_FALSE(o.result.ok());
}

TEST(Samples, OutdatedQuoteMatchesNoPlatformTcbLevel) {
  CAI_SAMPLE_OR_SKIP(quote, "tdx_quote_outdated");
  CAI_SAMPLE_OR_SKIP(collateral, "tdx_quote_outdated_collateral.json");
  TdxVerifyOptions options;
  options.now = kOutdatedWindowStart + 3600;
  Outcome o = VerifyBytes(QuoteSample(quote, false), collateral, options);
  ASSERT_EQ(o.parse_error, "");
  EXPECT_FALSE(o.result.ok());
  for (const char* name : {kCheckPckChain, kCheckQuoteSignature, kCheckQeReportSignature, kCheckTcbInfoSignature,
                           kCheckQeIdentitySignature, kCheckTcbInfoValidity, kCheckServiceTd}) {
    EXPECT_EQ(o.result.checks.Find(name)->status, CheckStatus::kPass) << name << "\n" << Describe(o.result.checks);
  }
  EXPECT_EQ(o.result.checks.Find(kCheckPlatformTcb)->status, CheckStatus::kFail);
  EXPECT_FALSE(o.result.tcb_status.has_value());
  EXPECT_EQ(o.result.tcb_status_text, "unknown (no matching TCB level)");
}

TEST(Samples, QuotesWithoutCollateralVerifyTheirSignaturesOnly) {
  struct Sample {
    const char* path;
    bool hex;
    int64_t now;  // inside the PCK certificates' validity
  };
  for (Sample s : {Sample{"tdx_quote", false, kSampleWindowStart}, Sample{"tdx_quote_outdated", false, kOutdatedWindowStart},
                   Sample{"quote-from-tappd.hex", true, kRealQuotesCheckedAt},
                   Sample{"tdx-quote.hex", true, kRealQuotesCheckedAt},
                   Sample{"dstack_ratls_tdx_quote", false, kRealQuotesCheckedAt}}) {
    CAI_SAMPLE_OR_SKIP(text, s.path);
    TdxVerifyOptions options;
    options.now = s.now;
    Outcome o = VerifyBytes(QuoteSample(text, s.hex), std::nullopt, options);
    ASSERT_EQ(o.parse_error, "") << s.path;
    EXPECT_TRUE(o.result.ok()) << s.path << "\n" << Describe(o.result.checks);
    EXPECT_EQ(o.result.tcb_status_text, "unknown (no collateral)");
    EXPECT_EQ(o.result.checks.Find(kCheckTcbStatus)->status, CheckStatus::kNotPerformed);
  }
}

TEST(Samples, SampleQuoteIsRejectedUnderASimulatedPin) {
  CAI_SAMPLE_OR_SKIP(quote, "tdx_quote");
  TdxVerifyOptions options;
  options.now = kSampleWindowStart;
  options.root_pins = {kNvidiaDeviceIdentityCaPin};
  Outcome o = VerifyBytes(QuoteSample(quote, false), std::nullopt, options);
  EXPECT_FALSE(o.result.ok());
  EXPECT_NE(o.result.checks.Find(kCheckPckChain)->detail.find("root certificate is not pinned"), std::string::npos);
}

TEST(Samples, DstackEventLogReplaysTheQuoteRtmrs) {
  CAI_SAMPLE_OR_SKIP(text, "dstack_quote-report.json");
  nlohmann::json doc = nlohmann::json::parse(text);
  absl::StatusOr<TdxQuote> quote = ParseTdxQuote(*HexDecode(doc["quote"].get<std::string>()));
  ASSERT_TRUE(quote.ok());
  absl::StatusOr<std::vector<EventLogEntry>> log = ParseEventLog(doc["event_log"].get<std::string>());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->size(), 28u);
  Verification v = VerifyEventLog(*log, quote->body);
  EXPECT_TRUE(v.ok()) << Describe(v);

  std::vector<EventLogEntry> tampered = *log;
  tampered.back().payload.push_back('x');  // the runtime event no longer hashes to its digest
  EXPECT_FALSE(CheckRuntimeEventDigests(tampered).ok());
  tampered = *log;
  tampered[3].digest[0] ^= 1;  // replay no longer reaches the quote's RTMR0
  Verification bad = VerifyEventLog(tampered, quote->body);
  EXPECT_EQ(bad.Find("event log replays RTMR0..3")->status, CheckStatus::kFail);
  EXPECT_NE(bad.Find("event log replays RTMR0..3")->detail.find("RTMR0"), std::string::npos);
}

TEST(EventLog, RejectsMalformedEntries) {
  const std::string digest(96, 'a');
  EXPECT_TRUE(ParseEventLog("[]").ok());
  EXPECT_FALSE(ParseEventLog("{}").ok());
  EXPECT_FALSE(ParseEventLog(R"([{"imr":4,"event_type":1,"digest":")" + digest + R"(","event":"","event_payload":""}])").ok());
  EXPECT_FALSE(ParseEventLog(R"([{"imr":0,"event_type":1,"digest":"aa","event":"","event_payload":""}])").ok());
  EXPECT_FALSE(ParseEventLog(R"([{"imr":0,"event_type":1,"digest":")" + digest + R"(","event":"","event_payload":"x"}])").ok());
  EXPECT_TRUE(ParseEventLog(R"([{"imr":0,"event_type":1,"digest":")" + digest + R"(","event":"","event_payload":""}])").ok());
}

GpuVerifyOptions RealGpuOptions(const std::string& nonce_hex) {
  GpuVerifyOptions o;
  o.now = Now();
  std::array<uint8_t, 32> nonce{};
  Bytes n = *HexDecodeExact(nonce_hex, 32);
  std::copy(n.begin(), n.end(), nonce.begin());
  o.expected_nonce = nonce;
  return o;
}

TEST(Samples, HopperEvidenceVerifiesToThePinnedNvidiaRoot) {
  CAI_SAMPLE_OR_SKIP(single, "nvidia/hopper_evidence.json");
  CAI_SAMPLE_OR_SKIP(multi, "nvidia/multi_gpu_hopper.json");
  CAI_SAMPLE_OR_SKIP(other, "nvidia/evidence_hopper_590_12.json");
  for (const std::string* text : {&single, &multi, &other}) {
    absl::StatusOr<GpuEvidenceList> list = ParseGpuEvidenceJson(*text);
    ASSERT_TRUE(list.ok()) << list.status();
    EXPECT_EQ(list->nonce_hex, kHopperNonce);
    GpuVerifyOptions options = RealGpuOptions(kHopperNonce);
    options.expected_gpu_count = list->items.size();
    GpuVerification v = VerifyGpuEvidence(list->items, options);
    EXPECT_TRUE(v.ok()) << Describe(v.checks);
    EXPECT_EQ(v.checks.Find("GPU 0: FWID")->status, CheckStatus::kPass);
    EXPECT_EQ(v.gpus[0].driver_version, "590.12");
    EXPECT_EQ(v.gpus[0].vbios_version, "96.00.a5.00.01");
  }
  absl::StatusOr<GpuEvidenceList> four = ParseGpuEvidenceJson(multi);
  EXPECT_EQ(four->items.size(), 4u);
  // The first GPU of the multi-GPU evidence twice instead of the second: detected.
  std::vector<GpuEvidenceItem> items = four->items;
  items[1] = items[0];
  EXPECT_EQ(VerifyGpuEvidence(items, RealGpuOptions(kHopperNonce)).checks.Find(kCheckGpuDistinct)->status,
            CheckStatus::kFail);
  EXPECT_EQ(VerifyGpuEvidence(four->items, RealGpuOptions(std::string(64, '0'))).checks.Find("GPU 2: nonce")->status,
            CheckStatus::kFail);
}

TEST(Samples, NvtrustReportAndChainVerify) {
  struct Sample {
    const char* report;
    const char* chain;
    const char* nonce;
    CheckStatus fwid;
  };
  for (Sample s : {Sample{"nvidia/hopperAttestationReport.txt", "nvidia/hopperCertChain.txt",
                          "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb", CheckStatus::kPass},
                   Sample{"nvidia/sample_attestation_data_gpu_hopperAttestationReport.txt",
                          "nvidia/sample_attestation_data_gpu_hopperCertChain.txt",
                          "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66", CheckStatus::kNotPerformed}}) {
    CAI_SAMPLE_OR_SKIP(report, s.report);
    CAI_SAMPLE_OR_SKIP(chain, s.chain);
    GpuEvidenceItem item{"HOPPER", chain, testing::DecodeHexSample(report)};
    GpuVerification v = VerifyGpuEvidence({item}, RealGpuOptions(s.nonce));
    EXPECT_TRUE(v.ok()) << s.report << "\n" << Describe(v.checks);
    EXPECT_EQ(v.checks.Find("GPU 0: FWID")->status, s.fwid) << s.report;
  }
}

}  // namespace
}  // namespace cai
