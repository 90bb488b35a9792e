#pragma once

// The dstack guest agent's answers, parsed. The agent is another program on the other end of a
// socket, so its bytes are checked like any outside input. Layout: shared/reference/
// attestation-formats.md A4. Errors are Unavailable: the agent failed, not the caller.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "services/attestor/providers.h"

namespace cai {

// An answer to `target`: a 200 with a JSON object that carries no "error", else the agent's own
// words for the failure (truncated).
absl::StatusOr<nlohmann::json> ParseAgentAnswer(std::string_view target, int http_status, const std::string& body);

// /GetQuote's answer: the quote (hex, at most kTdxQuoteMaxSize bytes, a TDX quote whose
// REPORTDATA is `report_data`), and event_log / vm_config when present (JSON text).
absl::StatusOr<TdxEvidence> ParseGetQuoteAnswer(const nlohmann::json& answer, std::span<const uint8_t, 64> report_data);

// The /Info fields worth publishing (the app's and image's identity), as JSON text with the socket.
std::string PublishedInfo(const nlohmann::json& agent_info, const std::string& socket_path);

}  // namespace cai
