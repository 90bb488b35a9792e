#include "services/inference/engine/tokenizer/chat_template.h"

#include <initializer_list>
#include <optional>

#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "services/inference/engine/tokenizer/absl_compat.h"
#include "services/inference/engine/tokenizer/python_json.h"
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

// The template's `t | tojson(indent=4)` of one tool, as the dict a client hands to
// apply_chat_template: {"type": "function", "function": {"name", "description"?, "parameters"?}}.
absl::StatusOr<std::string> Llama3ToolJson(const ChatTool& tool) {
  std::string json = absl::StrCat("{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": ",
                                  PythonJsonString(tool.name));
  if (tool.description) absl::StrAppend(&json, ",\n        \"description\": ", PythonJsonString(*tool.description));
  if (!tool.parameters.empty()) {
    absl::StatusOr<std::string> parameters = PythonJsonDumps(tool.parameters, 4, /*level=*/2);
    if (!parameters.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the parameters of tool \"", tool.name, "\" ", parameters.status().message()));
    }
    absl::StrAppend(&json, ",\n        \"parameters\": ", *parameters);
  }
  return absl::StrCat(json, "\n    }\n}");
}

// The template's tools_in_user_message block: the instructions and the tools, then the first
// user message.
absl::Status AppendLlama3Tools(RenderedChat& chat, const std::vector<ChatTool>& tools, const ChatMessage& first_user) {
  AppendTemplate(chat,
                 "<|start_header_id|>user<|end_header_id|>\n\n"
                 "Given the following functions, please respond with a JSON for a function call with its proper "
                 "arguments that best answers the given prompt.\n\n"
                 "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and "
                 "its value}.Do not use variables.\n\n");
  for (const ChatTool& tool : tools) {
    CAI_ASSIGN_OR_RETURN(const std::string json, Llama3ToolJson(tool));
    AppendContent(chat, json);
    AppendTemplate(chat, "\n\n");
  }
  AppendContent(chat, Trim(first_user.content));
  AppendTemplate(chat, "<|eot_id|>");
  return absl::OkStatus();
}

absl::Status AppendLlama3ToolCall(RenderedChat& chat, size_t index, const ChatMessage& m) {
  if (m.tool_calls.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("message ", index, ": This model only supports single tool-calls at once!"));
  }
  const ChatToolCall& call = m.tool_calls[0];
  absl::StatusOr<std::string> arguments = PythonJsonDumps(call.arguments);
  if (!arguments.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("message ", index, ": the tool call's arguments ", arguments.status().message()));
  }
  AppendTemplate(chat, absl::StrCat("<|start_header_id|>assistant<|end_header_id|>\n\n", ToAbsl(kLlama3ToolCallOpen)));
  AppendContent(chat, call.name);
  AppendTemplate(chat, kLlama3ToolCallMiddle);
  AppendContent(chat, *arguments);
  AppendTemplate(chat, absl::StrCat(ToAbsl(kLlama3ToolCallClose), "<|eot_id|>"));
  return absl::OkStatus();
}

absl::StatusOr<RenderedChat> RenderLlama3(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                          const std::vector<ChatTool>& tools) {
  RenderedChat chat;
  size_t first = 0;
  std::string_view system;
  if (messages[0].role == "system") {
    system = Trim(messages[0].content);
    first = 1;
  }
  AppendTemplate(chat, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n");
  if (!tools.empty()) AppendTemplate(chat, "Environment: ipython\n");
  AppendTemplate(chat, "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
  AppendContent(chat, system);
  AppendTemplate(chat, "<|eot_id|>");
  if (!tools.empty()) {
    if (first == messages.size() || messages[first].role != "user") {
      return absl::InvalidArgumentError(
          "with tools, the first message after any system message must be a user message (the template puts the "
          "tools in it)");
    }
    CAI_RETURN_IF_ERROR(AppendLlama3Tools(chat, tools, messages[first]));
    ++first;
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "system") {
      return absl::InvalidArgumentError(
          absl::StrCat("message ", i, ": a system message is allowed only first"));
    }
    if (!m.tool_calls.empty()) {
      CAI_RETURN_IF_ERROR(AppendLlama3ToolCall(chat, i, m));
    } else if (m.role == "tool") {  // the template's `tojson` of a string content
      AppendTemplate(chat, "<|start_header_id|>ipython<|end_header_id|>\n\n");
      AppendContent(chat, PythonJsonString(m.content));
      AppendTemplate(chat, "<|eot_id|>");
    } else {
      AppendTemplate(chat, absl::StrCat("<|start_header_id|>", m.role, "<|end_header_id|>\n\n"));
      AppendContent(chat, Trim(m.content));
      AppendTemplate(chat, "<|eot_id|>");
    }
  }
  if (add_generation_prompt) AppendTemplate(chat, "<|start_header_id|>assistant<|end_header_id|>\n\n");
  return chat;
}

// The Gemma 2 it template: it checks only messages[0] for a system role, then that user
// messages sit exactly at even indices; the assistant is called "model".
absl::StatusOr<RenderedChat> RenderGemma2(const std::vector<ChatMessage>& messages,
                                          bool add_generation_prompt) {
  if (messages[0].role == "system") return absl::InvalidArgumentError("System role not supported");
  RenderedChat chat;
  AppendTemplate(chat, "<bos>");
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if ((m.role == "user") != (i % 2 == 0)) {
      return absl::InvalidArgumentError(
          "Conversation roles must alternate user/assistant/user/assistant/...");
    }
    std::string_view role = m.role == "assistant" ? "model" : std::string_view(m.role);
    AppendTemplate(chat, absl::StrCat("<start_of_turn>", ToAbsl(role), "\n"));
    AppendContent(chat, Trim(m.content));
    AppendTemplate(chat, "<end_of_turn>\n");
  }
  if (add_generation_prompt) AppendTemplate(chat, "<start_of_turn>model\n");
  return chat;
}

