#pragma once

// Intel TDX DCAP quotes, versions 4 and 5 (TD 1.0 and TD 1.5 bodies), parsed into plain values,
// and the three signature checks that need nothing but the quote itself. Layout:
// shared/reference/attestation-formats.md B1-B4. Checking the PCK chain up to Intel's root,
// collateral and TCB status is not done here.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cai {

inline constexpr size_t kTdxQuoteMaxSize = 64 * 1024;
inline constexpr size_t kTdxHeaderSize = 48;
inline constexpr size_t kTdReportBody10Size = 584;
inline constexpr size_t kTdReportBody15Size = 648;
inline constexpr size_t kSgxReportSize = 384;
inline constexpr uint16_t kTdxAttestationKeyTypeEcdsaP256 = 2;
inline constexpr uint32_t kTeeTypeTdx = 0x81;
inline constexpr uint16_t kCertDataPckChain = 5;
inline constexpr uint16_t kCertDataQeReport = 6;
inline constexpr std::array<uint8_t, 16> kIntelQeVendorId = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                             0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

// Body types of the v5 body descriptor; v4 quotes always carry kTd10.
enum class TdxBodyType : uint16_t { kTd10 = 2, kTd15 = 3 };

struct TdxQuoteHeader {
  uint16_t version = 0;               // 4 or 5
  uint16_t att_key_type = 0;          // 2 = ECDSA P-256
  uint32_t tee_type = 0;              // 0x81 = TDX
  std::array<uint8_t, 4> reserved{};  // qe_svn/pce_svn in some parsers; opaque here
  std::array<uint8_t, 16> qe_vendor_id{};
  std::array<uint8_t, 20> user_data{};
};

struct TdReportBody {
  TdxBodyType type = TdxBodyType::kTd10;
  std::array<uint8_t, 16> tee_tcb_svn{};
  std::array<uint8_t, 48> mr_seam{};
  std::array<uint8_t, 48> mr_signer_seam{};
  std::array<uint8_t, 8> seam_attributes{};
  std::array<uint8_t, 8> td_attributes{};
  std::array<uint8_t, 8> xfam{};
  std::array<uint8_t, 48> mr_td{};
  std::array<uint8_t, 48> mr_config_id{};
  std::array<uint8_t, 48> mr_owner{};
  std::array<uint8_t, 48> mr_owner_config{};
  std::array<std::array<uint8_t, 48>, 4> rtmr{};
  std::array<uint8_t, 64> report_data{};
  // TD 1.5 only; zero for TD 1.0.
  std::array<uint8_t, 16> tee_tcb_svn2{};
  std::array<uint8_t, 48> mr_servicetd{};

  bool debug() const { return (td_attributes[0] & 0x01) != 0; }
  bool sept_ve_disable() const { return (td_attributes[3] & 0x10) != 0; }
};

// The quoting enclave's SGX report (384 bytes), which the PCK leaf key signs.
struct QeReport {
  std::array<uint8_t, kSgxReportSize> raw{};
  std::array<uint8_t, 16> cpu_svn{};
  uint32_t misc_select = 0;
  std::array<uint8_t, 16> attributes{};
  std::array<uint8_t, 32> mr_enclave{};
  std::array<uint8_t, 32> mr_signer{};
  uint16_t isv_prod_id = 0;
  uint16_t isv_svn = 0;
  std::array<uint8_t, 64> report_data{};
};

struct TdxQuote {
  TdxQuoteHeader header;
  TdReportBody body;
  std::vector<uint8_t> signed_bytes;  // header (+ v5 descriptor) + body: what the quote signature covers
  uint32_t signature_data_size = 0;
  std::array<uint8_t, 64> signature{};        // r||s over signed_bytes
  std::array<uint8_t, 64> attestation_key{};  // x||y, P-256
  uint16_t cert_data_type = 0;                // always kCertDataQeReport after a successful parse
  QeReport qe_report;
  std::array<uint8_t, 64> qe_report_signature{};  // r||s over qe_report.raw, by the PCK leaf key
  std::vector<uint8_t> qe_auth_data;
  uint16_t inner_cert_data_type = 0;  // always kCertDataPckChain
  std::string pck_chain_pem;          // leaf, intermediate, root; trailing NULs removed
};

// Parses a v4 or v5 TDX quote. Every length is checked against the bytes that remain; bytes after
// the signature data must be zero padding. Errors are InvalidArgument and name the section
// ("quote truncated in header", "unsupported quote version 7", ...).
absl::StatusOr<TdxQuote> ParseTdxQuote(std::span<const uint8_t> bytes);

// ECDSA P-256/SHA-256 over signed_bytes with the key 0x04||attestation_key (B4 step 7).
absl::Status VerifyQuoteSignature(const TdxQuote& quote);

// sha256(attestation_key || qe_auth_data) == qe_report.report_data[0:32] (B4 step 5).
absl::Status VerifyQeReportBinding(const TdxQuote& quote);

// ECDSA P-256/SHA-256 over the QE report with the public key of the first certificate of
// pck_chain_pem (B4 step 4). Does not check the chain itself.
absl::Status VerifyQeReportSignature(const TdxQuote& quote);

}  // namespace cai
