// Feeds arbitrary bytes to the edge's request parsers, and renders what they accept, so any
// accepted input is also safe to echo back in a response. Oracle: every accepted tool's
// parameters (written out by the edge in the client's key order) is the JSON text of an object.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "services/edge/openai/chat_request.h"
#include "services/edge/openai/query.h"
#include "services/edge/openai/render.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  cai::openai::ResponseHeader header{.id = "chatcmpl-0", .created = 0, .model = ""};

  cai::openai::ChatRequest chat;
  if (auto error = cai::openai::ParseChatRequest(input, &chat)) {
    cai::openai::RenderError(*error);
  } else {
    header.model = chat.model;
    for (const auto& message : chat.messages) {
      cai::openai::ContentEvent(cai::openai::Api::kChat, header, message.Content(), chat.include_usage);
    }
    cai::openai::RenderCompletion(cai::openai::Api::kChat, header, chat.messages[0].Content(),
                                  cai::openai::FinishReason::kStop, {});
    // Each tool's parameters, read in the client's key order, are the object the body gives there.
    const nlohmann::json body = nlohmann::json::parse(input, nullptr, false);
    for (size_t i = 0; i < chat.tools.size(); ++i) {
      const std::string& parameters = chat.tools[i].parameters;
      const nlohmann::json given = body["tools"][i]["function"].value("parameters", nlohmann::json());
      if (parameters.empty() ? !given.is_null()
                             : nlohmann::json::parse(parameters, nullptr, false) != given || !given.is_object()) {
        __builtin_trap();
      }
    }
    for (const auto& message : chat.messages) {
      for (const cai::openai::ToolCall& call : message.tool_calls) {
        cai::openai::ToolCallStartEvent(header, call, chat.include_usage);
        cai::openai::ToolCallArgumentsEvent(header, call.arguments, chat.include_usage);
        cai::openai::RenderCompletion(cai::openai::Api::kChat, header,
                                      {{.index = 0, .text = "", .finish = cai::openai::FinishReason::kToolCalls,
                                        .logprobs = std::nullopt, .tool_call = call}},
                                      {});
      }
    }
  }
  cai::openai::CompletionRequest completion;
  if (!cai::openai::ParseCompletionRequest(input, &completion)) {
    header.model = completion.model;
    for (const cai::openai::Prompt& prompt : completion.prompts) {
      if (const std::string* text = std::get_if<std::string>(&prompt)) {
        cai::openai::RenderCompletion(cai::openai::Api::kText, header, *text, cai::openai::FinishReason::kLength, {});
      }
    }
  }
  cai::openai::ParseQuery(input);
  return 0;
}
