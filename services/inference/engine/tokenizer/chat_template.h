#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference {

// Chat templates are implemented in C++ rather than by running the model's Jinja: one per
// model family, each matching the family's tokenizer_config.json template for plain
// (tool-free) conversations. Gemma 2 and Phi-3 come later.
enum class ChatTemplateKind { kLlama3 };

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// The prompt text for `messages`. Llama 3.1: begins with <|begin_of_text|> and always has a
// system header (knowledge cutoff and the template's fixed date) followed by the first
// message's content if that message is a system one. Contents are trimmed as Jinja's `trim`
// does. Encode the result with allow_special = true and add no further BOS.
// InvalidArgument for no messages, an unknown role, or a system message that is not first.
absl::StatusOr<std::string> RenderChat(ChatTemplateKind kind,
                                       const std::vector<ChatMessage>& messages,
                                       bool add_generation_prompt);

// The template for a model, from config.json's model_type and the tokenizer's special tokens.
absl::StatusOr<ChatTemplateKind> DetectChatTemplate(const Tokenizer& tokenizer,
                                                    std::string_view model_type);

}  // namespace cai::inference