// The July 2024 Phi-3-mini template: contents as they are, eos when no reply is prompted.
RenderedChat RenderPhi3(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  RenderedChat chat;
  for (const ChatMessage& m : messages) {
    AppendTemplate(chat, absl::StrCat("<|", m.role, "|>\n"));
    AppendContent(chat, m.content);
    AppendTemplate(chat, "<|end|>\n");
  }
  AppendTemplate(chat, add_generation_prompt ? "<|assistant|>\n" : "<|endoftext|>");
  return chat;
}

// Unimplemented unless every token exists and is special.
absl::Status RequireSpecialTokens(const Tokenizer& tokenizer, std::string_view model_type,
                                  std::initializer_list<std::string_view> tokens) {
  for (std::string_view token : tokens) {
    std::optional<int32_t> id = tokenizer.TokenId(token);
    if (!id || !tokenizer.IsSpecial(*id)) {
      return absl::UnimplementedError(absl::StrCat(
          "no known chat template for model_type \"", ToAbsl(model_type), "\" (tokenizer lacks ",
          ToAbsl(token), " as a special token)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string RenderedChat::Text() const {
  std::string out;
  for (const Segment& s : segments) out += s.text;
  return out;
}

std::vector<int32_t> RenderedChat::Encode(const Tokenizer& tokenizer) const {
  std::vector<TextPart> parts;
  parts.reserve(segments.size());
  for (const Segment& s : segments) parts.push_back({s.text, /*allow_special=*/!s.is_content});
  return tokenizer.Encode(parts);
}

absl::StatusOr<RenderedChat> RenderChat(ChatTemplateKind kind,
                                        const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt,
                                        const std::vector<ChatTool>& tools) {
  if (messages.empty()) return absl::InvalidArgumentError("no messages");
  bool uses_tools = !tools.empty();
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role != "system" && m.role != "user" && m.role != "assistant" && m.role != "tool") {
      return absl::InvalidArgumentError(absl::StrCat(
          "message ", i, ": role \"", m.role, "\" is not one of system, user, assistant, tool"));
    }
    if (!m.tool_calls.empty() && m.role != "assistant") {
      return absl::InvalidArgumentError(absl::StrCat("message ", i, ": only assistant messages make tool calls"));
    }
    uses_tools |= m.role == "tool" || !m.tool_calls.empty();
  }
  if (uses_tools && kind != ChatTemplateKind::kLlama3) {
    return absl::InvalidArgumentError(
        "this model's chat template has no tool calling (tools, tool calls and tool messages need a Llama 3.1 one)");
  }
  switch (kind) {
    case ChatTemplateKind::kLlama3:
      return RenderLlama3(messages, add_generation_prompt, tools);
    case ChatTemplateKind::kGemma2:
      return RenderGemma2(messages, add_generation_prompt);
    case ChatTemplateKind::kPhi3:
      return RenderPhi3(messages, add_generation_prompt);
  }
  return absl::InternalError("unknown chat template");
}

absl::StatusOr<ChatTemplateKind> DetectChatTemplate(const Tokenizer& tokenizer,
                                                    std::string_view model_type) {
  if (model_type == "gemma2") {
    absl::Status s = RequireSpecialTokens(tokenizer, model_type,
                                          {"<bos>", "<start_of_turn>", "<end_of_turn>"});
    if (!s.ok()) return s;
    return ChatTemplateKind::kGemma2;
  }
  if (model_type == "phi3") {
    absl::Status s = RequireSpecialTokens(
        tokenizer, model_type,
        {"<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>"});
    if (!s.ok()) return s;
    return ChatTemplateKind::kPhi3;
  }
  if (model_type == "gemma") {
    return absl::UnimplementedError("the chat template of model_type \"gemma\" is not supported");
  }
  absl::Status s = RequireSpecialTokens(
      tokenizer, model_type,
      {"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"});
  if (!s.ok()) return s;
  return ChatTemplateKind::kLlama3;
}

}  // namespace cai::inference
