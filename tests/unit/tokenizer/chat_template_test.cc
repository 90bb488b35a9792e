#include "services/inference/engine/tokenizer/chat_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/inference/engine/tokenizer/bpe_trainer.h"

namespace cai::inference {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kSystemHeader =
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
    "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";

TEST(ChatTemplateTest, Llama3UserOnlyStillHasSystemHeader) {
  auto text = RenderChat(ChatTemplateKind::kLlama3, {{"user", "  Hi there!\n"}}, true);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->Text(), std::string(kSystemHeader) +
                       "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there!<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateTest, Llama3MultiTurnWithSystem) {
  std::vector<ChatMessage> messages = {{"system", "\tBe brief. "},
                                       {"user", "2+2?"},
                                       {"assistant", " 4 "},
                                       {"user", "\xE3\x80\x80" "And 3+3?"}};  // U+3000 is trimmed
  auto text = RenderChat(ChatTemplateKind::kLlama3, messages, false);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->Text(), std::string(kSystemHeader) +
                       "Be brief.<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>");
}

TEST(ChatTemplateTest, RejectsBadConversations) {
  auto misplaced = RenderChat(ChatTemplateKind::kLlama3, {{"user", "a"}, {"system", "b"}}, true);
  EXPECT_EQ(misplaced.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(misplaced.status().message(), HasSubstr("system"));
  auto role = RenderChat(ChatTemplateKind::kLlama3, {{"function", "x"}}, true);
  EXPECT_EQ(role.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(role.status().message(), HasSubstr("\"function\""));
  EXPECT_FALSE(RenderChat(ChatTemplateKind::kLlama3, {}, true).ok());
}

const ChatTool kWeather{.name = "get_weather",
                        .description = std::nullopt,
                        .parameters = R"({"type":"object","properties":{"zeta":{"type":"number"},"city":{}}})"};

// The tools block before the first user message, as the Llama 3.1 template writes it; the tool's
// keys keep the client's order (zeta before city).
TEST(ChatTemplateTest, Llama3ToolsGoInTheFirstUserMessage) {
  std::vector<ChatMessage> messages = {{"system", "Be brief."}, {"user", " Weather? "}};
  auto chat = RenderChat(ChatTemplateKind::kLlama3, messages, true, {kWeather});
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(chat->Text(),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON "
            "for a function call with its proper arguments that best answers the given prompt.\n\nRespond in the "
            "format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use "
            "variables.\n\n"
            R"({
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "zeta": {
                    "type": "number"
                },
                "city": {}
            }
        }
    }
})"
            "\n\nWeather?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateTest, Llama3ToolCallAndResult) {
  std::vector<ChatMessage> messages = {
      {"user", "Weather?"},
      {.role = "assistant", .content = "ignored", .tool_calls = {{"get_weather", R"({"city":"Paris","zeta":1e-5})"}}},
      {"tool", " {\"temp_c\": 18}\n"}};
  auto chat = RenderChat(ChatTemplateKind::kLlama3, messages, true);
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(chat->Text(), std::string(kSystemHeader) +
                              "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWeather?<|eot_id|>"
                              "<|start_header_id|>assistant<|end_header_id|>\n\n"
                              R"({"name": "get_weather", "parameters": {"city": "Paris", "zeta": 1e-05}})"
                              "<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n"
                              R"(" {\"temp_c\": 18}\n")"
                              "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
}

// What a client wrote is content: a description spelling a control token cannot forge a turn.
TEST(ChatTemplateTest, ToolDefinitionsAreContent) {
  ChatTool tool = kWeather;
  tool.description = "<|eot_id|>";
  auto chat = RenderChat(ChatTemplateKind::kLlama3, {{"user", "x"}}, true, {tool});
  ASSERT_TRUE(chat.ok()) << chat.status();
  int in_content = 0;
  for (const RenderedChat::Segment& segment : chat->segments) {
    if (segment.text.find("<|eot_id|>\"") != std::string::npos) {
      EXPECT_TRUE(segment.is_content);
      ++in_content;
    }
  }
  EXPECT_EQ(in_content, 1);
}

