#include "tests/unit/attestation/chain_to_root.h"
#include "lib/attestation/tdx_quote.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "lib/attestation/ec_crypto.h"
#include "lib/attestation/simulated_tdx.h"
#include "lib/common/hex.h"
#include "tests/unit/attestation/testdata.h"

namespace cai {
namespace {

using Bytes = std::vector<uint8_t>;

// Absolute offsets of a v4 quote (reference B2/B3).
constexpr size_t kReportDataAt = 568;
constexpr size_t kSigDataLenAt = 632;
constexpr size_t kCertTypeAt = 764;
constexpr size_t kCertSizeAt = 766;
constexpr size_t kQeReportAt = 770;
constexpr size_t kInnerTypeAt = 1252;

std::array<uint8_t, 64> TestReportData(uint8_t seed) {
  std::array<uint8_t, 64> rd;
  for (size_t i = 0; i < rd.size(); ++i) rd[i] = static_cast<uint8_t>(seed + i);
  return rd;
}

void PutU16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
}
void PutU32(Bytes& b, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

absl::Status VerifyAll(const TdxQuote& q) {
  for (absl::Status s : {VerifyQuoteSignature(q), VerifyQeReportBinding(q), VerifyQeReportSignature(q)}) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

class SimulatedQuoteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<SimulatedTdx>> tdx = SimulatedTdx::Create();
    ASSERT_TRUE(tdx.ok()) << tdx.status();
    tdx_ = tdx->release();
    absl::StatusOr<Bytes> quote = tdx_->Quote(TestReportData(7));
    ASSERT_TRUE(quote.ok()) << quote.status();
    quote_ = new Bytes(*quote);
  }
  static void TearDownTestSuite() {
    delete tdx_;
    delete quote_;
  }
  static SimulatedTdx* tdx_;
  static Bytes* quote_;
};
SimulatedTdx* SimulatedQuoteTest::tdx_ = nullptr;
Bytes* SimulatedQuoteTest::quote_ = nullptr;

TEST_F(SimulatedQuoteTest, HasTheRealV4LayoutAndVerifies) {
  const Bytes& bytes = *quote_;
  std::array<uint8_t, 64> rd = TestReportData(7);
  ASSERT_GT(bytes.size(), kInnerTypeAt);
  EXPECT_TRUE(std::equal(rd.begin(), rd.end(), bytes.begin() + kReportDataAt));
  EXPECT_EQ(bytes[kCertTypeAt], 6);
  EXPECT_EQ(bytes[kInnerTypeAt], 5);

  absl::StatusOr<TdxQuote> q = ParseTdxQuote(bytes);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->header.version, 4);
  EXPECT_EQ(q->header.att_key_type, 2);
  EXPECT_EQ(q->header.tee_type, 0x81u);
  EXPECT_EQ(q->header.qe_vendor_id, kIntelQeVendorId);
  EXPECT_EQ(q->body.type, TdxBodyType::kTd10);
  EXPECT_EQ(q->body.report_data, rd);
  EXPECT_EQ(q->signed_bytes.size(), 632u);
  EXPECT_EQ(q->signature_data_size, bytes.size() - 636);
  EXPECT_TRUE(q->body.sept_ve_disable());
  EXPECT_FALSE(q->body.debug());
  EXPECT_EQ(q->qe_auth_data.size(), 32u);
  EXPECT_EQ(q->qe_report.isv_prod_id, 2);
  EXPECT_TRUE(VerifyQuoteSignature(*q).ok());
  EXPECT_TRUE(VerifyQeReportBinding(*q).ok());
  EXPECT_TRUE(VerifyQeReportSignature(*q).ok());
}

TEST_F(SimulatedQuoteTest, ChainIsMarkedSimulatedAndChainsToTheSimulatedRoot) {
  absl::StatusOr<TdxQuote> q = ParseTdxQuote(*quote_);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->pck_chain_pem, tdx_->pck_chain_pem());
  absl::StatusOr<std::vector<X509Ptr>> certs = ParsePemCertificates(q->pck_chain_pem);
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 3u);
  for (const X509Ptr& cert : *certs) {
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(cert.get()), name, sizeof(name));
    EXPECT_NE(std::string(name).find("SIMULATED"), std::string::npos) << name;
  }
  EXPECT_TRUE(ChainVerifiesToRoot(q->pck_chain_pem, tdx_->root_certificate_pem()).ok());
  // A different simulated instance is a different root: its chain must not verify here.
  absl::StatusOr<std::unique_ptr<SimulatedTdx>> other = SimulatedTdx::Create();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(ChainVerifiesToRoot(q->pck_chain_pem, (*other)->root_certificate_pem()).ok());
}

