#include "services/inference/engine/tokenizer/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/tokenizer/test_util.h"

namespace cai::inference {
namespace {

using ::cai::inference::testing::LoadOrDie;
using ::cai::inference::testing::TinyJson;
using ::cai::inference::testing::TinySpec;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int32_t kA = 'a', kB = 'b', kC = 'c';

TEST(TokenizerTest, MergeRankDecidesTheSegmentation) {
  // "abc": with "a b" ranked first we get ab+c -> abc; with "b c" first we get a+bc, which no
  // merge joins.
  TinySpec spec{.extra = {"ab", "bc", "abc"}};
  spec.merges = {{"a", "b"}, {"b", "c"}, {"ab", "c"}};
  EXPECT_THAT(LoadOrDie(TinyJson(spec))->Encode("abc", false), ElementsAre(258));
  spec.merges = {{"b", "c"}, {"a", "b"}, {"ab", "c"}};
  EXPECT_THAT(LoadOrDie(TinyJson(spec))->Encode("abc", false), ElementsAre(kA, 257));
}

TEST(TokenizerTest, IgnoreMergesEmitsWholeVocabPieces) {
  TinySpec spec{.extra = {"bc", "abc"}, .merges = {{"b", "c"}}};
  EXPECT_THAT(LoadOrDie(TinyJson(spec))->Encode("abc", false), ElementsAre(kA, 256));
  spec.ignore_merges = true;
  EXPECT_THAT(LoadOrDie(TinyJson(spec))->Encode("abc", false), ElementsAre(257));
  // A piece not in the vocab still goes through the merges.
  EXPECT_THAT(LoadOrDie(TinyJson(spec))->Encode("bcb", false), ElementsAre(256, kB));
}

TEST(TokenizerTest, EqualRanksMergeLeftmostFirst) {
  TinySpec spec{.extra = {"aa"}, .merges = {{"a", "a"}}};
  auto tokenizer = LoadOrDie(TinyJson(spec));
  EXPECT_THAT(tokenizer->Encode("aaa", false), ElementsAre(256, kA));
  EXPECT_THAT(tokenizer->Encode("aaaa", false), ElementsAre(256, 256));
}

TEST(TokenizerTest, PairFormMergesEqualStringForm) {
  TinySpec spec{.extra = {"ab", "abc"}, .merges = {{"a", "b"}, {"ab", "c"}}};
  spec.merges_as_pairs = true;
  EXPECT_THAT(LoadOrDie(TinyJson(spec))->Encode("abcab", false), ElementsAre(257, 256));
}

TEST(TokenizerTest, Gpt2ByteLevelRegexSplitsBeforeMerging) {
  // Without the split, "b a" would merge across the space; GPT-2's regex keeps " ab" apart.
  TinySpec spec{.extra = {"ab", " a", " ab", "b "}, .merges = {{"b", " "}, {"a", "b"}, {" ", "a"}, {" a", "b"}}};
  EXPECT_THAT(LoadOrDie(TinyJson(spec))->Encode("ab ab", false), ElementsAre(kA, 259, 256));
  spec.pre_tokenizer = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  EXPECT_THAT(LoadOrDie(TinyJson(spec))->Encode("ab ab", false), ElementsAre(256, ' ', 256));
}

TinySpec SpecWithAddedTokens() {
  TinySpec spec;
  spec.added = {
      {{"id", 256}, {"content", "<s>"}, {"special", true}},
      {{"id", 257}, {"content", "<s>x"}, {"special", true}},
      {{"id", 258}, {"content", "<m>"}, {"special", false}, {"lstrip", true}, {"rstrip", true}},
  };
  return spec;
}

TEST(TokenizerTest, SpecialTokensOnlyWithAllowSpecial) {
  auto tokenizer = LoadOrDie(TinyJson(SpecWithAddedTokens()));
  EXPECT_THAT(tokenizer->Encode("a<s>b", true), ElementsAre(kA, 256, kB));
  EXPECT_THAT(tokenizer->Encode("a<s>b", false), ElementsAre(kA, '<', 's', '>', kB));
  EXPECT_THAT(tokenizer->Encode("<s>x<s>", true), ElementsAre(257, 256));  // longest match
  EXPECT_TRUE(tokenizer->IsSpecial(256));
  EXPECT_FALSE(tokenizer->IsSpecial(258));
  EXPECT_FALSE(tokenizer->IsSpecial(kA));
  EXPECT_FALSE(tokenizer->IsSpecial(-1));
  EXPECT_FALSE(tokenizer->IsSpecial(100000));
  EXPECT_EQ(tokenizer->vocab_size(), 259);
}

TEST(TokenizerTest, NonSpecialAddedTokenStripsWhitespace) {
  auto tokenizer = LoadOrDie(TinyJson(SpecWithAddedTokens()));
  EXPECT_THAT(tokenizer->Encode("a \t<m>\n b", false), ElementsAre(kA, 258, kB));
  EXPECT_THAT(tokenizer->Encode("<m>", true), ElementsAre(258));
}

TEST(TokenizerTest, TokenIdAndBytes) {
  TinySpec spec = SpecWithAddedTokens();
  spec.extra = {" a"};
  spec.added[0]["id"] = 257;
  spec.added[1]["id"] = 258;
  spec.added[2]["id"] = 259;
  auto tokenizer = LoadOrDie(TinyJson(spec));
  EXPECT_EQ(tokenizer->TokenId("\xC4\xA0" "a"), 256);  // "Ġa", the byte-level spelling
  EXPECT_EQ(tokenizer->TokenId("<s>"), 257);
  EXPECT_EQ(tokenizer->TokenId(" a"), std::nullopt);
  EXPECT_EQ(tokenizer->TokenBytes(256), " a");
  EXPECT_EQ(tokenizer->TokenBytes(257), "<s>");
  EXPECT_EQ(tokenizer->TokenBytes(0xF0), "\xF0");
  EXPECT_EQ(tokenizer->TokenBytes(-5), "");
  EXPECT_EQ(tokenizer->TokenBytes(260), "");
}

TEST(TokenizerTest, DecodeReplacesInvalidUtf8) {
  auto tokenizer = LoadOrDie(TinyJson(TinySpec{}));
  std::vector<int32_t> ids = {'a', 0xF0, 0x9F, 'b', 0xFF};
  EXPECT_EQ(tokenizer->Decode(ids), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
  std::vector<int32_t> emoji = {0xF0, 0x9F, 0x98, 0x80, 999999, -1};
  EXPECT_EQ(tokenizer->Decode(emoji), "\xF0\x9F\x98\x80");
}

TEST(TokenizerTest, InvalidUtf8InputRoundTrips) {
  TinySpec spec;
  spec.pre_tokenizer = {{"type", "ByteLevel"}, {"use_regex", true}};
  auto tokenizer = LoadOrDie(TinyJson(spec));
  std::string text = "ok \xFF\xC0 then \xE2\x82 end";
  std::string bytes;
  for (int32_t id : tokenizer->Encode(text, false)) bytes += tokenizer->TokenBytes(id);
  EXPECT_EQ(bytes, text);
}

// ---- malformed tokenizer.json

absl::Status LoadStatus(const nlohmann::json& json) {
  return Tokenizer::FromJson(json.dump()).status();
}

TEST(TokenizerJsonTest, RejectsNonJsonAndMissingModel) {
  EXPECT_EQ(Tokenizer::FromJson("{").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Tokenizer::FromJson("[1]").status().code(), absl::StatusCode::kInvalidArgument);
  nlohmann::json json = TinyJson(TinySpec{});
  json.erase("model");
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("no model"));
}

TEST(TokenizerJsonTest, NamesUnsupportedComponents) {
  nlohmann::json json = TinyJson(TinySpec{});
  json["model"]["type"] = "Unigram";
  EXPECT_EQ(LoadStatus(json).code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("Unigram"));

  json = TinyJson(TinySpec{});
  json["model"]["byte_fallback"] = true;
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("byte_fallback"));

