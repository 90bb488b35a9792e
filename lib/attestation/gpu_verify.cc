#include "lib/attestation/gpu_verify.h"

#include <openssl/objects.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/attestation/ec_crypto.h"
#include "lib/attestation/nvidia_spdm.h"
#include "lib/common/hex.h"

namespace cai {
namespace {

using nlohmann::json;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// The FWID a leaf certificate carries: the last 48 bytes of its TCG DICE TcbInfo extension
// (2.23.133.5.4.1 on Hopper, 2.23.133.5.4.1.1 on Blackwell).
std::optional<std::vector<uint8_t>> LeafFwid(X509* leaf) {
  for (const char* oid_text : {"2.23.133.5.4.1", "2.23.133.5.4.1.1"}) {
    ASN1_OBJECT* oid = OBJ_txt2obj(oid_text, 1);
    int index = oid ? X509_get_ext_by_OBJ(leaf, oid, -1) : -1;
    ASN1_OBJECT_free(oid);
    if (index < 0) continue;
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(leaf, index));
    const uint8_t* bytes = ASN1_STRING_get0_data(data);
    const size_t len = static_cast<size_t>(ASN1_STRING_length(data));
    if (len < 48) return std::nullopt;
    return std::vector<uint8_t>(bytes + len - 48, bytes + len);
  }
  return std::nullopt;
}

absl::StatusOr<GpuEvidenceItem> ItemFrom(const json& e) {
  if (!e.is_object()) return absl::InvalidArgumentError("GPU evidence item is not an object");
  auto field = [&](const char* key) -> std::string {
    auto it = e.find(key);
    return it != e.end() && it->is_string() ? it->get<std::string>() : "";
  };
  GpuEvidenceItem item;
  item.arch = field("arch");
  absl::StatusOr<std::string> chain = Base64Decode(field("certificate"));
  absl::StatusOr<std::string> report = Base64Decode(field("evidence"));
  if (!chain.ok() || chain->empty()) return absl::InvalidArgumentError("GPU certificate is not base64");
  if (!report.ok() || report->empty()) return absl::InvalidArgumentError("GPU evidence is not base64");
  item.certificate_chain_pem = std::move(*chain);
  item.report.assign(report->begin(), report->end());
  return item;
}

void VerifyOne(const GpuEvidenceItem& item, const GpuVerifyOptions& options, const std::string& prefix,
               GpuVerification& out, std::vector<std::array<uint8_t, 32>>& nonces) {
  Verification& v = out.checks;
  GpuFacts facts;
  absl::StatusOr<SpdmReport> report = ParseSpdmReport(item.report);
  absl::StatusOr<std::vector<X509Ptr>> chain = ParsePemCertificates(item.certificate_chain_pem, 8);
  if (!report.ok()) {
    v.Fail(prefix + kCheckGpuReport, Message(report.status()));
  } else {
    v.Pass(prefix + kCheckGpuReport, absl::StrCat(report->blocks.size(), " measurement blocks, ",
                                                  item.report.size(), " bytes"));
  }
  if (!chain.ok()) {
    v.Fail(prefix + kCheckGpuChain, Message(chain.status()));
  } else {
    ChainCheckOptions chain_options{options.now, options.root_pins, {}, kNvidiaChainLength};
    absl::Status s = VerifyChainToPinnedRoot(*chain, chain_options);
    s.ok() ? v.Pass(prefix + kCheckGpuChain, "5 certificates to the pinned NVIDIA Device Identity CA")
           : v.Fail(prefix + kCheckGpuChain, Message(s));
    facts.leaf_sha256 = PinHex(CertificateSha256(chain->front().get()));
  }
  if (!report.ok() || !chain.ok()) {
    for (const char* name : {kCheckGpuSignature, kCheckGpuFwid, kCheckGpuNonce}) {
      v.Fail(prefix + name, "no parsed report and certificate chain to check");
    }
    out.gpus.push_back(facts);
    return;
  }
  absl::Status sig = VerifySpdmSignature(*report, item.certificate_chain_pem);
  sig.ok() ? v.Pass(prefix + kCheckGpuSignature, "ECDSA P-384 by the leaf key over the whole report")
           : v.Fail(prefix + kCheckGpuSignature, Message(sig));

  std::optional<std::span<const uint8_t>> report_fwid = report->FindOpaque(kSpdmOpaqueFwid);
  std::optional<std::vector<uint8_t>> cert_fwid = LeafFwid(chain->front().get());
  if (!report_fwid) {
    v.NotPerformed(prefix + kCheckGpuFwid, "the report carries no FWID field (older firmware)");
  } else if (!cert_fwid) {
    v.Fail(prefix + kCheckGpuFwid, "the leaf certificate has no DICE TcbInfo FWID");
  } else if (!std::equal(report_fwid->begin(), report_fwid->end(), cert_fwid->begin(), cert_fwid->end())) {
    v.Fail(prefix + kCheckGpuFwid, "the report's FWID differs from the leaf certificate's");
  } else {
    v.Pass(prefix + kCheckGpuFwid, "report FWID = leaf certificate FWID " + HexEncode(*cert_fwid).substr(0, 16) + "…");
  }

  nonces.push_back(report->request_nonce);
  if (!options.expected_nonce) {
    v.NotPerformed(prefix + kCheckGpuNonce,
                   "no expected nonce given; the report answers " + HexEncode(report->request_nonce));
  } else {
    absl::Status n = CheckSpdmNonce(*report, *options.expected_nonce);
    n.ok() ? v.Pass(prefix + kCheckGpuNonce, "request nonce = expected nonce")
           : v.Fail(prefix + kCheckGpuNonce, "the report answers nonce " + HexEncode(report->request_nonce) +
                                                 ", not ours (evidence from another request)");
  }
  facts.driver_version = report->DriverVersion();
  facts.vbios_version = report->VbiosVersion();
  v.NotPerformed(prefix + kCheckGpuOcsp, "needs NVIDIA's online services (ocsp.ndis.nvidia.com)");
  v.NotPerformed(prefix + kCheckGpuRim,
                 absl::StrCat("needs NVIDIA's online services (RIM service); driver ", facts.driver_version,
                              ", VBIOS ", facts.vbios_version, " reported"));
  out.gpus.push_back(std::move(facts));
}

}  // namespace

