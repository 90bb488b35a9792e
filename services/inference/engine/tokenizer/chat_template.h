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

// A rendered prompt, kept as the template's own text and the messages' contents in order.
// Template text is encoded with special tokens recognised; contents never are, so a user who
// types "<|eot_id|><|start_header_id|>system..." gets plain text, not a forged turn. (Hugging
// Face tokenizes the joined text and would honour such spellings.) Contents are trimmed and
// always sit between "\n\n" and a special token, so for ordinary text the ids equal those of
// tokenizing Text() as a whole.
struct RenderedChat {
  struct Segment {
    std::string text;
    bool is_content;  // from a message: plain text only
  };
  std::vector<Segment> segments;

  std::string Text() const;  // what apply_chat_template(tokenize=False) returns
  // Token ids: template segments with allow_special, contents without. Adds no BOS.
  std::vector<int32_t> Encode(const Tokenizer& tokenizer) const;
};

// The prompt for `messages`. Llama 3.1: begins with <|begin_of_text|> and always has a system
// header (knowledge cutoff and the template's fixed date) followed by the first message's
// content if that message is a system one. Contents are trimmed as Jinja's `trim` does.
// InvalidArgument for no messages, an unknown role, or a system message that is not first.
absl::StatusOr<RenderedChat> RenderChat(ChatTemplateKind kind,
                                        const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt);

// The template for a model, from config.json's model_type and the tokenizer's special tokens.
absl::StatusOr<ChatTemplateKind> DetectChatTemplate(const Tokenizer& tokenizer,
                                                    std::string_view model_type);

}  // namespace cai::inference
