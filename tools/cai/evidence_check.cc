#include "tools/cai/evidence_check.h"

#include <cctype>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "lib/attestation/collateral.h"
#include "lib/attestation/event_log.h"
#include "lib/common/hex.h"
#include "tools/cai/json_field.h"
#include "tools/cai/service_check.h"

namespace cai::cli {
namespace {

using nlohmann::json;

// Hex text (whitespace around it, optional 0x) or raw bytes.
std::vector<uint8_t> QuoteBytes(std::string_view data) {
  size_t b = 0, e = data.size();
  while (b < e && std::isspace(static_cast<unsigned char>(data[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(data[e - 1]))) --e;
  absl::StatusOr<std::vector<uint8_t>> hex = HexDecode(data.substr(b, e - b));
  if (hex.ok() && !hex->empty()) return *hex;
  return std::vector<uint8_t>(data.begin(), data.end());
}

}  // namespace

VerifyReport CheckQuoteFile(std::string_view quote_file, const std::optional<std::string>& collateral_json,
                            const TdxVerifyOptions& options) {
  VerifyReport report;
  Checklist& list = report.checklist;
  std::vector<uint8_t> bytes;
  std::string event_log;
  // A JSON object holding "quote" is a dstack /GetQuote response; anything else is the quote itself.
  absl::StatusOr<json> doc = ParseJsonObject(quote_file, "the quote file");
  if (doc.ok() && doc->contains("quote")) {
    absl::StatusOr<std::string> quote_hex = RequiredString(*doc, "", "quote");
    if (!quote_hex.ok()) {
      list.Fail("quote parses", std::string(quote_hex.status().message()));
      return report;
    }
    bytes = QuoteBytes(*quote_hex);
    absl::StatusOr<std::string> log = OptionalString(*doc, "", "event_log");
    if (!log.ok()) {
      list.Fail("event log parses", std::string(log.status().message()));
    } else {
      event_log = std::move(*log);
    }
  } else {
    bytes = QuoteBytes(quote_file);
  }
  absl::StatusOr<TdxQuote> quote = ParseTdxQuote(bytes);
  if (!quote.ok()) {
    list.Fail("quote parses", std::string(quote.status().message()));
    return report;
  }
  list.Pass("quote parses", absl::StrCat("version ", quote->header.version, ", ", bytes.size(), " bytes"));

  std::optional<Collateral> collateral;
  if (collateral_json) {
    absl::StatusOr<Collateral> parsed = ParseCollateral(*collateral_json);
    if (!parsed.ok()) {
      list.Fail("collateral parses", std::string(parsed.status().message()));
      return report;
    }
    collateral = std::move(*parsed);
  }
  TdxVerification result = VerifyTdxQuote(*quote, collateral, options);
  AddVerification(result.checks, "", list);
  if (!event_log.empty()) {
    absl::StatusOr<std::vector<EventLogEntry>> entries = ParseEventLog(event_log);
    if (entries.ok()) {
      AddVerification(VerifyEventLog(*entries, quote->body), "", list);
    } else {
      list.Fail("event log parses", std::string(entries.status().message()));
    }
  }
  std::string advisories;
  for (const std::string& id : result.advisory_ids) absl::StrAppend(&advisories, advisories.empty() ? "" : ", ", id);
  report.extra = {{"tcb_status", result.tcb_status_text}, {"advisory_ids", result.advisory_ids}, {"now", options.now}};
  report.summary.push_back(absl::StrCat("TCB status: ", result.tcb_status_text,
                                        advisories.empty() ? "" : " (advisories: " + advisories + ")"));
  return report;
}

VerifyReport CheckGpuFile(std::string_view evidence_file, const GpuVerifyOptions& options) {
  VerifyReport report;
  Checklist& list = report.checklist;
  // An attestation report from the edge carries the evidence as the string nvidia_payload.
  std::string evidence(evidence_file);
  absl::StatusOr<json> doc = ParseJsonObject(evidence_file, "the evidence file");
  if (doc.ok() && doc->contains("nvidia_payload")) {
    absl::StatusOr<std::string> payload = RequiredString(*doc, "", "nvidia_payload");
    if (!payload.ok()) {
      list.Fail("GPU evidence parses", std::string(payload.status().message()));
      return report;
    }
    evidence = std::move(*payload);
  }
  absl::StatusOr<GpuEvidenceList> gpus = ParseGpuEvidenceJson(evidence);
  if (!gpus.ok()) {
    list.Fail("GPU evidence parses", std::string(gpus.status().message()));
    return report;
  }
  list.Pass("GPU evidence parses", absl::StrCat(gpus->items.size(), " GPU(s), document nonce ", gpus->nonce_hex));
  GpuVerification result = VerifyGpuEvidence(gpus->items, options);
  AddVerification(result.checks, "", list);
  json gpu_facts = json::array();
  for (size_t i = 0; i < result.gpus.size(); ++i) {
    const GpuFacts& f = result.gpus[i];
    gpu_facts.push_back({{"driver_version", f.driver_version}, {"vbios_version", f.vbios_version},
                         {"leaf_certificate_sha256", f.leaf_sha256}});
    report.summary.push_back(absl::StrCat("GPU ", i, ": driver ", f.driver_version, ", VBIOS ", f.vbios_version));
  }
  report.extra = {{"gpus", gpu_facts}};
  return report;
}

}  // namespace cai::cli