  json = TinyJson(TinySpec{});
  json["normalizer"] = {{"type", "Replace"}};
  EXPECT_EQ(LoadStatus(json).code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("Replace"));

  json = TinyJson(TinySpec{});
  json["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}};
  EXPECT_EQ(LoadStatus(json).code(), absl::StatusCode::kUnimplemented);

  json = TinyJson(TinySpec{});
  json["decoder"] = {{"type", "Metaspace"}};
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("Metaspace"));

  json = TinyJson(TinySpec{});
  json["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers",
                            {{{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Removed"}},
                             {{"type", "ByteLevel"}}}}};
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("Isolated"));
}

TEST(TokenizerJsonTest, RejectsBadMerges) {
  nlohmann::json json = TinyJson(TinySpec{});
  json["model"]["merges"] = {"a b"};  // "ab" is not in the vocab
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("not in the vocab"));
  json["model"]["merges"] = {"ab"};
  EXPECT_EQ(LoadStatus(json).code(), absl::StatusCode::kInvalidArgument);
  json["model"]["merges"] = {nlohmann::json::array({"a"})};
  EXPECT_EQ(LoadStatus(json).code(), absl::StatusCode::kInvalidArgument);
  json["model"]["merges"] = {"\xE2\x98\x83 a"};  // not a byte-level token
  EXPECT_EQ(LoadStatus(json).code(), absl::StatusCode::kInvalidArgument);
  json["model"]["merges"] = "a b";
  EXPECT_EQ(LoadStatus(json).code(), absl::StatusCode::kInvalidArgument);
}

