#include "services/edge/openai/render.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "services/edge/openai/json_text.h"

namespace cai::openai {
namespace {

using Json = nlohmann::ordered_json;

std::string Event(const Json& json) { return "data: " + JsonText(json) + "\n\n"; }

Json FinishJson(FinishReason finish) {
  switch (finish) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kToolCalls: return "tool_calls";
    case FinishReason::kNone: break;
  }
  return nullptr;
}

Json UsageJson(const Usage& usage) {
  return Json{{"prompt_tokens", usage.prompt_tokens},
              {"completion_tokens", usage.completion_tokens},
              {"total_tokens", uint64_t{usage.prompt_tokens} + usage.completion_tokens}};
}

// The float's shortest decimal form (-0.31725305, not -0.3172530531883240), as a JSON number.
Json Number(float value) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  double out = 0;
  std::from_chars(buffer, end, out);
  return out;
}

Json ByteArray(std::string_view bytes) {
  Json out = Json::array();
  for (char c : bytes) out.push_back(static_cast<unsigned char>(c));
  return out;
}

Json NumberOrNull(std::optional<float> value) { return value ? Number(*value) : Json(nullptr); }

Json TokenJson(const std::string& token, std::optional<float> logprob, const std::string& bytes) {
  Json json;
  json["token"] = token;
  json["logprob"] = NumberOrNull(logprob);
  json["bytes"] = ByteArray(bytes);
  return json;
}

Json LogprobsJson(Api api, const Logprobs* logprobs) {
  if (logprobs == nullptr) return nullptr;
  Json json;
  if (api == Api::kChat) {
    json["content"] = Json::array();
    for (const TokenLogprob& token : logprobs->tokens) {
      Json entry = TokenJson(token.token, token.logprob, token.bytes);
      entry["top_logprobs"] = Json::array();
      for (const TopLogprob& top : token.top_logprobs) {
        entry["top_logprobs"].push_back(TokenJson(top.token, top.logprob, top.bytes));
      }
      json["content"].push_back(std::move(entry));
    }
    json["refusal"] = nullptr;
    return json;
  }
  Json tokens = Json::array(), token_logprobs = Json::array(), tops = Json::array(), offsets = Json::array();
  int64_t offset = logprobs->text_offset;
  for (const TokenLogprob& token : logprobs->tokens) {
    tokens.push_back(token.token);
    token_logprobs.push_back(NumberOrNull(token.logprob));
    Json top = token.logprob ? Json::object() : Json(nullptr);
    for (const TopLogprob& alternative : token.top_logprobs) {
      if (!top.contains(alternative.token)) top[alternative.token] = Number(alternative.logprob);
    }
    tops.push_back(std::move(top));
    offsets.push_back(offset);
    offset += CountChars(token.token);
  }
  json["tokens"] = std::move(tokens);
  json["token_logprobs"] = std::move(token_logprobs);
  json["top_logprobs"] = std::move(tops);
  json["text_offset"] = std::move(offsets);
  return json;
}

// A call as a message holds it, after `head` (a delta's "index"): {"id", "type": "function",
// "function": {"name", "arguments"}}.
Json ToolCallJson(Json head, const ToolCall& call) {
  head["id"] = call.id;
  head["type"] = "function";
  head["function"]["name"] = call.name;
  head["function"]["arguments"] = call.arguments;
  return head;
}

Json Envelope(const ResponseHeader& header, const char* object) {
  Json json;
  json["id"] = header.id;
  json["object"] = object;
  json["created"] = header.created;
  json["model"] = header.model;
  return json;
}

// One stream chunk with a single choice; `body` holds "delta" (chat) or "text" (completions).
std::string Chunk(Api api, const ResponseHeader& header, int index, Json body, Json logprobs,
                  FinishReason finish, bool include_usage) {
  Json json = Envelope(header, api == Api::kChat ? "chat.completion.chunk" : "text_completion");
  Json choice;
  choice["index"] = index;
  for (auto& [key, value] : body.items()) choice[key] = value;
  choice["logprobs"] = std::move(logprobs);
  choice["finish_reason"] = FinishJson(finish);
  json["choices"] = Json::array({choice});
  if (include_usage) json["usage"] = nullptr;
  return Event(json);
}

