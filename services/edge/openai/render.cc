#include "services/edge/openai/render.h"

#include <nlohmann/json.hpp>

namespace cai::openai {
namespace {

using Json = nlohmann::ordered_json;

std::string Dump(const Json& json) {
  // Inference sends whole UTF-8 characters; replace anything else rather than fail mid-response.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Event(const Json& json) { return "data: " + Dump(json) + "\n\n"; }

Json FinishJson(FinishReason finish) {
  switch (finish) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kNone: break;
  }
  return nullptr;
}

Json UsageJson(const Usage& usage) {
  return Json{{"prompt_tokens", usage.prompt_tokens},
              {"completion_tokens", usage.completion_tokens},
              {"total_tokens", uint64_t{usage.prompt_tokens} + usage.completion_tokens}};
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
std::string Chunk(Api api, const ResponseHeader& header, Json body, FinishReason finish,
                  bool include_usage) {
  Json json = Envelope(header, api == Api::kChat ? "chat.completion.chunk" : "text_completion");
  Json choice;
  choice["index"] = 0;
  for (auto& [key, value] : body.items()) choice[key] = value;
  choice["logprobs"] = nullptr;
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

std::string RenderCompletion(Api api, const ResponseHeader& header, std::string_view text,
                             FinishReason finish, const Usage& usage) {
  Json json = Envelope(header, api == Api::kChat ? "chat.completion" : "text_completion");
  Json choice;
  choice["index"] = 0;
  if (api == Api::kChat) {
    choice["message"]["role"] = "assistant";
    choice["message"]["content"] = text;
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = FinishJson(finish);
  json["choices"] = Json::array({choice});
  json["usage"] = UsageJson(usage);
  return Dump(json);
}

std::string RoleEvent(const ResponseHeader& header, bool include_usage) {
  Json body;
  body["delta"]["role"] = "assistant";
  body["delta"]["content"] = "";
  return Chunk(Api::kChat, header, body, FinishReason::kNone, include_usage);
}

std::string ContentEvent(Api api, const ResponseHeader& header, std::string_view text, bool include_usage) {
  return Chunk(api, header, Text(api, text), FinishReason::kNone, include_usage);
}

std::string FinishEvent(Api api, const ResponseHeader& header, FinishReason finish, bool include_usage) {
  Json body;
  if (api == Api::kChat) {
    body["delta"] = Json::object();
  } else {
    body["text"] = "";
  }
  return Chunk(api, header, body, finish, include_usage);
}

std::string UsageEvent(Api api, const ResponseHeader& header, const Usage& usage) {
  Json json = Envelope(header, api == Api::kChat ? "chat.completion.chunk" : "text_completion");
  json["choices"] = Json::array();
  json["usage"] = UsageJson(usage);
  return Event(json);
}

std::string ErrorEvent(const ApiError& error) { return "data: " + RenderError(error) + "\n\n"; }

}  // namespace cai::openai