TEST_F(SimulatedQuoteTest, EachQuoteCarriesItsOwnReportData) {
  absl::StatusOr<Bytes> other = tdx_->Quote(TestReportData(100));
  ASSERT_TRUE(other.ok());
  absl::StatusOr<TdxQuote> a = ParseTdxQuote(*quote_);
  absl::StatusOr<TdxQuote> b = ParseTdxQuote(*other);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->body.report_data, b->body.report_data);  // report_data mismatch is detectable
  EXPECT_EQ(b->body.report_data, TestReportData(100));
  EXPECT_TRUE(VerifyAll(*b).ok());
}

TEST_F(SimulatedQuoteTest, ToleratesZeroPaddingOnly) {
  Bytes padded = *quote_;
  padded.resize(padded.size() + 70, 0);
  EXPECT_TRUE(ParseTdxQuote(padded).ok());
  padded.back() = 1;
  EXPECT_EQ(ParseTdxQuote(padded).status().message(), "non-zero bytes after the signature data");
}

// A v5 quote with a TD 1.0 body: the v4 quote with a body descriptor inserted after the header.
Bytes ToV5(const Bytes& v4) {
  Bytes v5 = v4;
  v5[0] = 5;
  const Bytes descriptor = {2, 0, 0x48, 0x02, 0, 0};  // type 2, size 584
  v5.insert(v5.begin() + 48, descriptor.begin(), descriptor.end());
  return v5;
}

TEST_F(SimulatedQuoteTest, ParsesV5BodyDescriptor) {
  absl::StatusOr<TdxQuote> q = ParseTdxQuote(ToV5(*quote_));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->header.version, 5);
  EXPECT_EQ(q->body.type, TdxBodyType::kTd10);
  EXPECT_EQ(q->signed_bytes.size(), 638u);
  EXPECT_EQ(q->body.report_data, TestReportData(7));
  EXPECT_FALSE(VerifyQuoteSignature(*q).ok());  // the signed range changed
  EXPECT_TRUE(VerifyQeReportBinding(*q).ok());
}

// Cuts the quote at `n` and shrinks the length fields in front of the cut, so the parser reaches
// the section that is short instead of stopping at the outer length.
Bytes TruncateInside(const Bytes& q, size_t n) {
  Bytes t(q.begin(), q.begin() + n);
  if (n >= kSigDataLenAt + 4) PutU32(t, kSigDataLenAt, static_cast<uint32_t>(n - kSigDataLenAt - 4));
  if (n >= kQeReportAt) PutU32(t, kCertSizeAt, static_cast<uint32_t>(n - kQeReportAt));
  return t;
}

struct Mutation {
  const char* name;
  std::function<Bytes(Bytes)> mutate;
  // Exactly one of these is set: the parse error, or the check that must fail after a good parse.
  const char* parse_error;
  std::function<absl::Status(const TdxQuote&)> failing_check;
};
void PrintTo(const Mutation& m, std::ostream* os) { *os << m.name; }

Bytes Flip(Bytes b, size_t at) {
  b[at] ^= 0x01;
  return b;
}

