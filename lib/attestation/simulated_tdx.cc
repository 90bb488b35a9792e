#include "lib/attestation/simulated_tdx.h"

#include <openssl/evp.h>

#include <string_view>

#include "lib/attestation/byte_io.h"
#include "lib/attestation/tdx_quote.h"
#include "lib/crypto/sha256.h"

namespace cai {
namespace {

// Fixed, recognisable stand-ins for measurements: SHA-384 of a label.
std::array<uint8_t, 48> FakeMeasurement(std::string_view label) {
  std::array<uint8_t, 48> out{};
  unsigned int len = 0;
  EVP_Digest(label.data(), label.size(), out.data(), &len, EVP_sha384(), nullptr);
  return out;
}

void WriteTdReportBody(ByteWriter& w, std::span<const uint8_t, 64> report_data) {
  const uint8_t tee_tcb_svn[16] = {0x06, 0x01, 0x03};
  // SEPT_VE_DISABLE (bit 28) set, DEBUG (bit 0) clear.
  const uint8_t td_attributes[8] = {0x00, 0x00, 0x00, 0x10};
  const uint8_t xfam[8] = {0xe7, 0x02, 0x06};  // x87, SSE, AVX, AVX-512, PK, AMX: a typical guest
  w.Bytes(tee_tcb_svn);
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
  w.U16(8);     // isvsvn
  w.Zeros(60);  // reserved
  w.Bytes(binding);
  w.Zeros(32);
  return std::move(w.bytes());
}

absl::StatusOr<X509Ptr> Certify(const char* common_name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                                bool is_ca) {
  CertificateSpec spec;
  spec.common_name = common_name;
  spec.subject_key = key;
  spec.issuer = issuer;
  spec.issuer_key = issuer_key;
  spec.is_ca = is_ca;
  spec.md = EVP_sha256();
  return MakeCertificate(spec);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SimulatedTdx>> SimulatedTdx::Create() {
  std::unique_ptr<SimulatedTdx> tdx(new SimulatedTdx());
  absl::StatusOr<EvpPkeyPtr> root_key = GenerateEcKey(EcCurve::kP256);
  absl::StatusOr<EvpPkeyPtr> ca_key = GenerateEcKey(EcCurve::kP256);
  absl::StatusOr<EvpPkeyPtr> pck_key = GenerateEcKey(EcCurve::kP256);
  absl::StatusOr<EvpPkeyPtr> att_key = GenerateEcKey(EcCurve::kP256);
  for (const auto* k : {&root_key, &ca_key, &pck_key, &att_key}) {
    if (!k->ok()) return k->status();
  }
  absl::StatusOr<X509Ptr> root =
      Certify("cai SIMULATED TDX Root CA", root_key->get(), nullptr, nullptr, true);
  if (!root.ok()) return root.status();
  absl::StatusOr<X509Ptr> ca =
      Certify("cai SIMULATED TDX PCK Platform CA", ca_key->get(), root->get(), root_key->get(), true);
  if (!ca.ok()) return ca.status();
  absl::StatusOr<X509Ptr> pck =
      Certify("cai SIMULATED TDX PCK Certificate", pck_key->get(), ca->get(), ca_key->get(), false);
  if (!pck.ok()) return pck.status();
  absl::StatusOr<std::vector<uint8_t>> point = EcPublicPoint(att_key->get());
  if (!point.ok()) return point.status();

  tdx->root_pem_ = CertificateToPem(root->get());
  tdx->chain_pem_ = CertificateToPem(pck->get()) + CertificateToPem(ca->get()) + tdx->root_pem_;
  tdx->attestation_point_ = std::move(*point);
  absl::MutexLock lock(&tdx->mu_);
  tdx->attestation_key_ = std::move(*att_key);
  tdx->pck_key_ = std::move(*pck_key);
  return tdx;
}

absl::StatusOr<std::vector<uint8_t>> SimulatedTdx::Quote(std::span<const uint8_t, 64> report_data) {
  ByteWriter w;
  w.U16(4);
  w.U16(kTdxAttestationKeyTypeEcdsaP256);
  w.U32(kTeeTypeTdx);
  w.Zeros(4);
  w.Bytes(kIntelQeVendorId);
  Sha256Digest qe_id = Sha256("cai simulated QE id");
  w.Bytes(std::span(qe_id).first(16));
  w.Zeros(4);
  WriteTdReportBody(w, report_data);
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

}  // namespace cai
