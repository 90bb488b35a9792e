#include "lib/attestation/tdx_verify.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/attestation/ec_crypto.h"
#include "lib/attestation/pck_extension.h"
#include "lib/common/hex.h"

namespace cai {
namespace {

std::string Message(const absl::Status& s) { return std::string(s.message()); }

void Record(Verification& v, const char* name, const absl::Status& s, std::string pass_detail) {
  s.ok() ? v.Pass(name, std::move(pass_detail)) : v.Fail(name, Message(s));
}

absl::StatusOr<std::vector<X509Ptr>> Chain(std::string_view pem) { return ParsePemCertificates(pem, 4); }

// An issuer chain from the collateral (signing certificate, root) verified to a pinned root with
// the root CRL, then the signature over the exact JSON bytes.
absl::Status VerifySignedJson(std::string_view issuer_chain, std::string_view json,
                              std::span<const uint8_t> signature, X509_CRL* root_crl,
                              const TdxVerifyOptions& options) {
  absl::StatusOr<std::vector<X509Ptr>> chain = Chain(issuer_chain);
  if (!chain.ok()) return chain.status();
  ChainCheckOptions chain_options{options.now, options.root_pins, {root_crl}, 0};
  if (absl::Status s = VerifyChainToPinnedRoot(*chain, chain_options); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("issuer chain: ", s.message()));
  }
  EvpPkeyPtr key(X509_get_pubkey(chain->front().get()));
  if (!key) return absl::InvalidArgumentError("issuer certificate has no usable key");
  std::span<const uint8_t> message(reinterpret_cast<const uint8_t*>(json.data()), json.size());
  if (!VerifyEcdsaRaw(key.get(), EVP_sha256(), message, signature).ok()) {
    return absl::InvalidArgumentError("ECDSA signature over the JSON bytes does not verify");
  }
  return absl::OkStatus();
}

absl::Status CheckWindow(int64_t issue, int64_t next, int64_t now) {
  if (now < issue) return absl::InvalidArgumentError(absl::StrCat("not yet valid: issued at ", issue, ", now ", now));
  if (now > next) {
    return absl::InvalidArgumentError(absl::StrCat("collateral expired: next update was ", next, ", now ", now));
  }
  return absl::OkStatus();
}

template <size_t N>
bool MaskedEqual(const std::array<uint8_t, N>& value, const std::array<uint8_t, N>& expected,
                 const std::array<uint8_t, N>& mask) {
  for (size_t i = 0; i < N; ++i) {
    if ((value[i] & mask[i]) != (expected[i] & mask[i])) return false;
  }
  return true;
}

// Levels come sorted newest first; the first one the QE's ISV SVN reaches applies.
const IsvTcbLevel* FindIsvLevel(const std::vector<IsvTcbLevel>& levels, uint16_t isv_svn) {
  for (const IsvTcbLevel& l : levels) {
    if (isv_svn >= l.isv_svn) return &l;
  }
  return nullptr;
}

absl::Status CheckQeIdentity(const QeIdentity& id, const QeReport& qe) {
  if (id.id != "TD_QE") return absl::InvalidArgumentError(absl::StrCat("QE identity id is \"", id.id, "\", not TD_QE"));
  if (id.version != 2 && id.version != 3) return absl::InvalidArgumentError("QE identity version is not 2 or 3");
  if (qe.mr_signer != id.mr_signer) return absl::InvalidArgumentError("QE MRSIGNER differs from the QE identity");
  if (qe.isv_prod_id != id.isv_prod_id) return absl::InvalidArgumentError("QE ISVPRODID differs from the QE identity");
  if ((qe.misc_select & id.misc_select_mask) != (id.misc_select & id.misc_select_mask)) {
    return absl::InvalidArgumentError("QE MISCSELECT differs from the QE identity under its mask");
  }
  if (!MaskedEqual(qe.attributes, id.attributes, id.attributes_mask)) {
    return absl::InvalidArgumentError("QE attributes differ from the QE identity under its mask");
  }
  return absl::OkStatus();
}

const TcbLevel* FindPlatformLevel(const TcbInfo& info, const PckExtension& pck, const TdReportBody& body) {
  // Newer Intel QVL skips the two module-version bytes when tdxModuleIdentities decide them.
  const size_t tdx_start = info.version > 3 && body.tee_tcb_svn[1] > 0 ? 2 : 0;
  for (const TcbLevel& level : info.levels) {
    bool ok = pck.pce_svn >= level.pce_svn;
    for (size_t i = 0; ok && i < 16; ++i) ok = pck.component_svns[i] >= level.sgx_components[i];
    for (size_t i = tdx_start; ok && i < 16; ++i) ok = body.tee_tcb_svn[i] >= level.tdx_components[i];
    if (ok) return &level;
  }
  return nullptr;
}

struct Merged {
  TcbStatus status = TcbStatus::kUpToDate;
  std::set<std::string> advisories;
  void Add(TcbStatus s, const std::vector<std::string>& ids) {
    status = std::max(status, s);
    advisories.insert(ids.begin(), ids.end());
  }
};

// TDX module (B4 step 9); adds its level's status to `merged`.
absl::Status CheckTdxModule(const TcbInfo& info, const TdReportBody& body, Merged& merged, std::string& detail) {
  const uint8_t major = body.tee_tcb_svn[1];
  const TdxModuleIdentity* identity = nullptr;
  std::string wanted = "tdxModule";
  if (major > 0) {
    wanted = absl::StrFormat("TDX_%02X", major);
    for (const TdxModuleIdentity& m : info.tdx_module_identities) {
      if (absl::AsciiStrToUpper(m.id) == wanted) identity = &m;
    }
  } else if (info.tdx_module) {
    identity = &*info.tdx_module;
  }
  if (identity == nullptr) return absl::InvalidArgumentError(absl::StrCat("TCB info has no ", wanted));
  if (identity->mr_signer != body.mr_signer_seam) {
    return absl::InvalidArgumentError(absl::StrCat("MRSIGNERSEAM differs from ", wanted, ".mrsigner"));
  }
  if (!MaskedEqual(body.seam_attributes, identity->attributes, identity->attributes_mask)) {
    return absl::InvalidArgumentError(absl::StrCat("SEAMATTRIBUTES differ from ", wanted, " under its mask"));
  }
  detail = wanted;
  if (identity->levels.empty()) return absl::OkStatus();
  const IsvTcbLevel* level = FindIsvLevel(identity->levels, body.tee_tcb_svn[0]);
  if (level == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("TDX module SVN ", body.tee_tcb_svn[0], " is below every level of ", wanted));
  }
  merged.Add(level->status, level->advisory_ids);
  absl::StrAppend(&detail, " SVN ", body.tee_tcb_svn[0], ": ", TcbStatusName(level->status));
  return absl::OkStatus();
}

