#pragma once

// Collateral for offline TDX quote verification: dcap-qvl's QuoteCollateralV3 JSON (reference B5)
// and the two signed documents inside it, TCB info v3 (id "TDX") and QE identity (id "TD_QE").
//
// Intel signs the exact bytes of the tcbInfo and enclaveIdentity JSON values. The collateral file
// carries them as JSON strings; the decoded string is kept verbatim in *_json and is what the
// signature is checked over. It is never re-serialized.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cai {

inline constexpr size_t kCollateralMaxSize = 1 << 20;

// Ordered by severity, as Intel's QVL and dcap-qvl merge them (B4 step 10).
enum class TcbStatus {
  kUpToDate = 0,
  kSwHardeningNeeded = 1,
  kConfigurationNeeded = 2,
  kConfigurationAndSwHardeningNeeded = 3,
  kOutOfDate = 4,
  kOutOfDateConfigurationNeeded = 5,
  kRevoked = 6,
};
const char* TcbStatusName(TcbStatus status);  // Intel's spelling: "UpToDate", "OutOfDate", ...
std::optional<TcbStatus> ParseTcbStatus(std::string_view name);

struct TcbLevel {
  std::array<uint8_t, 16> sgx_components{};
  uint16_t pce_svn = 0;
  std::array<uint8_t, 16> tdx_components{};
  std::string tcb_date;
  TcbStatus status = TcbStatus::kRevoked;
  std::vector<std::string> advisory_ids;
};

// An enclave or TDX-module identity's level: only an ISV SVN.
struct IsvTcbLevel {
  uint16_t isv_svn = 0;
  std::string tcb_date;
  TcbStatus status = TcbStatus::kRevoked;
  std::vector<std::string> advisory_ids;
};

struct TdxModuleIdentity {
  std::string id;  // "TDX_03"; empty for tcbInfo.tdxModule
  std::array<uint8_t, 48> mr_signer{};
  std::array<uint8_t, 8> attributes{};
  std::array<uint8_t, 8> attributes_mask{};
  std::vector<IsvTcbLevel> levels;
};

struct TcbInfo {
  std::string id;  // "TDX"
  int version = 0;
  int64_t issue_date = 0;   // unix seconds
  int64_t next_update = 0;  // unix seconds
  std::array<uint8_t, 6> fmspc{};
  std::array<uint8_t, 2> pce_id{};
  int tcb_type = 0;
  int tcb_evaluation_data_number = 0;
  std::optional<TdxModuleIdentity> tdx_module;
  std::vector<TdxModuleIdentity> tdx_module_identities;
  std::vector<TcbLevel> levels;
};

struct QeIdentity {
  std::string id;  // "TD_QE"
  int version = 0;
  int64_t issue_date = 0;
  int64_t next_update = 0;
  int tcb_evaluation_data_number = 0;
  uint32_t misc_select = 0;
  uint32_t misc_select_mask = 0;
  std::array<uint8_t, 16> attributes{};
  std::array<uint8_t, 16> attributes_mask{};
  std::array<uint8_t, 32> mr_signer{};
  uint16_t isv_prod_id = 0;
  std::vector<IsvTcbLevel> levels;
};

struct Collateral {
  std::string pck_crl_issuer_chain;  // PEM
  std::vector<uint8_t> root_ca_crl;  // DER
  std::vector<uint8_t> pck_crl;      // DER
  std::string tcb_info_issuer_chain; // PEM: TCB signing certificate, root
  std::string tcb_info_json;         // exact signed bytes
  std::array<uint8_t, 64> tcb_info_signature{};  // raw r||s
  std::string qe_identity_issuer_chain;
  std::string qe_identity_json;      // exact signed bytes
  std::array<uint8_t, 64> qe_identity_signature{};
  std::string pck_certificate_chain;  // optional, "" when absent
  TcbInfo tcb_info;
  QeIdentity qe_identity;
};

// "2025-06-19T10:16:03Z" → unix seconds. Only this exact UTC form is accepted, and only a date and
// time of day that exist (no February 30, no hour 24, no leap second).
absl::StatusOr<int64_t> ParseIsoTime(std::string_view text);

absl::StatusOr<TcbInfo> ParseTcbInfo(std::string_view json);
absl::StatusOr<QeIdentity> ParseQeIdentity(std::string_view json);

// Parses the QuoteCollateralV3 document (at most kCollateralMaxSize bytes), the two signed JSON
// texts inside it and both CRLs' DER framing. Checks nothing that needs a key or a clock.
absl::StatusOr<Collateral> ParseCollateral(std::string_view json);

}  // namespace cai