TEST(TokenizerJsonTest, RejectsBadIds) {
  nlohmann::json json = TinyJson(TinySpec{.extra = {"ab"}});
  json["model"]["vocab"]["ab"] = -1;
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("out of range"));
  json["model"]["vocab"]["ab"] = int64_t{1} << 40;
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("out of range"));
  json["model"]["vocab"]["ab"] = "256";
  EXPECT_EQ(LoadStatus(json).code(), absl::StatusCode::kInvalidArgument);
  json["model"]["vocab"]["ab"] = 7;  // the id of byte 0x07
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("reuses id"));
  json["model"]["vocab"]["ab"] = 257;  // leaves 256 unassigned
  json["added_tokens"] = {{{"id", 65}, {"content", "A"}}};  // repeats a vocab entry
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("not assigned"));
  json["model"]["vocab"]["ab"] = 258;  // beyond the number of entries
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("out of range"));

  json = TinyJson(TinySpec{});
  json["added_tokens"] = {{{"id", 65}, {"content", "<x>"}, {"special", true}}};
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("reuses id"));
  json["added_tokens"] = {{{"id", 256}, {"content", "<x>"}}, {{"id", 257}, {"content", "<x>"}}};
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("twice"));
  json["added_tokens"] = {{{"id", 256}, {"content", ""}}};
  EXPECT_EQ(LoadStatus(json).code(), absl::StatusCode::kInvalidArgument);
  // Repeating a vocab entry under its own id is fine (GPT-2's <|endoftext|> does it).
  json["added_tokens"] = {{{"id", 65}, {"content", "A"}, {"special", true}}};
  EXPECT_TRUE(LoadStatus(json).ok()) << LoadStatus(json);
}

TEST(TokenizerJsonTest, RejectsIncompleteByteAlphabetAndBadRegex) {
  nlohmann::json json = TinyJson(TinySpec{});
  json["model"]["vocab"].erase("\xC4\xA0");  // "Ġ", the space byte
  json["model"]["vocab"]["ab"] = 32;
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("byte 32"));

  json = TinyJson(TinySpec{});
  json["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers",
                            {{{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}},
                             {{"type", "ByteLevel"}, {"use_regex", false}}}}};
  EXPECT_THAT(LoadStatus(json).message(), HasSubstr("regex"));
}

TEST(TokenizerJsonTest, RejectsHugeInput) {
  std::string huge(kMaxTokenizerJsonBytes + 1, ' ');
  auto result = Tokenizer::FromJson(huge);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("larger than"));
}

TEST(TokenizerJsonTest, FromFileReportsMissingFile) {
  EXPECT_EQ(Tokenizer::FromFile("/nonexistent/tokenizer.json").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cai::inference
