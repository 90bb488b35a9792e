#pragma once

// The golden Llama 3 tokenizer and its JSON token mask, built once per test suite: what the choice
// stream tests of JSON mode and tool calls draw under.
#include <string>

#include <gtest/gtest.h>

#include "services/inference/engine/json_token_mask.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference::testing {

class GoldenLlama3Mask : public ::testing::Test {
 protected:
  static constexpr int32_t kStopToken = 737;  // <|end_of_text|> of the golden Llama 3 tokenizer

  static void SetUpTestSuite() {
    auto tokenizer = Tokenizer::FromFile(std::string(CAI_GOLDEN_DIR) + "/models/llama3/tokenizer.json");
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    tokenizer_ = tokenizer->release();
    mask_ = new JsonTokenMask(*tokenizer_);
  }
  static void TearDownTestSuite() {
    delete mask_;
    delete tokenizer_;
    mask_ = nullptr;
    tokenizer_ = nullptr;
  }

  static inline Tokenizer* tokenizer_ = nullptr;
  static inline JsonTokenMask* mask_ = nullptr;
};

}  // namespace cai::inference::testing
