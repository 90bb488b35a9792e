#include "services/inference/engine/tokenizer/split_regex.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cai::inference {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Pieces(std::string_view pattern, std::string_view text) {
  auto regex = SplitRegex::Compile(pattern);
  EXPECT_TRUE(regex.ok()) << regex.status();
  std::vector<std::string_view> views;
  (*regex)->Split(text, &views);
  return std::vector<std::string>(views.begin(), views.end());
}

TEST(SplitRegexTest, Llama3PatternSplitsLikeTiktoken) {
  EXPECT_THAT(Pieces(kLlama3SplitPattern, "Hello world's 12345 !!\n\n  x"),
              ElementsAre("Hello", " world", "'s", " ", "123", "45", " !!\n\n", " ", " x"));
}

TEST(SplitRegexTest, Llama3PatternIsUnicodeAware) {
  // \p{L} covers Cyrillic and CJK; (?i:) makes contractions case-insensitive; \s+(?!\S) leaves
  // the last space to the next word.
  EXPECT_THAT(Pieces(kLlama3SplitPattern, "Привет мир 你好 IT'S   done\n"),
              ElementsAre("Привет", " мир", " 你好", " IT", "'S", "  ", " done", "\n"));
  EXPECT_THAT(Pieces(kLlama3SplitPattern, "x=1;\r\n\tif"),
              ElementsAre("x", "=", "1", ";\r\n", "\tif"));
}

TEST(SplitRegexTest, Gpt2Pattern) {
  EXPECT_THAT(Pieces(kGpt2SplitPattern, "Hello world's 12345 !!"),
              ElementsAre("Hello", " world", "'s", " 12345", " !!"));
}

TEST(SplitRegexTest, GapsAndInvalidUtf8AreKept) {
  EXPECT_THAT(Pieces("b+", "aabbbc"), ElementsAre("aa", "bbb", "c"));
  EXPECT_THAT(Pieces(kLlama3SplitPattern, "a\xFF" "b"), ElementsAre("a", "\xFF", "b"));
  EXPECT_THAT(Pieces("x*", "abc"), ElementsAre("abc"));  // empty matches end the loop
  EXPECT_TRUE(Pieces(kLlama3SplitPattern, "").empty());
}

TEST(SplitRegexTest, RejectsBadPatterns) {
  EXPECT_FALSE(SplitRegex::Compile("(").ok());
  EXPECT_FALSE(SplitRegex::Compile(std::string(5000, 'a')).ok());
}

}  // namespace
}  // namespace cai::inference
