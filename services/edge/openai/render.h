#pragma once

#include <cstdint>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include "services/edge/openai/api_error.h"
#include "services/edge/openai/chat_request.h"

namespace cai::openai {

// Renders responses as compact JSON with a fixed field order, so the bytes a client receives (and
// the signature covers) are fully determined by the inputs.

enum class Api { kChat, kText };  // /v1/chat/completions or /v1/completions
enum class FinishReason { kNone, kStop, kLength, kToolCalls };

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

struct TopLogprob {
  std::string token;  // valid UTF-8 (inference replaces partial characters with U+FFFD)
  float logprob = 0;
  std::string bytes;  // the token's raw bytes, rendered as an array of byte values
};

struct TokenLogprob {
  std::string token;
  std::optional<float> logprob;  // none for an echoed prompt's first token: renders null
  std::string bytes;
  std::vector<TopLogprob> top_logprobs;
};

// Logprobs of some tokens of one choice. Chat renders {"content":[{token,logprob,bytes,
// top_logprobs}],"refusal":null}; text completions the legacy {"tokens","token_logprobs",
// "top_logprobs":[{token:logprob}],"text_offset"}, where text_offset counts characters of the
// token strings from `text_offset` (the characters of this choice's earlier tokens), and a token
// without a logprob has null for its logprob and for its alternatives.
struct Logprobs {
  std::vector<TokenLogprob> tokens;
  int64_t text_offset = 0;
};

struct Choice {
  int index = 0;
  std::string text;
  FinishReason finish = FinishReason::kNone;
  std::optional<Logprobs> logprobs;  // nullopt: not requested, renders null
  // Chat: the call this choice made; its message then has "tool_calls": [the call], and "content"
  // null unless there was text before it.
  std::optional<ToolCall> tool_call;
};

// The whole non-stream body: object "chat.completion" or "text_completion", choices in order.
std::string RenderCompletion(Api api, const ResponseHeader& header, const std::vector<Choice>& choices,
                             const Usage& usage);
// One choice (index 0) without logprobs.
std::string RenderCompletion(Api api, const ResponseHeader& header, std::string_view text,
                             FinishReason finish, const Usage& usage);

// Stream events, each "data: <json>\n\n". Chunks carry "usage":null only when include_usage.
// Chat streams open with a role event per choice (delta {"role":"assistant","content":""}, or with
// end-to-end encryption the empty text sealed).
std::string RoleEvent(const ResponseHeader& header, bool include_usage, int index = 0, std::string_view content = "");
std::string ContentEvent(Api api, const ResponseHeader& header, std::string_view text, bool include_usage,
                         int index = 0, const Logprobs* logprobs = nullptr);
// A chat choice's tool call, streamed as OpenAI does: the first chunk has its id, type and name and
// the first piece of its arguments (call.arguments, maybe ""); each later one the next piece.
std::string ToolCallStartEvent(const ResponseHeader& header, const ToolCall& call, bool include_usage, int index = 0,
                               const Logprobs* logprobs = nullptr);
std::string ToolCallArgumentsEvent(const ResponseHeader& header, std::string_view arguments, bool include_usage,
                                   int index = 0, const Logprobs* logprobs = nullptr);
// A choice's last chunk: empty delta (chat) or empty text, with the finish reason.
std::string FinishEvent(Api api, const ResponseHeader& header, FinishReason finish, bool include_usage,
                        int index = 0);

// Characters (code points) of valid UTF-8 `text`: the unit of text_offset.
int64_t CountChars(std::string_view text);
// The extra chunk before [DONE] when include_usage: "choices":[] and the full usage.
std::string UsageEvent(Api api, const ResponseHeader& header, const Usage& usage);
// An error after the stream started: data: {"error":{...}}.
std::string ErrorEvent(const ApiError& error);

}  // namespace cai::openai
