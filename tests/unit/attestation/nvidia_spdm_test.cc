#include "tests/unit/attestation/chain_to_root.h"
#include "lib/attestation/nvidia_spdm.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "lib/attestation/ec_crypto.h"
#include "lib/attestation/simulated_gpu.h"
#include "lib/common/hex.h"
#include "tests/unit/attestation/testdata.h"

namespace cai {
namespace {

using Bytes = std::vector<uint8_t>;

// Offsets in request || response for the simulated layout (64 blocks of 55 bytes).
constexpr size_t kResponseAt = 37;
constexpr size_t kRecordAt = kResponseAt + 8;
constexpr size_t kRecordSize = 64 * 55;
constexpr size_t kResponderNonceAt = kRecordAt + kRecordSize;
constexpr size_t kOpaqueSizeAt = kResponderNonceAt + 32;

std::array<uint8_t, 32> TestNonce(uint8_t seed) {
  std::array<uint8_t, 32> n;
  for (size_t i = 0; i < n.size(); ++i) n[i] = static_cast<uint8_t>(seed * 3 + i);
  return n;
}

class SimulatedGpuTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<SimulatedGpu>> gpu = SimulatedGpu::Create();
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    gpu_ = gpu->release();
    absl::StatusOr<Bytes> report = gpu_->AttestationReport(TestNonce(1));
    ASSERT_TRUE(report.ok()) << report.status();
    report_ = new Bytes(*report);
  }
  static void TearDownTestSuite() {
    delete gpu_;
    delete report_;
  }
  static SimulatedGpu* gpu_;
  static Bytes* report_;
};
SimulatedGpu* SimulatedGpuTest::gpu_ = nullptr;
Bytes* SimulatedGpuTest::report_ = nullptr;

TEST_F(SimulatedGpuTest, ReportHasTheRealLayoutAndVerifies) {
  absl::StatusOr<SpdmReport> r = ParseSpdmReport(*report_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->request_nonce, TestNonce(1));
  EXPECT_TRUE(CheckSpdmNonce(*r, TestNonce(1)).ok());
  ASSERT_EQ(r->blocks.size(), 64u);
  for (size_t i = 0; i < r->blocks.size(); ++i) {
    EXPECT_EQ(r->blocks[i].index, i + 1);
    EXPECT_EQ(r->blocks[i].spec, 1);
    EXPECT_EQ(r->blocks[i].value.size(), 48u);
  }
  EXPECT_EQ(r->DriverVersion(), kSimulatedGpuDriverVersion);
  EXPECT_EQ(r->VbiosVersion(), "96.00.9f.00.01");
  ASSERT_TRUE(r->FindOpaque(kSpdmOpaqueFwid).has_value());
  EXPECT_TRUE(std::ranges::equal(*r->FindOpaque(kSpdmOpaqueFwid), gpu_->fwid()));
  EXPECT_EQ(r->signed_bytes.size(), report_->size() - 96);
  EXPECT_TRUE(VerifySpdmSignature(*r, gpu_->certificate_chain_pem()).ok());
}

TEST_F(SimulatedGpuTest, ChainHasFiveSimulatedP384CertificatesToItsRoot) {
  absl::StatusOr<std::vector<X509Ptr>> chain = ParsePemCertificates(gpu_->certificate_chain_pem());
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 5u);
  for (const X509Ptr& cert : *chain) {
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(cert.get()), name, sizeof(name));
    EXPECT_NE(std::string(name).find("SIMULATED"), std::string::npos) << name;
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    EXPECT_EQ(EVP_PKEY_get_bits(key), 384);
  }
  EXPECT_TRUE(ChainVerifiesToRoot(gpu_->certificate_chain_pem(), gpu_->root_certificate_pem()).ok());
  // The leaf's DICE TcbInfo extension ends with the FWID the report carries (C3).
  ASN1_OBJECT* oid = OBJ_txt2obj(kDiceTcbInfoOid, 1);
  int at = X509_get_ext_by_OBJ(chain->front().get(), oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(at, 0);
  ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(chain->front().get(), at));
  ASSERT_GE(ASN1_STRING_length(value), 48);
  const uint8_t* end = ASN1_STRING_get0_data(value) + ASN1_STRING_length(value);
  EXPECT_TRUE(std::equal(end - 48, end, gpu_->fwid().begin()));
}

