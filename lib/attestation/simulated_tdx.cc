#include "lib/attestation/simulated_tdx.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <string_view>

#include "lib/attestation/byte_io.h"
#include "lib/attestation/pck_extension.h"
#include "lib/attestation/tdx_quote.h"
#include "lib/common/hex.h"
#include "lib/crypto/sha256.h"
#include "lib/crypto/sha384.h"

namespace cai {
namespace {

// Fixed, recognisable stand-ins for measurements: SHA-384 of a label.
Sha384Digest FakeMeasurement(std::string_view label) { return Sha384(label); }

constexpr uint8_t kTeeTcbSvn[16] = {0x06, 0x01, 0x03};  // module 1.6, late microcode 3
constexpr uint16_t kQeIsvSvn = 8;
constexpr std::array<uint8_t, 16> kPckComponentSvns = {3, 3, 2, 2, 4, 1, 0, 5};

void WriteTdReportBody(ByteWriter& w, std::span<const uint8_t, 64> report_data, bool debug) {
  // SEPT_VE_DISABLE (bit 28) set; DEBUG (bit 0) only when asked.
  const uint8_t td_attributes[8] = {static_cast<uint8_t>(debug ? 0x01 : 0x00), 0x00, 0x00, 0x10};
  const uint8_t xfam[8] = {0xe7, 0x02, 0x06};  // x87, SSE, AVX, AVX-512, PK, AMX: a typical guest
  w.Bytes(kTeeTcbSvn);
  w.Bytes(FakeMeasurement("cai simulated MRSEAM"));
  w.Zeros(48);  // MRSIGNERSEAM: zero for Intel's module
  w.Zeros(8);   // SEAMATTRIBUTES
  w.Bytes(td_attributes);
  w.Bytes(xfam);
  w.Bytes(FakeMeasurement("cai simulated MRTD"));
  w.Zeros(48 * 3);  // MRCONFIGID, MROWNER, MROWNERCONFIG
  for (int i = 0; i < 4; ++i) w.Bytes(FakeMeasurement("cai simulated RTMR" + std::to_string(i)));
  w.Bytes(report_data);
}

// The QE's SGX report; its report_data binds the attestation key and the QE auth data.
std::vector<uint8_t> BuildQeReport(std::span<const uint8_t> attestation_point,
                                   std::span<const uint8_t> auth_data) {
  std::string bound(attestation_point.begin(), attestation_point.end());
  bound.append(auth_data.begin(), auth_data.end());
  Sha256Digest binding = Sha256(bound);
  Sha256Digest mr_enclave = Sha256("cai simulated QE MRENCLAVE");
  Sha256Digest mr_signer = Sha256("cai simulated QE MRSIGNER");
  const uint8_t attributes[16] = {0x11};
  ByteWriter w;
  w.Zeros(16);  // cpusvn
  w.U32(0);     // miscselect
  w.Zeros(28);  // reserved
  w.Bytes(attributes);
  w.Bytes(mr_enclave);
  w.Zeros(32);  // reserved
  w.Bytes(mr_signer);
  w.Zeros(96);  // reserved
  w.U16(2);     // isvprodid: TD_QE
  w.U16(kQeIsvSvn);
  w.Zeros(60);  // reserved
  w.Bytes(binding);
  w.Zeros(32);
  return std::move(w.bytes());
}

absl::StatusOr<X509Ptr> Certify(const char* common_name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                                bool is_ca, std::vector<uint8_t> sgx_extension = {}) {
  CertificateSpec spec;
  if (!sgx_extension.empty()) {
    spec.extra_extension_oid = kSgxExtensionOid;
    spec.extra_extension_der = std::move(sgx_extension);
  }
  spec.common_name = common_name;
  spec.subject_key = key;
  spec.issuer = issuer;
  spec.issuer_key = issuer_key;
  spec.is_ca = is_ca;
  spec.md = EVP_sha256();
  return MakeCertificate(spec);
}

PckExtension SimulatedPckExtension() {
  PckExtension ext;
  ext.ppid.assign(16, 0x5a);
  ext.component_svns = kPckComponentSvns;
  ext.pce_svn = kSimulatedPceSvn;
  ext.pce_id = {0, 0};
  ext.fmspc = kSimulatedFmspc;
  ext.sgx_type = 0;
  return ext;
}

struct CrlFree {
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
};
struct TimeFree {
  void operator()(ASN1_TIME* p) const { ASN1_TIME_free(p); }
};

// A DER CRL issued by `issuer`, listing `revoked` (may be null).
absl::StatusOr<std::vector<uint8_t>> MakeCrl(X509* issuer, EVP_PKEY* key, X509* revoked, int64_t last, int64_t next) {
  std::unique_ptr<X509_CRL, CrlFree> crl(X509_CRL_new());
  std::unique_ptr<ASN1_TIME, TimeFree> last_t(ASN1_TIME_set(nullptr, static_cast<time_t>(last)));
  std::unique_ptr<ASN1_TIME, TimeFree> next_t(ASN1_TIME_set(nullptr, static_cast<time_t>(next)));
  bool ok = crl && last_t && next_t && X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1 &&
            X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer)) == 1 &&
            X509_CRL_set1_lastUpdate(crl.get(), last_t.get()) == 1 &&
            X509_CRL_set1_nextUpdate(crl.get(), next_t.get()) == 1;
  if (ok && revoked != nullptr) {
    X509_REVOKED* entry = X509_REVOKED_new();
    ok = entry && X509_REVOKED_set_serialNumber(entry, X509_get_serialNumber(revoked)) == 1 &&
         X509_REVOKED_set_revocationDate(entry, last_t.get()) == 1 && X509_CRL_add0_revoked(crl.get(), entry) == 1;
    if (!ok) X509_REVOKED_free(entry);
    ok = ok && X509_CRL_sort(crl.get()) == 1;
  }
  ok = ok && X509_CRL_sign(crl.get(), key, EVP_sha256()) > 0;
  unsigned char* der = nullptr;
  int len = ok ? i2d_X509_CRL(crl.get(), &der) : -1;
  if (len <= 0) return absl::InternalError("cannot build simulated CRL");
  std::vector<uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::string IsoTime(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json Components(std::span<const uint8_t> svns) {
  nlohmann::json list = nlohmann::json::array();
  for (uint8_t svn : svns) list.push_back({{"svn", svn}});
  return list;
}

nlohmann::json Level(nlohmann::json tcb, TcbStatus status, const std::vector<std::string>& advisories) {
  nlohmann::json level = {{"tcb", std::move(tcb)}, {"tcbDate", "2024-03-13T00:00:00Z"}, {"tcbStatus", TcbStatusName(status)}};
  if (!advisories.empty()) level["advisoryIDs"] = advisories;
  return level;
}

// TCB info v3 for the simulated platform: the quote matches the first level, whose status is the
// caller's; an older level below it is OutOfDate.
std::string TcbInfoJson(const SimulatedCollateralOptions& o, int64_t issue, int64_t next) {
  const std::string zeros48(96, '0');
  std::array<uint8_t, 16> tdx_svns = {5, 0, 2};
  std::array<uint8_t, 16> old_sgx = {2, 2, 2, 2, 3, 1, 0, 5};
  nlohmann::json module_level = nlohmann::json::array({Level({{"isvsvn", 4}}, TcbStatus::kUpToDate, {})});
  nlohmann::json info = {
      {"id", "TDX"}, {"version", 3}, {"issueDate", IsoTime(issue)}, {"nextUpdate", IsoTime(next)},
      {"fmspc", HexEncode(kSimulatedFmspc)}, {"pceId", "0000"}, {"tcbType", 0}, {"tcbEvaluationDataNumber", 17},
      {"tdxModule", {{"mrsigner", zeros48}, {"attributes", "0000000000000000"}, {"attributesMask", "FFFFFFFFFFFFFFFF"}}},
      {"tdxModuleIdentities",
       nlohmann::json::array({{{"id", "TDX_01"}, {"mrsigner", zeros48}, {"attributes", "0000000000000000"},
                               {"attributesMask", "FFFFFFFFFFFFFFFF"}, {"tcbLevels", module_level}}})},
      {"tcbLevels",
       nlohmann::json::array(
           {Level({{"sgxtcbcomponents", Components(kPckComponentSvns)}, {"pcesvn", kSimulatedPceSvn},
                   {"tdxtcbcomponents", Components(tdx_svns)}},
                  o.platform_status, o.advisory_ids),
            Level({{"sgxtcbcomponents", Components(old_sgx)}, {"pcesvn", 5}, {"tdxtcbcomponents", Components(tdx_svns)}},
                  TcbStatus::kOutOfDate, {"INTEL-SA-00000"})})}};
  return info.dump();
}

std::string QeIdentityJson(int64_t issue, int64_t next) {
  Sha256Digest mr_signer = Sha256("cai simulated QE MRSIGNER");
  nlohmann::json id = {{"id", "TD_QE"}, {"version", 2}, {"issueDate", IsoTime(issue)}, {"nextUpdate", IsoTime(next)},
                       {"tcbEvaluationDataNumber", 17}, {"miscselect", "00000000"}, {"miscselectMask", "FFFFFFFF"},
                       {"attributes", "11000000000000000000000000000000"},
                       {"attributesMask", "FBFFFFFFFFFFFFFF0000000000000000"}, {"mrsigner", HexEncode(mr_signer)},
                       {"isvprodid", 2},
                       {"tcbLevels", nlohmann::json::array({Level({{"isvsvn", kQeIsvSvn}}, TcbStatus::kUpToDate, {})})}};
  return id.dump();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SimulatedTdx>> SimulatedTdx::Create() {
  std::unique_ptr<SimulatedTdx> tdx(new SimulatedTdx());
  absl::StatusOr<EvpPkeyPtr> root_key = GenerateEcKey(EcCurve::kP256);
  absl::StatusOr<EvpPkeyPtr> ca_key = GenerateEcKey(EcCurve::kP256);
  absl::StatusOr<EvpPkeyPtr> pck_key = GenerateEcKey(EcCurve::kP256);
  absl::StatusOr<EvpPkeyPtr> att_key = GenerateEcKey(EcCurve::kP256);
  absl::StatusOr<EvpPkeyPtr> tcb_key = GenerateEcKey(EcCurve::kP256);
  for (const auto* k : {&root_key, &ca_key, &pck_key, &att_key, &tcb_key}) {
    if (!k->ok()) return k->status();
  }
  absl::StatusOr<X509Ptr> root =
      Certify("cai SIMULATED TDX Root CA", root_key->get(), nullptr, nullptr, true);
  if (!root.ok()) return root.status();
  absl::StatusOr<X509Ptr> ca =
      Certify("cai SIMULATED TDX PCK Platform CA", ca_key->get(), root->get(), root_key->get(), true);
  if (!ca.ok()) return ca.status();
  absl::StatusOr<X509Ptr> pck = Certify("cai SIMULATED TDX PCK Certificate", pck_key->get(), ca->get(),
                                        ca_key->get(), false, EncodePckExtensionDer(SimulatedPckExtension()));
  if (!pck.ok()) return pck.status();
  absl::StatusOr<X509Ptr> tcb =
      Certify("cai SIMULATED TDX TCB Signing", tcb_key->get(), root->get(), root_key->get(), false);
  if (!tcb.ok()) return tcb.status();
  absl::StatusOr<std::vector<uint8_t>> point = EcPublicPoint(att_key->get());
  if (!point.ok()) return point.status();

  tdx->root_pem_ = CertificateToPem(root->get());
  tdx->ca_pem_ = CertificateToPem(ca->get());
  tdx->chain_pem_ = CertificateToPem(pck->get()) + tdx->ca_pem_ + tdx->root_pem_;
  tdx->tcb_signing_chain_pem_ = CertificateToPem(tcb->get()) + tdx->root_pem_;
  tdx->attestation_point_ = std::move(*point);
  tdx->root_ = std::move(*root);
  tdx->ca_ = std::move(*ca);
  tdx->pck_ = std::move(*pck);
  absl::MutexLock lock(&tdx->mu_);
  tdx->attestation_key_ = std::move(*att_key);
  tdx->pck_key_ = std::move(*pck_key);
  tdx->root_key_ = std::move(*root_key);
  tdx->ca_key_ = std::move(*ca_key);
  tdx->tcb_signing_key_ = std::move(*tcb_key);
  return tdx;
}

absl::StatusOr<std::vector<uint8_t>> SimulatedTdx::Quote(std::span<const uint8_t, 64> report_data,
                                                         const SimulatedQuoteOptions& options) {
  ByteWriter w;
  w.U16(4);
  w.U16(kTdxAttestationKeyTypeEcdsaP256);
  w.U32(kTeeTypeTdx);
  w.Zeros(4);
  w.Bytes(kIntelQeVendorId);
  Sha256Digest qe_id = Sha256("cai simulated QE id");
  w.Bytes(std::span(qe_id).first(16));
  w.Zeros(4);
  WriteTdReportBody(w, report_data, options.debug);
  const size_t signed_size = w.size();  // 632

  std::array<uint8_t, 32> auth_data;
  for (size_t i = 0; i < auth_data.size(); ++i) auth_data[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> qe_report = BuildQeReport(attestation_point_, auth_data);

  absl::MutexLock lock(&mu_);
  std::span<const uint8_t> signed_bytes(w.bytes().data(), signed_size);
  absl::StatusOr<std::vector<uint8_t>> quote_sig =
      SignEcdsaRaw(attestation_key_.get(), EVP_sha256(), signed_bytes);
  if (!quote_sig.ok()) return quote_sig.status();
  absl::StatusOr<std::vector<uint8_t>> qe_sig = SignEcdsaRaw(pck_key_.get(), EVP_sha256(), qe_report);
  if (!qe_sig.ok()) return qe_sig.status();

  const size_t sig_len_at = w.size();
  w.U32(0);  // signature data length, patched below
  w.Bytes(*quote_sig);
  w.Bytes(attestation_point_);
  w.U16(kCertDataQeReport);
  const size_t cert_len_at = w.size();
  w.U32(0);
  w.Bytes(qe_report);
  w.Bytes(*qe_sig);
  w.U16(static_cast<uint16_t>(auth_data.size()));
  w.Bytes(auth_data);
  w.U16(kCertDataPckChain);
  w.U32(static_cast<uint32_t>(chain_pem_.size()));
  w.Text(chain_pem_);
  w.PatchU32(cert_len_at, static_cast<uint32_t>(w.size() - cert_len_at - 4));
  w.PatchU32(sig_len_at, static_cast<uint32_t>(w.size() - sig_len_at - 4));
  return std::move(w.bytes());
}

absl::StatusOr<std::string> SimulatedTdx::Collateral(const SimulatedCollateralOptions& options) {
  const int64_t issue = options.issue_date != 0 ? options.issue_date : static_cast<int64_t>(std::time(nullptr)) - 60;
  const int64_t next = options.next_update != 0 ? options.next_update : issue + 30 * 24 * 3600;
  const std::string tcb_info = TcbInfoJson(options, issue, next);
  const std::string qe_identity = QeIdentityJson(issue, next);
  auto bytes = [](const std::string& s) { return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()); };

  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::vector<uint8_t>> root_crl = MakeCrl(root_.get(), root_key_.get(), nullptr, issue, next);
  absl::StatusOr<std::vector<uint8_t>> pck_crl =
      MakeCrl(ca_.get(), ca_key_.get(), options.revoke_pck_certificate ? pck_.get() : nullptr, issue, next);
  absl::StatusOr<std::vector<uint8_t>> tcb_sig = SignEcdsaRaw(tcb_signing_key_.get(), EVP_sha256(), bytes(tcb_info));
  absl::StatusOr<std::vector<uint8_t>> qe_sig = SignEcdsaRaw(tcb_signing_key_.get(), EVP_sha256(), bytes(qe_identity));
  for (const auto* r : {&root_crl, &pck_crl, &tcb_sig, &qe_sig}) {
    if (!r->ok()) return r->status();
  }
  nlohmann::json collateral = {{"pck_crl_issuer_chain", ca_pem_ + root_pem_},
                               {"root_ca_crl", HexEncode(*root_crl)},
                               {"pck_crl", HexEncode(*pck_crl)},
                               {"tcb_info_issuer_chain", tcb_signing_chain_pem_},
                               {"tcb_info", tcb_info},
                               {"tcb_info_signature", HexEncode(*tcb_sig)},
                               {"qe_identity_issuer_chain", tcb_signing_chain_pem_},
                               {"qe_identity", qe_identity},
                               {"qe_identity_signature", HexEncode(*qe_sig)}};
  return collateral.dump(2);
}

}  // namespace cai
