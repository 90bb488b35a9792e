#include "services/attestor/dstack_answers.h"

#include "absl/strings/str_cat.h"
#include "lib/attestation/tdx_quote.h"
#include "lib/common/hex.h"
#include "services/attestor/quote_binding.h"

namespace cai {
namespace {

// /Info fields worth publishing: identity of the app and of the image it runs in.
constexpr const char* kInfoFields[] = {"app_id",        "instance_id",   "app_name",     "device_id",
                                       "compose_hash",  "os_image_hash", "mr_aggregated", "key_provider_info"};
constexpr size_t kMaxInfoValueSize = 4096;
constexpr size_t kMaxErrorTextSize = 300;

std::string Truncated(std::string text) {
  if (text.size() > kMaxErrorTextSize) text = text.substr(0, kMaxErrorTextSize) + "...";
  return text;
}

// The agent's own words for a failure: {"error": "..."} when it sent that, else the raw body.
std::string ErrorText(const nlohmann::json& json, const std::string& body) {
  if (json.is_object() && json.contains("error")) {
    const nlohmann::json& error = json["error"];
    return Truncated(error.is_string() ? error.get<std::string>() : error.dump());
  }
  return Truncated(body);
}

// A string field holding JSON text ("" if absent); anything else is an error.
absl::StatusOr<std::string> JsonTextField(const nlohmann::json& object, const char* field) {
  if (!object.contains(field)) return std::string();
  if (!object[field].is_string())
    return absl::UnavailableError(absl::StrCat("dstack GetQuote: ", field, " is not a string"));
  std::string text = object[field].get<std::string>();
  if (!text.empty() && !nlohmann::json::accept(text))
    return absl::UnavailableError(absl::StrCat("dstack GetQuote: ", field, " is not JSON text"));
  return text;
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseAgentAnswer(std::string_view target_view, int http_status,
                                                const std::string& body) {
  const std::string target(target_view);  // Debian's abseil takes no std::string_view
  nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (http_status != 200) {
    return absl::UnavailableError(
        absl::StrCat("dstack agent answered ", target, " with HTTP ", http_status, ": ", ErrorText(json, body)));
  }
  if (!json.is_object()) {
    return absl::UnavailableError(absl::StrCat("dstack agent answered ", target, " with something not a JSON object"));
  }
  if (json.contains("error")) {
    return absl::UnavailableError(absl::StrCat("dstack agent answered ", target, " with an error: ", ErrorText(json, body)));
  }
  return json;
}

absl::StatusOr<TdxEvidence> ParseGetQuoteAnswer(const nlohmann::json& answer, std::span<const uint8_t, 64> report_data) {
  if (!answer.contains("quote") || !answer["quote"].is_string())
    return absl::UnavailableError("dstack GetQuote: the answer has no quote");
  const std::string& quote_hex = answer["quote"].get_ref<const std::string&>();
  if (quote_hex.size() > 2 * kTdxQuoteMaxSize)
    return absl::UnavailableError(absl::StrCat("dstack GetQuote: quote larger than ", kTdxQuoteMaxSize, " bytes"));
  absl::StatusOr<std::vector<uint8_t>> quote = HexDecode(quote_hex);
  if (!quote.ok())
    return absl::UnavailableError(absl::StrCat("dstack GetQuote: quote is not hex: ", quote.status().message()));
  absl::Status bound = CheckQuoteReportData(*quote, report_data, "dstack agent");
  if (!bound.ok()) return bound;

  TdxEvidence evidence;
  evidence.quote = std::move(*quote);
  absl::StatusOr<std::string> event_log = JsonTextField(answer, "event_log");
  if (!event_log.ok()) return event_log.status();
  absl::StatusOr<std::string> vm_config = JsonTextField(answer, "vm_config");
  if (!vm_config.ok()) return vm_config.status();
  evidence.event_log = std::move(*event_log);
  evidence.vm_config = std::move(*vm_config);
  return evidence;
}

std::string PublishedInfo(const nlohmann::json& agent_info, const std::string& socket_path) {
  nlohmann::json info = {{"dstack_socket", socket_path}};
  for (const char* field : kInfoFields) {
    auto it = agent_info.find(field);
    if (it == agent_info.end() || !it->is_string()) continue;
    const std::string& value = it->get_ref<const std::string&>();
    if (value.size() <= kMaxInfoValueSize) info[field] = value;
  }
  return info.dump();
}

}  // namespace cai