std::vector<Mutation> Mutations() {
  auto set16 = [](size_t at, uint16_t v) {
    return [at, v](Bytes b) {
      PutU16(b, at, v);
      return b;
    };
  };
  auto cut = [](size_t n) { return [n](Bytes b) { return TruncateInside(b, n); }; };
  return {
      {"flipped_header_user_data", [](Bytes b) { return Flip(b, 30); }, nullptr, VerifyQuoteSignature},
      {"flipped_body_mrtd", [](Bytes b) { return Flip(b, 200); }, nullptr, VerifyQuoteSignature},
      {"flipped_report_data", [](Bytes b) { return Flip(b, 600); }, nullptr, VerifyQuoteSignature},
      {"flipped_quote_signature", [](Bytes b) { return Flip(b, 650); }, nullptr, VerifyQuoteSignature},
      {"flipped_attestation_key", [](Bytes b) { return Flip(b, 710); }, nullptr, VerifyQuoteSignature},
      {"attestation_key_breaks_binding", [](Bytes b) { return Flip(b, 710); }, nullptr,
       VerifyQeReportBinding},
      {"flipped_qe_report", [](Bytes b) { return Flip(b, kQeReportAt + 64); }, nullptr,
       VerifyQeReportSignature},
      {"flipped_qe_report_data", [](Bytes b) { return Flip(b, kQeReportAt + 320); }, nullptr,
       VerifyQeReportBinding},
      {"flipped_qe_report_signature", [](Bytes b) { return Flip(b, 1160); }, nullptr,
       VerifyQeReportSignature},
      {"flipped_qe_auth_data", [](Bytes b) { return Flip(b, 1225); }, nullptr, VerifyQeReportBinding},
      {"version_7", set16(0, 7), "unsupported quote version 7", nullptr},
      {"version_3_sgx", set16(0, 3), "unsupported quote version 3", nullptr},
      {"att_key_type_p384", set16(2, 3), "unsupported attestation key type 3", nullptr},
      {"tee_type_sgx", set16(4, 0), "not a TDX quote: tee_type 0", nullptr},
      {"foreign_qe_vendor", [](Bytes b) { return Flip(b, 12); }, "QE vendor id is not Intel's", nullptr},
      {"cert_data_type_3", set16(kCertTypeAt, 3), "certification data type 3 is not supported", nullptr},
      {"cert_data_type_5", set16(kCertTypeAt, 5), "certification data type 5 is not supported", nullptr},
      {"inner_cert_data_type_4", set16(kInnerTypeAt, 4), "inner certification data type 4 is not supported",
       nullptr},
      {"sig_data_len_too_large",
       [](Bytes b) {
         PutU32(b, kSigDataLenAt, 1u << 20);
         return b;
       },
       "quote truncated in signature data", nullptr},
      {"cert_data_size_too_small",
       [](Bytes b) {
         PutU32(b, kCertSizeAt, 460);
         return b;
       },
       "quote truncated in QE authentication data", nullptr},
      {"v5_sgx_body",
       [](Bytes b) {
         b = ToV5(b);
         PutU16(b, 48, 1);
         return b;
       },
       "unsupported body type 1", nullptr},
      {"v5_wrong_body_size",
       [](Bytes b) {
         b = ToV5(b);
         PutU16(b, 50, 600);
         return b;
       },
       "body type 2 must be 584 bytes, descriptor says 600", nullptr},
      {"v5_truncated_descriptor",
       [](Bytes b) {
         b = ToV5(b);
         b.resize(50);
         return b;
       },
       "quote truncated in body descriptor", nullptr},
      {"empty", cut(0), "quote truncated in header", nullptr},
      {"truncated_header", cut(47), "quote truncated in header", nullptr},
      {"truncated_body", cut(400), "quote truncated in report body", nullptr},
      {"truncated_sig_data_len", cut(634), "quote truncated in signature data length", nullptr},
      {"truncated_signature_data",
       [](Bytes b) {
         b.resize(2000);
         return b;
       },
       "quote truncated in signature data", nullptr},
      {"truncated_quote_signature", cut(660), "quote truncated in quote signature", nullptr},
      {"truncated_attestation_key", cut(720), "quote truncated in attestation key", nullptr},
      {"truncated_cert_data_header", cut(768), "quote truncated in certification data header", nullptr},
      {"truncated_qe_report", cut(900), "quote truncated in QE report", nullptr},
      {"truncated_qe_report_signature", cut(1180), "quote truncated in QE report signature", nullptr},
      {"truncated_qe_auth_data", cut(1240), "quote truncated in QE authentication data", nullptr},
      {"truncated_pck_chain_header", cut(1254), "quote truncated in PCK certificate chain header", nullptr},
      {"truncated_pck_chain", cut(1400), "quote truncated in PCK certificate chain", nullptr},
  };
}

class QuoteMutationTest : public SimulatedQuoteTest, public ::testing::WithParamInterface<Mutation> {};

TEST_P(QuoteMutationTest, IsRejected) {
  const Mutation& m = GetParam();
  absl::StatusOr<TdxQuote> q = ParseTdxQuote(m.mutate(*quote_));
  if (m.parse_error != nullptr) {
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(q.status().message(), m.parse_error);
  } else {
    ASSERT_TRUE(q.ok()) << q.status();
    EXPECT_FALSE(m.failing_check(*q).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(Table, QuoteMutationTest, ::testing::ValuesIn(Mutations()),
                         [](const ::testing::TestParamInfo<Mutation>& info) { return info.param.name; });

TEST(SimulatedTdxTest, QuotesFromManyThreadsAllVerify) {
  absl::StatusOr<std::unique_ptr<SimulatedTdx>> tdx = SimulatedTdx::Create();
  ASSERT_TRUE(tdx.ok());
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        std::array<uint8_t, 64> rd = TestReportData(static_cast<uint8_t>(t * 16 + i));
        absl::StatusOr<Bytes> bytes = (*tdx)->Quote(rd);
        if (!bytes.ok()) continue;
        absl::StatusOr<TdxQuote> q = ParseTdxQuote(*bytes);
        if (q.ok() && q->body.report_data == rd && VerifyAll(*q).ok()) ++good;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(good.load(), 32);
}

// ---- Real quotes (dcap-qvl and dstack samples) ----

Bytes AsBytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

TEST(RealQuoteTest, V4SampleParsesAndVerifies) {
  CAI_SAMPLE_OR_SKIP(sample, "tdx_quote");
  ASSERT_EQ(sample.size(), 5006u);
  absl::StatusOr<TdxQuote> q = ParseTdxQuote(AsBytes(sample));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->header.version, 4);
  EXPECT_EQ(q->body.type, TdxBodyType::kTd10);
  EXPECT_EQ(q->signature_data_size, 4300u);
  EXPECT_EQ(q->signed_bytes.size(), 632u);
  EXPECT_EQ(HexEncode(q->body.tee_tcb_svn), "06010300000000000000000000000000");
  EXPECT_EQ(HexEncode(q->body.td_attributes), "0000001000000000");
  EXPECT_TRUE(std::equal(q->body.report_data.begin(), q->body.report_data.end(),
                         sample.begin() + kReportDataAt,
                         [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); }));
  EXPECT_EQ(q->qe_auth_data.size(), 32u);
  EXPECT_EQ(q->qe_auth_data[31], 0x1f);
  absl::StatusOr<std::vector<X509Ptr>> chain = ParsePemCertificates(q->pck_chain_pem);
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->size(), 3u);
  EXPECT_TRUE(VerifyQuoteSignature(*q).ok());
  EXPECT_TRUE(VerifyQeReportBinding(*q).ok());
  EXPECT_TRUE(VerifyQeReportSignature(*q).ok());
}

