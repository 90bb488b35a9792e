// Fuzzes what the attestor reads from the dstack guest agent: an HTTP status and body, checked as
// an answer, then as a /GetQuote answer bound to a report_data, and its published /Info fields.
// Input: one byte for the status (0: 200, else that byte), 64 bytes of report_data, the body.
// Oracle beyond "no crash": accepted evidence holds a quote of bounded size and JSON texts, and
// the published info is JSON.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "lib/attestation/tdx_quote.h"
#include "services/attestor/dstack_answers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 65) return 0;
  const int status = data[0] == 0 ? 200 : data[0];
  const std::span<const uint8_t, 64> report_data(data + 1, 64);
  const std::string body(reinterpret_cast<const char*>(data + 65), size - 65);
  absl::StatusOr<nlohmann::json> answer = cai::ParseAgentAnswer("/GetQuote", status, body);
  if (!answer.ok()) return 0;
  if (!nlohmann::json::accept(cai::PublishedInfo(*answer, "/run/dstack.sock"))) std::abort();
  absl::StatusOr<cai::TdxEvidence> evidence = cai::ParseGetQuoteAnswer(*answer, report_data);
  if (!evidence.ok()) return 0;
  if (evidence->quote.empty() || evidence->quote.size() > cai::kTdxQuoteMaxSize) std::abort();
  for (const std::string* text : {&evidence->event_log, &evidence->vm_config}) {
    if (!text->empty() && !nlohmann::json::accept(*text)) std::abort();
  }
  return 0;
}