Json Text(Api api, std::string_view text) {
  Json body;
  if (api == Api::kChat) {
    body["delta"]["content"] = text;
  } else {
    body["text"] = text;
  }
  return body;
}

}  // namespace

std::string RenderCompletion(Api api, const ResponseHeader& header, const std::vector<Choice>& choices,
                             const Usage& usage) {
  Json json = Envelope(header, api == Api::kChat ? "chat.completion" : "text_completion");
  json["choices"] = Json::array();
  for (const Choice& in : choices) {
    Json choice;
    choice["index"] = in.index;
    if (api == Api::kChat && in.tool_call) {
      choice["message"]["role"] = "assistant";
      // Text before the call (inference sends none today) stays, as the stream showed it.
      choice["message"]["content"] = in.text.empty() ? Json(nullptr) : Json(in.text);
      choice["message"]["tool_calls"] = Json::array({ToolCallJson(Json::object(), *in.tool_call)});
    } else if (api == Api::kChat) {
      choice["message"]["role"] = "assistant";
      choice["message"]["content"] = in.text;
    } else {
      choice["text"] = in.text;
    }
    choice["logprobs"] = LogprobsJson(api, in.logprobs ? &*in.logprobs : nullptr);
    choice["finish_reason"] = FinishJson(in.finish);
    json["choices"].push_back(std::move(choice));
  }
  json["usage"] = UsageJson(usage);
  return JsonText(json);
}

std::string RenderCompletion(Api api, const ResponseHeader& header, std::string_view text,
                             FinishReason finish, const Usage& usage) {
  return RenderCompletion(api, header, {Choice{.index = 0, .text = std::string(text), .finish = finish,
                                               .logprobs = std::nullopt, .tool_call = std::nullopt}},
                          usage);
}

std::string RoleEvent(const ResponseHeader& header, bool include_usage, int index, std::string_view content) {
  Json body;
  body["delta"]["role"] = "assistant";
  body["delta"]["content"] = content;
  return Chunk(Api::kChat, header, index, body, nullptr, FinishReason::kNone, include_usage);
}

std::string ContentEvent(Api api, const ResponseHeader& header, std::string_view text, bool include_usage,
                         int index, const Logprobs* logprobs) {
  return Chunk(api, header, index, Text(api, text), LogprobsJson(api, logprobs), FinishReason::kNone,
               include_usage);
}

std::string ToolCallStartEvent(const ResponseHeader& header, const ToolCall& call, bool include_usage, int index,
                               const Logprobs* logprobs) {
  // A choice makes at most one call, so its index among the message's calls is always 0.
  Json body;
  body["delta"]["tool_calls"] = Json::array({ToolCallJson(Json{{"index", 0}}, call)});
  return Chunk(Api::kChat, header, index, body, LogprobsJson(Api::kChat, logprobs), FinishReason::kNone,
               include_usage);
}

std::string ToolCallArgumentsEvent(const ResponseHeader& header, std::string_view arguments, bool include_usage,
                                   int index, const Logprobs* logprobs) {
  Json call;
  call["index"] = 0;
  call["function"]["arguments"] = arguments;
  Json body;
  body["delta"]["tool_calls"] = Json::array({call});
  return Chunk(Api::kChat, header, index, body, LogprobsJson(Api::kChat, logprobs), FinishReason::kNone,
               include_usage);
}

std::string FinishEvent(Api api, const ResponseHeader& header, FinishReason finish, bool include_usage,
                        int index) {
  Json body;
  if (api == Api::kChat) {
    body["delta"] = Json::object();
  } else {
    body["text"] = "";
  }
  return Chunk(api, header, index, body, nullptr, finish, include_usage);
}

std::string UsageEvent(Api api, const ResponseHeader& header, const Usage& usage) {
  Json json = Envelope(header, api == Api::kChat ? "chat.completion.chunk" : "text_completion");
  json["choices"] = Json::array();
  json["usage"] = UsageJson(usage);
  return Event(json);
}

std::string ErrorEvent(const ApiError& error) { return "data: " + RenderError(error) + "\n\n"; }

int64_t CountChars(std::string_view text) {
  int64_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return count;
}

}  // namespace cai::openai