absl::StatusOr<std::string> Base64Decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return absl::InvalidArgumentError("base64 length is not a multiple of 4");
  std::string out;
  if (!absl::Base64Unescape(clean, &out)) return absl::InvalidArgumentError("not base64");
  return out;
}

absl::StatusOr<GpuEvidenceList> ParseGpuEvidenceJson(std::string_view text) {
  if (text.size() > kGpuEvidenceMaxSize) return absl::InvalidArgumentError("GPU evidence is too large");
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_string()) doc = json::parse(doc.get<std::string>(), nullptr, false);  // nvidia_payload as text
  if (doc.is_discarded()) return absl::InvalidArgumentError("GPU evidence is not JSON");
  GpuEvidenceList list;
  const json* items = nullptr;
  if (doc.is_object()) {
    auto nonce = doc.find("nonce");
    if (nonce != doc.end() && nonce->is_string()) list.nonce_hex = nonce->get<std::string>();
    auto it = doc.find("evidence_list");
    if (it != doc.end()) items = &*it;
  } else if (doc.is_array()) {
    items = &doc;
  }
  if (items == nullptr || !items->is_array()) return absl::InvalidArgumentError("GPU evidence has no evidence list");
  if (items->size() > kMaxGpus) return absl::InvalidArgumentError("GPU evidence has too many items");
  for (const json& e : *items) {
    absl::StatusOr<GpuEvidenceItem> item = ItemFrom(e);
    if (!item.ok()) return item.status();
    if (list.nonce_hex.empty() && e.contains("nonce") && e["nonce"].is_string()) {
      list.nonce_hex = e["nonce"].get<std::string>();
    }
    list.items.push_back(std::move(*item));
  }
  return list;
}

GpuVerification VerifyGpuEvidence(const std::vector<GpuEvidenceItem>& items, const GpuVerifyOptions& options) {
  GpuVerification out;
  Verification& v = out.checks;
  std::vector<std::array<uint8_t, 32>> nonces;
  for (size_t i = 0; i < items.size(); ++i) {
    VerifyOne(items[i], options, absl::StrCat("GPU ", i, ": "), out, nonces);
  }

  if (items.empty()) {
    v.Fail(kCheckGpuCount, "no GPU evidence");
  } else if (options.expected_gpu_count) {
    const size_t want = *options.expected_gpu_count;
    items.size() == want ? v.Pass(kCheckGpuCount, absl::StrCat(want, " GPU(s), as expected"))
                         : v.Fail(kCheckGpuCount, absl::StrCat(items.size(), " GPU(s) attested, expected ", want,
                                                               items.size() < want ? " (a GPU is missing)" : ""));
  } else {
    v.NotPerformed(kCheckGpuCount, absl::StrCat(items.size(), " GPU(s) attested; no expected count given"));
  }

  // The same device twice would hide a missing one. FWIDs are firmware hashes and repeat across
  // GPUs with the same firmware, so devices are told apart by their leaf certificate.
  std::set<std::string> leaves;
  std::string duplicate;
  for (size_t i = 0; i < out.gpus.size(); ++i) {
    const std::string& leaf = out.gpus[i].leaf_sha256;
    if (!leaf.empty() && !leaves.insert(leaf).second) duplicate = absl::StrCat("GPU ", i, " repeats an earlier GPU's evidence");
  }
  if (!items.empty()) {
    duplicate.empty() ? v.Pass(kCheckGpuDistinct, "every GPU has its own leaf certificate")
                      : v.Fail(kCheckGpuDistinct, duplicate + " (same device certificate)");
  }
  if (nonces.size() > 1) {
    const bool same = std::all_of(nonces.begin(), nonces.end(), [&](const auto& n) { return n == nonces[0]; });
    same ? v.Pass(kCheckGpuSameNonce, "all GPUs answered the same nonce")
         : v.Fail(kCheckGpuSameNonce, "the GPUs answered different nonces");
  }
  return out;
}

}  // namespace cai