TEST_F(SimulatedGpuTest, WrongNonceIsRejected) {
  absl::StatusOr<SpdmReport> r = ParseSpdmReport(*report_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(CheckSpdmNonce(*r, TestNonce(2)).ok());
  // Changing the nonce in the request breaks the signature: it is signed.
  Bytes forged = *report_;
  std::array<uint8_t, 32> other = TestNonce(2);
  std::copy(other.begin(), other.end(), forged.begin() + 4);
  absl::StatusOr<SpdmReport> f = ParseSpdmReport(forged);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(CheckSpdmNonce(*f, other).ok());
  EXPECT_FALSE(VerifySpdmSignature(*f, gpu_->certificate_chain_pem()).ok());
}

TEST_F(SimulatedGpuTest, OtherGpusKeyDoesNotVerify) {
  absl::StatusOr<std::unique_ptr<SimulatedGpu>> other = SimulatedGpu::Create();
  ASSERT_TRUE(other.ok());
  absl::StatusOr<SpdmReport> r = ParseSpdmReport(*report_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(VerifySpdmSignature(*r, (*other)->certificate_chain_pem()).ok());
}

struct SpdmMutation {
  const char* name;
  std::function<Bytes(Bytes)> mutate;
  const char* parse_error;  // null: parses, but the signature must fail
};
void PrintTo(const SpdmMutation& m, std::ostream* os) { *os << m.name; }

std::vector<SpdmMutation> SpdmMutations() {
  auto flip = [](size_t at) {
    return [at](Bytes b) {
      b[at] ^= 0x01;
      return b;
    };
  };
  auto cut = [](size_t n) {
    return [n](Bytes b) {
      b.resize(n);
      return b;
    };
  };
  return {
      {"flipped_measurement", flip(kRecordAt + 55 * 10 + 20), nullptr},
      {"flipped_responder_nonce", flip(kResponderNonceAt + 3), nullptr},
      {"flipped_opaque_data", flip(kOpaqueSizeAt + 10), nullptr},
      {"flipped_signature",
       [](Bytes b) {
         b[b.size() - 40] ^= 1;
         return b;
       },
       nullptr},
      {"flipped_slot", flip(36), nullptr},
      {"request_version", flip(0), "request is not an SPDM 1.1 GET_MEASUREMENTS (version 0x10, code 0xe0)"},
      {"response_code", flip(kResponseAt + 1),
       "response is not an SPDM 1.1 MEASUREMENTS (version 0x11, code 0x61)"},
      {"block_count_high",
       [](Bytes b) {
         b[kResponseAt + 4] = 65;
         return b;
       },
       "SPDM report truncated in measurement block"},
      {"block_count_low",
       [](Bytes b) {
         b[kResponseAt + 4] = 63;
         return b;
       },
       "55 unexpected bytes after 63 measurement blocks"},
      {"dmtf_value_size",
       [](Bytes b) {
         b[kRecordAt + 5] = 47;
         return b;
       },
       "measurement block 1 has an inconsistent DMTF value size"},
      {"trailing_byte",
       [](Bytes b) {
         b.push_back(0);
         return b;
       },
       "1 unexpected bytes after the signature"},
      {"empty", cut(0), "SPDM report truncated in request"},
      {"truncated_request", cut(20), "SPDM report truncated in request"},
      {"truncated_response_header", cut(kResponseAt + 6), "SPDM report truncated in response header"},
      {"truncated_record", cut(kRecordAt + 100), "SPDM report truncated in measurement record"},
      {"truncated_responder_nonce", cut(kResponderNonceAt + 10), "SPDM report truncated in responder nonce"},
      {"truncated_opaque_data", cut(kOpaqueSizeAt + 10), "SPDM report truncated in opaque data"},
      {"truncated_signature",
       [](Bytes b) {
         b.resize(b.size() - 1);
         return b;
       },
       "SPDM report truncated in signature"},
      {"oversized",
       [](Bytes b) {
         b.resize(kSpdmReportMaxSize + 1);
         return b;
       },
       "SPDM report is larger than 8192 bytes"},
  };
}

class SpdmMutationTest : public SimulatedGpuTest, public ::testing::WithParamInterface<SpdmMutation> {};

TEST_P(SpdmMutationTest, IsRejected) {
  const SpdmMutation& m = GetParam();
  absl::StatusOr<SpdmReport> r = ParseSpdmReport(m.mutate(*report_));
  if (m.parse_error != nullptr) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), m.parse_error);
  } else {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(VerifySpdmSignature(*r, gpu_->certificate_chain_pem()).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(Table, SpdmMutationTest, ::testing::ValuesIn(SpdmMutations()),
                         [](const ::testing::TestParamInfo<SpdmMutation>& info) { return info.param.name; });

// ---- Real Hopper evidence (nvtrust and attestation-sdk samples) ----

void ExpectRealReportVerifies(const Bytes& bytes, const std::string& chain_pem, const std::string& nonce_hex,
                              bool has_fwid) {
  absl::StatusOr<SpdmReport> r = ParseSpdmReport(bytes);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(HexEncode(r->request_nonce), nonce_hex);
  EXPECT_EQ(r->blocks.size(), 64u);
  EXPECT_EQ(r->FindOpaque(kSpdmOpaqueFwid).has_value(), has_fwid);
  EXPECT_TRUE(VerifySpdmSignature(*r, chain_pem).ok());
  absl::StatusOr<std::vector<X509Ptr>> chain = ParsePemCertificates(chain_pem);
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->size(), 5u);
  // A flipped measurement byte must break the real signature too.
  Bytes flipped = bytes;
  flipped[kRecordAt + 20] ^= 1;
  absl::StatusOr<SpdmReport> f = ParseSpdmReport(flipped);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(VerifySpdmSignature(*f, chain_pem).ok());
}

TEST(RealSpdmTest, NvtrustHopperSample) {
  CAI_SAMPLE_OR_SKIP(report, "nvidia/hopperAttestationReport.txt");
  CAI_SAMPLE_OR_SKIP(chain, "nvidia/hopperCertChain.txt");
  Bytes bytes = testing::DecodeHexSample(report);
  ASSERT_EQ(bytes.size(), 4117u);
  ExpectRealReportVerifies(bytes, chain, "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
                           true);
  absl::StatusOr<SpdmReport> r = ParseSpdmReport(bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->DriverVersion(), "550.90.07");
  EXPECT_EQ(r->VbiosVersion(), "96.00.9f.00.01");
}

TEST(RealSpdmTest, AttestationSdkSampleWithoutFwid) {
  CAI_SAMPLE_OR_SKIP(report, "nvidia/sample_attestation_data_gpu_hopperAttestationReport.txt");
  CAI_SAMPLE_OR_SKIP(chain, "nvidia/sample_attestation_data_gpu_hopperCertChain.txt");
  Bytes bytes = testing::DecodeHexSample(report);
  ASSERT_EQ(bytes.size(), 4052u);
  ExpectRealReportVerifies(bytes, chain, "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66",
                           false);
}

TEST(RealSpdmTest, SerializedEvidenceItems) {
  for (const char* path : {"nvidia/hopper_evidence.json", "nvidia/multi_gpu_hopper.json",
                           "nvidia/evidence_hopper_590_12.json"}) {
    CAI_SAMPLE_OR_SKIP(text, path);
    nlohmann::json items = nlohmann::json::parse(text);
    ASSERT_TRUE(items.is_array()) << path;
    for (const nlohmann::json& item : items) {
      std::string report, chain;
      ASSERT_TRUE(absl::Base64Unescape(item["evidence"].get<std::string>(), &report));
      ASSERT_TRUE(absl::Base64Unescape(item["certificate"].get<std::string>(), &chain));
      SCOPED_TRACE(path);
      ExpectRealReportVerifies(Bytes(report.begin(), report.end()), chain, item["nonce"].get<std::string>(),
                               true);
    }
  }
}

TEST(RealSpdmTest, WrongNonceOnRealSample) {
  CAI_SAMPLE_OR_SKIP(report, "nvidia/hopperAttestationReport.txt");
  absl::StatusOr<SpdmReport> r = ParseSpdmReport(testing::DecodeHexSample(report));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(CheckSpdmNonce(*r, TestNonce(9)).ok());
}

}  // namespace
}  // namespace cai