absl::Status CheckTdAttributes(const TdReportBody& body, bool allow_debug) {
  uint64_t attrs = 0;
  for (size_t i = 0; i < 8; ++i) attrs |= static_cast<uint64_t>(body.td_attributes[i]) << (8 * i);
  constexpr uint64_t kDebug = 1ull << 0, kSeptVeDisable = 1ull << 28, kPks = 1ull << 30, kKl = 1ull << 31,
                     kPerfmon = 1ull << 63;
  if ((attrs & ~(kDebug | kSeptVeDisable | kPks | kKl | kPerfmon)) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat("reserved TD attribute bits are set: %016x", attrs));
  }
  if ((attrs & kDebug) != 0 && !allow_debug) {
    return absl::InvalidArgumentError("the TD is a DEBUG TD: the host can read its memory");
  }
  if ((attrs & kSeptVeDisable) == 0) return absl::InvalidArgumentError("SEPT_VE_DISABLE is not set");
  return absl::OkStatus();
}

// B4 steps 1, 2, 6, 8, 9, 10 (everything collateral decides).
void CheckCollateral(const TdxQuote& quote, const Collateral& c, X509_CRL* root_crl,
                     const std::optional<PckExtension>& pck, const TdxVerifyOptions& options,
                     TdxVerification& out) {
  Verification& v = out.checks;
  const absl::Status trust[] = {
      VerifySignedJson(c.tcb_info_issuer_chain, c.tcb_info_json, c.tcb_info_signature, root_crl, options),
      CheckWindow(c.tcb_info.issue_date, c.tcb_info.next_update, options.now),
      VerifySignedJson(c.qe_identity_issuer_chain, c.qe_identity_json, c.qe_identity_signature, root_crl, options),
      CheckWindow(c.qe_identity.issue_date, c.qe_identity.next_update, options.now)};
  Record(v, kCheckTcbInfoSignature, trust[0], "signed by the TCB signing key, chained to the pinned root");
  Record(v, kCheckTcbInfoValidity, trust[1],
         absl::StrCat("issued ", c.tcb_info.issue_date, ", next update ", c.tcb_info.next_update));
  Record(v, kCheckQeIdentitySignature, trust[2], "signed by the TCB signing key, chained to the pinned root");
  Record(v, kCheckQeIdentityValidity, trust[3],
         absl::StrCat("issued ", c.qe_identity.issue_date, ", next update ", c.qe_identity.next_update));
  // Levels from collateral that is unsigned or out of date decide nothing.
  for (const absl::Status& s : trust) {
    if (s.ok()) continue;
    for (const char* name : {kCheckQeIdentity, kCheckTcbInfoPlatform, kCheckPlatformTcb, kCheckTdxModule}) {
      v.NotPerformed(name, "the collateral is not valid");
    }
    out.tcb_status_text = "unknown (collateral not valid)";
    v.Fail(kCheckTcbStatus, "unknown (collateral not valid: " + Message(s) + ")");
    return;
  }

  Merged merged;
  bool complete = true;
  absl::Status qe = CheckQeIdentity(c.qe_identity, quote.qe_report);
  const IsvTcbLevel* qe_level = qe.ok() ? FindIsvLevel(c.qe_identity.levels, quote.qe_report.isv_svn) : nullptr;
  if (qe.ok() && qe_level == nullptr) {
    qe = absl::InvalidArgumentError(absl::StrCat("QE ISVSVN ", quote.qe_report.isv_svn, " is below every QE TCB level"));
  }
  if (qe_level != nullptr) merged.Add(qe_level->status, qe_level->advisory_ids);
  complete = complete && qe.ok();
  Record(v, kCheckQeIdentity, qe,
         qe_level ? absl::StrCat("TD_QE matches; ISVSVN ", quote.qe_report.isv_svn, ": ", TcbStatusName(qe_level->status))
                  : "");

  const TcbInfo& info = c.tcb_info;
  absl::Status platform = absl::OkStatus();
  if (info.id != "TDX" || info.version < 3) {
    platform = absl::InvalidArgumentError(absl::StrCat("TCB info is \"", info.id, "\" version ", info.version,
                                                       ", not TDX version >= 3"));
  } else if (!pck) {
    platform = absl::InvalidArgumentError("the PCK certificate's SGX extension is unavailable");
  } else if (pck->fmspc != info.fmspc) {
    platform = absl::InvalidArgumentError(absl::StrCat("FMSPC ", HexEncode(pck->fmspc), " differs from the TCB info's ",
                                                       HexEncode(info.fmspc)));
  } else if (pck->pce_id != info.pce_id) {
    platform = absl::InvalidArgumentError("PCE-ID differs from the TCB info's");
  }
  complete = complete && platform.ok();
  Record(v, kCheckTcbInfoPlatform, platform, absl::StrCat("FMSPC ", pck ? HexEncode(pck->fmspc) : ""));

  if (platform.ok()) {
    const TcbLevel* level = FindPlatformLevel(info, *pck, quote.body);
    if (level == nullptr) {
      complete = false;
      v.Fail(kCheckPlatformTcb, absl::StrCat("no TCB level matches PCESVN ", pck->pce_svn, ", SGX components ",
                                             HexEncode(pck->component_svns), " and TEE_TCB_SVN ",
                                             HexEncode(quote.body.tee_tcb_svn)));
    } else {
      merged.Add(level->status, level->advisory_ids);
      v.Pass(kCheckPlatformTcb, absl::StrCat(TcbStatusName(level->status), " (level of ", level->tcb_date, ")"));
    }
    std::string module_detail;
    absl::Status module = CheckTdxModule(info, quote.body, merged, module_detail);
    complete = complete && module.ok();
    Record(v, kCheckTdxModule, module, module_detail);
  } else {
    v.NotPerformed(kCheckPlatformTcb, "the TCB info does not apply to this platform");
    v.NotPerformed(kCheckTdxModule, "the TCB info does not apply to this platform");
    complete = false;
  }

  if (!complete) {
    out.tcb_status_text = "unknown (no matching TCB level)";
    v.Fail(kCheckTcbStatus, "the TCB status cannot be determined: " + out.tcb_status_text);
    return;
  }
  out.tcb_status = merged.status;
  out.tcb_status_text = TcbStatusName(merged.status);
  out.advisory_ids.assign(merged.advisories.begin(), merged.advisories.end());
  std::string detail = out.tcb_status_text;
  if (!out.advisory_ids.empty()) {
    absl::StrAppend(&detail, "; advisories:");
    for (const std::string& id : out.advisory_ids) absl::StrAppend(&detail, " ", id);
  }
  if (merged.status == TcbStatus::kRevoked) {
    v.Fail(kCheckTcbStatus, "TCB is Revoked");
  } else {
    v.Pass(kCheckTcbStatus, detail);
  }
}

}  // namespace

