#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "services/edge/openai/api_error.h"

namespace cai::openai {

// Renders responses as compact JSON with a fixed field order, so the bytes a client receives (and
// the signature covers) are fully determined by the inputs.

enum class Api { kChat, kText };  // /v1/chat/completions or /v1/completions
enum class FinishReason { kNone, kStop, kLength };

struct Usage {
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
};

struct ResponseHeader {
  std::string id;     // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;  // unix seconds
  std::string model;
};

inline constexpr std::string_view kDoneEvent = "data: [DONE]\n\n";

// The whole non-stream body: object "chat.completion" or "text_completion".
std::string RenderCompletion(Api api, const ResponseHeader& header, std::string_view text,
                             FinishReason finish, const Usage& usage);

// Stream events, each "data: <json>\n\n". Chunks carry "usage":null only when include_usage.
// Chat streams open with a role event (delta {"role":"assistant","content":""}).
std::string RoleEvent(const ResponseHeader& header, bool include_usage);
std::string ContentEvent(Api api, const ResponseHeader& header, std::string_view text, bool include_usage);
// The last choice chunk: empty delta (chat) or empty text, with the finish reason.
std::string FinishEvent(Api api, const ResponseHeader& header, FinishReason finish, bool include_usage);
// The extra chunk before [DONE] when include_usage: "choices":[] and the full usage.
std::string UsageEvent(Api api, const ResponseHeader& header, const Usage& usage);
// An error after the stream started: data: {"error":{...}}.
std::string ErrorEvent(const ApiError& error);

}  // namespace cai::openai