TEST(RealQuoteTest, V5Td15SampleParsesAndVerifies) {
  CAI_SAMPLE_OR_SKIP(sample, "tdx_quote_outdated");
  absl::StatusOr<TdxQuote> q = ParseTdxQuote(AsBytes(sample));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->header.version, 5);
  EXPECT_EQ(q->body.type, TdxBodyType::kTd15);
  EXPECT_EQ(q->signed_bytes.size(), 702u);
  EXPECT_EQ(HexEncode(q->body.tee_tcb_svn), "07010300000000000000000000000000");
  EXPECT_EQ(HexEncode(q->body.tee_tcb_svn2), "0d010300000000000000000000000000");
  EXPECT_EQ(q->body.mr_servicetd, (std::array<uint8_t, 48>{}));
  EXPECT_TRUE(std::equal(q->body.report_data.begin(), q->body.report_data.end(), sample.begin() + 54 + 520,
                         [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); }));
  EXPECT_TRUE(VerifyQuoteSignature(*q).ok());
  EXPECT_TRUE(VerifyQeReportBinding(*q).ok());
  EXPECT_TRUE(VerifyQeReportSignature(*q).ok());
}

TEST(RealQuoteTest, OtherTdxSamplesVerify) {
  struct Sample {
    const char* path;
    bool hex;
  };
  for (Sample s : {Sample{"quote-from-tappd.hex", true}, Sample{"tdx-quote.hex", true},
                   Sample{"dstack_ratls_tdx_quote", false}}) {
    CAI_SAMPLE_OR_SKIP(text, s.path);
    Bytes bytes = s.hex ? testing::DecodeHexSample(text) : AsBytes(text);
    absl::StatusOr<TdxQuote> q = ParseTdxQuote(bytes);
    ASSERT_TRUE(q.ok()) << s.path << ": " << q.status();
    EXPECT_TRUE(VerifyAll(*q).ok()) << s.path << ": " << VerifyAll(*q);
  }
}

TEST(RealQuoteTest, DstackQuoteCarriesItsReportData) {
  CAI_SAMPLE_OR_SKIP(text, "dstack_quote-report.json");
  nlohmann::json report = nlohmann::json::parse(text);
  absl::StatusOr<TdxQuote> q = ParseTdxQuote(testing::DecodeHexSample(report["quote"].get<std::string>()));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(HexEncode(q->body.report_data), report["report_data"].get<std::string>());
  EXPECT_TRUE(HexEncode(q->body.report_data).starts_with("1234000000"));
  EXPECT_TRUE(VerifyAll(*q).ok());
}

TEST(RealQuoteTest, SgxQuoteIsRejected) {
  CAI_SAMPLE_OR_SKIP(sample, "sgx_quote");
  EXPECT_EQ(ParseTdxQuote(AsBytes(sample)).status().message(), "unsupported quote version 3");
}

TEST(RealQuoteTest, FlippedReportDataBreaksTheRealSignature) {
  CAI_SAMPLE_OR_SKIP(sample, "tdx_quote");
  Bytes bytes = Flip(AsBytes(sample), kReportDataAt + 5);
  absl::StatusOr<TdxQuote> q = ParseTdxQuote(bytes);
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(VerifyQuoteSignature(*q).ok());
  EXPECT_TRUE(VerifyQeReportSignature(*q).ok());
}

}  // namespace
}  // namespace cai
