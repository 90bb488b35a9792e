#pragma once

// Policy over a parsed TDX quote: every check of reference B4, in its order, each reported as
// pass / fail / not performed. Parsing is tdx_quote.h, collateral is collateral.h; this file only
// decides.
//
// Without collateral the signatures, the QE binding and the PCK chain up to the pinned root are
// still checked (no CRLs), and the TCB status is "unknown (no collateral)", reported as not
// performed: a verification without collateral never claims a TCB status.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/attestation/collateral.h"
#include "lib/attestation/tdx_quote.h"
#include "lib/attestation/trust_anchors.h"
#include "lib/attestation/verification.h"

namespace cai {

struct TdxVerifyOptions {
  int64_t now = 0;  // unix seconds: certificate, CRL and collateral validity
  // The PCK chain, the TCB info chain and the QE identity chain must end in a root with one of
  // these hashes. Pass simulated roots only when the user explicitly allowed simulated evidence.
  std::vector<CertificatePin> root_pins = {kIntelSgxRootCaPin};
  // Accepts TDs with the DEBUG attribute, whose memory the host can read. Never in production.
  bool dangerous_allow_debug = false;
};

struct TdxVerification {
  Verification checks;
  // Merged TCB status when it was determined from collateral.
  std::optional<TcbStatus> tcb_status;
  // The status as text: "UpToDate", ..., or "unknown (no collateral)" / "unknown (...)".
  std::string tcb_status_text;
  std::vector<std::string> advisory_ids;  // union over the matched levels, sorted

  bool ok() const { return checks.ok(); }
};

// Check names, stable for callers and tests.
inline constexpr char kCheckQuoteHeader[] = "quote header";
inline constexpr char kCheckPckChain[] = "PCK certificate chain";
inline constexpr char kCheckPckExtension[] = "PCK SGX extension";
inline constexpr char kCheckQeReportSignature[] = "QE report signature";
inline constexpr char kCheckQeReportBinding[] = "QE report data binds the attestation key";
inline constexpr char kCheckQuoteSignature[] = "quote signature";
inline constexpr char kCheckCollateral[] = "collateral";
inline constexpr char kCheckTcbInfoSignature[] = "TCB info signature";
inline constexpr char kCheckTcbInfoValidity[] = "TCB info validity";
inline constexpr char kCheckQeIdentitySignature[] = "QE identity signature";
inline constexpr char kCheckQeIdentityValidity[] = "QE identity validity";
inline constexpr char kCheckQeIdentity[] = "QE identity";
inline constexpr char kCheckTcbInfoPlatform[] = "TCB info is for this platform";
inline constexpr char kCheckPlatformTcb[] = "platform TCB level";
inline constexpr char kCheckTdxModule[] = "TDX module identity";
inline constexpr char kCheckTcbStatus[] = "TCB status";
inline constexpr char kCheckTdAttributes[] = "TD attributes";
inline constexpr char kCheckServiceTd[] = "TD 1.5 service TD";

TdxVerification VerifyTdxQuote(const TdxQuote& quote, const std::optional<Collateral>& collateral,
                               const TdxVerifyOptions& options);

}  // namespace cai
