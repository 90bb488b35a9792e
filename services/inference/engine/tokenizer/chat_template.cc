#include "services/inference/engine/tokenizer/chat_template.h"

#include "absl/strings/str_cat.h"
#include "services/inference/engine/tokenizer/utf8.h"

namespace cai::inference {
namespace {

// Python's str.strip(), which Jinja's `trim` filter calls.
std::string_view Trim(std::string_view s) {
  size_t pos = 0, begin = s.size(), end = 0;
  while (pos < s.size()) {
    size_t start = pos;
    if (!IsPythonWhitespace(NextCodePoint(s, &pos))) {
      if (begin == s.size()) begin = start;
      end = pos;
    }
  }
  return begin < end ? s.substr(begin, end - begin) : std::string_view();
}

// Appends template text, merging it with a preceding template segment.
void AppendTemplate(RenderedChat& chat, std::string_view text) {
  if (chat.segments.empty() || chat.segments.back().is_content) {
    chat.segments.push_back({std::string(), false});
  }
  chat.segments.back().text.append(text);
}

void AppendContent(RenderedChat& chat, std::string_view text) {
  if (!text.empty()) chat.segments.push_back({std::string(text), true});
}

absl::StatusOr<RenderedChat> RenderLlama3(const std::vector<ChatMessage>& messages,
                                          bool add_generation_prompt) {
  RenderedChat chat;
  size_t first = 0;
  std::string_view system;
  if (messages[0].role == "system") {
    system = Trim(messages[0].content);
    first = 1;
  }
  AppendTemplate(chat,
                 "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                 "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
  AppendContent(chat, system);
  AppendTemplate(chat, "<|eot_id|>");
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "system") {
      return absl::InvalidArgumentError(
          absl::StrCat("message ", i, ": a system message is allowed only first"));
    }
    AppendTemplate(chat, absl::StrCat("<|start_header_id|>", m.role, "<|end_header_id|>\n\n"));
    AppendContent(chat, Trim(m.content));
    AppendTemplate(chat, "<|eot_id|>");
  }
  if (add_generation_prompt) AppendTemplate(chat, "<|start_header_id|>assistant<|end_header_id|>\n\n");
  return chat;
}

}  // namespace

std::string RenderedChat::Text() const {
  std::string out;
  for (const Segment& s : segments) out += s.text;
  return out;
}

std::vector<int32_t> RenderedChat::Encode(const Tokenizer& tokenizer) const {
  std::vector<int32_t> ids;
  for (const Segment& s : segments) {
    std::vector<int32_t> part = tokenizer.Encode(s.text, /*allow_special=*/!s.is_content);
    ids.insert(ids.end(), part.begin(), part.end());
  }
  return ids;
}

absl::StatusOr<RenderedChat> RenderChat(ChatTemplateKind kind,
                                        const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt) {
  if (messages.empty()) return absl::InvalidArgumentError("no messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role != "system" && role != "user" && role != "assistant") {
      return absl::InvalidArgumentError(absl::StrCat(
          "message ", i, ": role \"", role, "\" is not one of system, user, assistant"));
    }
  }
  switch (kind) {
    case ChatTemplateKind::kLlama3:
      return RenderLlama3(messages, add_generation_prompt);
  }
  return absl::InternalError("unknown chat template");
}

absl::StatusOr<ChatTemplateKind> DetectChatTemplate(const Tokenizer& tokenizer,
                                                    std::string_view model_type) {
  if (model_type == "gemma" || model_type == "gemma2" || model_type == "phi3") {
    return absl::UnimplementedError(
        absl::StrCat("the chat template of model_type \"", std::string(model_type), "\" is not supported yet"));
  }
  for (std::string_view token :
       {"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}) {
    if (!tokenizer.TokenId(token)) {
      return absl::UnimplementedError(absl::StrCat(
          "no known chat template for model_type \"", std::string(model_type),
          "\" (tokenizer lacks ", std::string(token), ")"));
    }
  }
  return ChatTemplateKind::kLlama3;
}

}  // namespace cai::inference
