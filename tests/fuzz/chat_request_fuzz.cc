// Feeds arbitrary bytes to the edge's request parsers, and renders what they accept, so any
// accepted input is also safe to echo back in a response.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

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