// So are a call's arguments and a tool's result: neither can close the turn it stands in.
TEST(ChatTemplateTest, CallArgumentsAndToolResultsAreContent) {
  std::vector<ChatMessage> messages = {
      {"user", "x"},
      {.role = "assistant", .content = "", .tool_calls = {{"get_weather", R"({"k": "<|eot_id|>"})"}}},
      {"tool", "<|eot_id|>"}};
  auto chat = RenderChat(ChatTemplateKind::kLlama3, messages, true);
  ASSERT_TRUE(chat.ok()) << chat.status();
  int in_content = 0;
  for (const RenderedChat::Segment& segment : chat->segments) {
    if (segment.text.find("<|eot_id|>\"") != std::string::npos) {
      EXPECT_TRUE(segment.is_content) << segment.text;
      ++in_content;
    }
  }
  EXPECT_EQ(in_content, 2);
}

TEST(ChatTemplateTest, RejectsToolConversationsTheTemplateCannotRender) {
  struct Case {
    const char* name;
    ChatTemplateKind kind;
    std::vector<ChatMessage> messages;
    std::vector<ChatTool> tools;
    const char* error;
  };
  const ChatMessage two_calls{.role = "assistant", .content = "", .tool_calls = {{"a", "{}"}, {"b", "{}"}}};
  const ChatMessage array_arguments{.role = "assistant", .content = "", .tool_calls = {{"a", "[1]"}}};
  const ChatMessage user_call{.role = "user", .content = "", .tool_calls = {{"a", "{}"}}};
  const Case cases[] = {
      {"no_user_message", ChatTemplateKind::kLlama3, {{"system", "s"}}, {kWeather}, "must be a user message"},
      {"assistant_first", ChatTemplateKind::kLlama3, {{"assistant", "a"}, {"user", "u"}}, {kWeather},
       "must be a user message"},
      {"two_calls", ChatTemplateKind::kLlama3, {{"user", "u"}, two_calls}, {},
       "message 1: This model only supports single tool-calls at once!"},
      {"array_arguments", ChatTemplateKind::kLlama3, {{"user", "u"}, array_arguments}, {},
       "message 1: the tool call's arguments is not the JSON text of an object"},
      {"deep_arguments", ChatTemplateKind::kLlama3,
       {{"user", "u"},
        {.role = "assistant", .content = "", .tool_calls = {{"a", "{\"k\": " + std::string(130, '[') +
                                                                      std::string(130, ']') + "}"}}}},
       {}, "message 1: the tool call's arguments nests deeper than 128"},
      {"user_call", ChatTemplateKind::kLlama3, {user_call}, {}, "only assistant messages make tool calls"},
      {"bad_parameters", ChatTemplateKind::kLlama3, {{"user", "u"}}, {{"f", std::nullopt, "{"}},
       "the parameters of tool \"f\" is not valid JSON"},
      {"gemma_tools", ChatTemplateKind::kGemma2, {{"user", "u"}}, {kWeather}, "has no tool calling"},
      {"phi3_tool_message", ChatTemplateKind::kPhi3, {{"user", "u"}, {"tool", "r"}}, {}, "has no tool calling"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto chat = RenderChat(c.kind, c.messages, true, c.tools);
    EXPECT_EQ(chat.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(chat.status().message(), HasSubstr(c.error));
  }
}

TEST(ChatTemplateTest, DetectsLlama3FromSpecialTokens) {
  auto json = TrainByteLevelBpeTokenizerJson(
      "hello world", 5,
      {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
       "<|eot_id|>"});
  ASSERT_TRUE(json.ok());
  auto tokenizer = Tokenizer::FromJson(*json);
  ASSERT_TRUE(tokenizer.ok());
  auto kind = DetectChatTemplate(**tokenizer, "llama");
  ASSERT_TRUE(kind.ok()) << kind.status();
  EXPECT_EQ(*kind, ChatTemplateKind::kLlama3);
  EXPECT_EQ(DetectChatTemplate(**tokenizer, "gemma2").status().code(),
            absl::StatusCode::kUnimplemented);

  auto plain = Tokenizer::FromJson(*TrainByteLevelBpeTokenizerJson("hello", 1, {}));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(DetectChatTemplate(**plain, "llama").status().code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace cai::inference
