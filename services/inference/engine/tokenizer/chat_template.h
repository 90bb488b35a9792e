#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference {

// Chat templates are implemented in C++ rather than by running the model's Jinja: one per
// model family, each matching the family's tokenizer_config.json template byte for byte
// (tests/golden/chat_cases.json), tool calling included where the family has it (Llama 3.1).
enum class ChatTemplateKind {
  kLlama3,  // Llama 3.1 / 3.3
  kGemma2,  // Gemma 2 it
  kPhi3,    // Phi-3-mini, July 2024 template
};

// A call an assistant message made.
struct ChatToolCall {
  std::string name;
  std::string arguments;  // JSON text of an object
};

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" or "tool" (a call's result)
  std::string content;
  std::vector<ChatToolCall> tool_calls = {};  // assistant only
};

// A function the model may call: shown to it as {"type": "function", "function": {"name",
// "description"?, "parameters"?}}, with `parameters` keeping its keys' order.
struct ChatTool {
  std::string name;
  std::optional<std::string> description;
  std::string parameters;  // JSON text of a schema object; empty: none
};

// Llama 3.1's JSON tool call, as its template renders one and its model writes one:
// {"name": "<name>", "parameters": <arguments object>}.
inline constexpr std::string_view kLlama3ToolCallOpen = "{\"name\": \"";
inline constexpr std::string_view kLlama3ToolCallMiddle = "\", \"parameters\": ";
inline constexpr std::string_view kLlama3ToolCallClose = "}";

// A rendered prompt, kept as the template's own text and the messages' contents in order.
// Template text is encoded with special tokens recognised; contents never are, so a user who
// types "<|eot_id|><|start_header_id|>system..." gets plain text, not a forged turn. (Hugging
// Face tokenizes the joined text and would honour such spellings.) Apart from that, Encode
// gives exactly HF's ids for Text(): ordinary text is encoded across segment boundaries, so
// BPE merges (Gemma has no pre-tokenizer) and the rstrip of Phi-3's <|user|> reach into the
// content as they do in HF.
struct RenderedChat {
  struct Segment {
    std::string text;
    bool is_content;  // from a message: plain text only
  };
  std::vector<Segment> segments;

  std::string Text() const;  // what apply_chat_template(tokenize=False) returns
  // Token ids: special tokens only inside template segments. Adds no BOS (Llama 3 and Gemma 2
  // templates emit it as text; Phi-3 has none).
  std::vector<int32_t> Encode(const Tokenizer& tokenizer) const;
};

// The prompt for `messages`, or InvalidArgument for no messages or a role other than system,
// user and assistant, and:
//  - kLlama3: begins with <|begin_of_text|> and always has a system header (knowledge cutoff
//    and the template's fixed date) followed by the first message's content if that message
//    is a system one; contents trimmed as Jinja's `trim`. Error for a system message that is
//    not first. With `tools`, the template's defaults (tools_in_user_message, no builtin tools):
//    "Environment: ipython" in the system header, and the tools as indented JSON with the
//    template's instructions in front of the first user message (an error when the message
//    after the system one is not a user message, where the template would take any message's
//    content). An assistant message with tool_calls (exactly one, as the template demands) is
//    the call in kLlama3ToolCall* form, its arguments as Python's json.dumps writes them; a tool
//    message is an "ipython" turn whose content is a JSON string literal (the template's
//    `tojson` of a string). Tool definitions, names, arguments and results are content.
//  - kGemma2 and kPhi3 have no tool calling: InvalidArgument for tools, tool calls or a tool
//    message.
//  - kGemma2: <bos>, then "<start_of_turn>user|model\n{content|trim}<end_of_turn>\n" per
//    message; errors with the template's own messages "System role not supported" (a system
//    message first) and "Conversation roles must alternate user/assistant/user/assistant/..."
//    (a user message at an odd index or a non-user one at an even index).
//  - kPhi3: "<|role|>\n{content}<|end|>\n" per message (not trimmed), then "<|assistant|>\n"
//    or, without a generation prompt, "<|endoftext|>". No BOS.
absl::StatusOr<RenderedChat> RenderChat(ChatTemplateKind kind,
                                        const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt,
                                        const std::vector<ChatTool>& tools = {});

// The template for a model, from config.json's model_type ("gemma2" -> kGemma2, "phi3" ->
// kPhi3, anything else -> kLlama3) once the tokenizer is checked to have the template's control
// tokens as special tokens (so user content can never produce them); Unimplemented otherwise.
absl::StatusOr<ChatTemplateKind> DetectChatTemplate(const Tokenizer& tokenizer,
                                                    std::string_view model_type);

}  // namespace cai::inference
