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
  auto role = RenderChat(ChatTemplateKind::kLlama3, {{"tool", "x"}}, true);
  EXPECT_EQ(role.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(role.status().message(), HasSubstr("\"tool\""));
  EXPECT_FALSE(RenderChat(ChatTemplateKind::kLlama3, {}, true).ok());
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