TdxVerification VerifyTdxQuote(const TdxQuote& quote, const std::optional<Collateral>& collateral,
                               const TdxVerifyOptions& options) {
  TdxVerification out;
  Verification& v = out.checks;
  // The parser rejects anything else; say so explicitly in the report.
  v.Pass(kCheckQuoteHeader, absl::StrCat("version ", quote.header.version,
                                         ", ECDSA P-256 attestation key, TDX, Intel QE vendor id"));

  // CRLs from the collateral: revocation of every certificate of the PCK chain.
  X509CrlPtr root_crl, pck_crl;
  absl::Status crl_status = absl::OkStatus();
  if (collateral) {
    absl::StatusOr<X509CrlPtr> r = ParseCrlDer(collateral->root_ca_crl);
    absl::StatusOr<X509CrlPtr> p = ParseCrlDer(collateral->pck_crl);
    if (r.ok() && p.ok()) {
      root_crl = std::move(*r);
      pck_crl = std::move(*p);
    } else {
      crl_status = !r.ok() ? r.status() : p.status();
    }
  }

  std::optional<PckExtension> pck;
  absl::StatusOr<std::vector<X509Ptr>> chain = Chain(quote.pck_chain_pem);
  if (!chain.ok()) {
    v.Fail(kCheckPckChain, Message(chain.status()));
  } else if (!crl_status.ok()) {
    v.Fail(kCheckPckChain, "collateral CRL: " + Message(crl_status));
  } else {
    ChainCheckOptions chain_options{options.now, options.root_pins, {}, 3};
    if (collateral) chain_options.crls = {root_crl.get(), pck_crl.get()};
    Record(v, kCheckPckChain, VerifyChainToPinnedRoot(*chain, chain_options),
           collateral ? "PCK leaf → PCK CA → pinned root, not revoked (root and PCK CRLs)"
                      : "PCK leaf → PCK CA → pinned root (no collateral: CRLs not checked)");
    absl::StatusOr<PckExtension> ext = ParsePckExtension(chain->front().get());
    if (ext.ok()) {
      pck = *ext;
      v.Pass(kCheckPckExtension, absl::StrCat("FMSPC ", HexEncode(pck->fmspc), ", PCESVN ", pck->pce_svn));
    } else {
      v.Fail(kCheckPckExtension, Message(ext.status()));
    }
  }

  Record(v, kCheckQeReportSignature, VerifyQeReportSignature(quote), "ECDSA P-256 by the PCK leaf key");
  Record(v, kCheckQeReportBinding, VerifyQeReportBinding(quote),
         "sha256(attestation key || QE auth data) = QE report_data[0:32]");
  Record(v, kCheckQuoteSignature, VerifyQuoteSignature(quote), "ECDSA P-256 by the attestation key");

  if (collateral) {
    v.Pass(kCheckCollateral, "TCB info and QE identity supplied");
    CheckCollateral(quote, *collateral, root_crl.get(), pck, options, out);
  } else {
    v.NotPerformed(kCheckCollateral, "no collateral supplied");
    out.tcb_status_text = "unknown (no collateral)";
    v.NotPerformed(kCheckTcbStatus, "unknown (no collateral): TCB info, QE identity and CRLs not checked");
  }

  Record(v, kCheckTdAttributes, CheckTdAttributes(quote.body, options.dangerous_allow_debug),
         quote.body.debug() ? "DEBUG TD accepted because dangerous_allow_debug is set"
                            : "not DEBUG, no reserved bits, SEPT_VE_DISABLE set");
  if (quote.body.type == TdxBodyType::kTd15) {
    const bool zero = std::all_of(quote.body.mr_servicetd.begin(), quote.body.mr_servicetd.end(),
                                  [](uint8_t b) { return b == 0; });
    v.Add(kCheckServiceTd, zero ? CheckStatus::kPass : CheckStatus::kFail,
          zero ? "MRSERVICETD is zero" : "MRSERVICETD is not zero: a service TD is bound to this TD");
  }
  return out;
}

}  // namespace cai
