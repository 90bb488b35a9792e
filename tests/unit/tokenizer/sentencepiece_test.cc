// SentencePiece-style BPE constructs that the golden fixtures do not reach: unk, Metaspace,
// literal Split, normalized added tokens, and the decoder's ByteFallback/Strip in streaming.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "services/inference/engine/tokenizer/stream_decoder.h"
#include "services/inference/engine/tokenizer/tokenizer.h"
#include "tests/unit/tokenizer/test_util.h"

namespace cai::inference {
namespace {

using ::cai::inference::testing::LoadOrDie;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kMeta[] = "\xE2\x96\x81";  // ▁

// <unk> 0, then (with byte tokens) <0x00>..<0xFF> 1..256, then `pieces`; merges by piece text.
// Gemma-like by default: Replace(" " -> "▁"), no pre-tokenizer, Replace/ByteFallback/Fuse/Strip.
struct SpSpec {
  std::vector<std::string> pieces = {kMeta, "a", "b", std::string(kMeta) + "a", "ab"};
  std::vector<std::pair<std::string, std::string>> merges = {{kMeta, "a"}, {"a", "b"}};
  bool byte_tokens = true;
  bool fuse_unk = true;
  int strip = 0;
  nlohmann::json normalizer = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMeta}};
  nlohmann::json pre_tokenizer = nullptr;
  nlohmann::json added = nlohmann::json::array();
};

nlohmann::json SpJson(const SpSpec& spec) {
  nlohmann::json vocab = {{"<unk>", 0}};
  int next = 1;
  if (spec.byte_tokens) {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      vocab[name] = next++;
    }
  }
  for (const std::string& piece : spec.pieces) vocab[piece] = next++;
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& [a, b] : spec.merges) merges.push_back({a, b});
  nlohmann::json decoders = {
      {{"type", "Replace"}, {"pattern", {{"String", kMeta}}}, {"content", " "}},
      {{"type", "ByteFallback"}},
      {{"type", "Fuse"}}};
  if (spec.strip > 0) {
    decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", spec.strip}, {"stop", 0}});
  }
  return {{"version", "1.0"},
          {"added_tokens", spec.added},
          {"normalizer", spec.normalizer},
          {"pre_tokenizer", spec.pre_tokenizer},
          {"decoder", {{"type", "Sequence"}, {"decoders", decoders}}},
          {"model",
           {{"type", "BPE"},
            {"unk_token", "<unk>"},
            {"fuse_unk", spec.fuse_unk},
            {"byte_fallback", spec.byte_tokens},
            {"vocab", vocab},
            {"merges", merges}}}};
}

int32_t Id(const Tokenizer& t, const std::string& token) { return t.TokenId(token).value_or(-1); }

TEST(SentencePieceTest, BytesFallBackAndMergesRunOverTheWholeStretch) {
  auto t = LoadOrDie(SpJson(SpSpec{}));
  // "ab a\xC3\xA9" -> "ab▁aé": ▁a (rank 0) and ab merge; é falls back to its UTF-8 bytes.
  EXPECT_THAT(t->Encode("ab a\xC3\xA9", false),
              ElementsAre(Id(*t, "ab"), Id(*t, std::string(kMeta) + "a"), Id(*t, "<0xC3>"),
                          Id(*t, "<0xA9>")));
  EXPECT_EQ(t->Decode(t->Encode("ab a\xC3\xA9", false)), "ab a\xC3\xA9");
  // Invalid UTF-8 input goes out byte for byte.
  EXPECT_THAT(t->Encode("\xFF", false), ElementsAre(Id(*t, "<0xFF>")));
}

TEST(SentencePieceTest, UnknownCharactersWithoutByteTokensBecomeUnk) {
  SpSpec spec;
  spec.byte_tokens = false;
  auto fused = LoadOrDie(SpJson(spec));
  EXPECT_THAT(fused->Encode("a\xC3\xA9\xC3\xA9" "b", false), ElementsAre(Id(*fused, "a"), 0, Id(*fused, "b")));
  spec.fuse_unk = false;
  auto unfused = LoadOrDie(SpJson(spec));
  EXPECT_THAT(unfused->Encode("a\xC3\xA9\xC3\xA9", false), ElementsAre(Id(*unfused, "a"), 0, 0));
}

TEST(SentencePieceTest, MetaspacePrependsOnlyAtTheStartOfTheInput) {
  SpSpec spec;
  spec.normalizer = nullptr;
  spec.pre_tokenizer = {{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "first"},
                        {"split", true}};
  spec.added = {{{"id", 262}, {"content", "<x>"}, {"special", true}, {"normalized", false}}};
  auto t = LoadOrDie(SpJson(spec));
  int32_t meta_a = Id(*t, std::string(kMeta) + "a");
  EXPECT_THAT(t->Encode("a a", true), ElementsAre(meta_a, meta_a));
  EXPECT_THAT(t->Encode("<x>a", true), ElementsAre(262, Id(*t, "a")));
}

TEST(SentencePieceTest, LiteralSplitMergesTheDelimiterWithThePreviousPiece) {
  SpSpec spec;
  spec.pre_tokenizer = {{"type", "Split"}, {"pattern", {{"String", kMeta}}},
                        {"behavior", "MergedWithPrevious"}, {"invert", false}};
  auto t = LoadOrDie(SpJson(spec));
  // "a b" -> "a▁" + "b": the ▁a merge can no longer join ▁ to the following a.
  EXPECT_THAT(t->Encode("a a", false), ElementsAre(Id(*t, "a"), Id(*t, kMeta), Id(*t, "a")));
}

TEST(SentencePieceTest, NormalizedAddedTokensMatchTheNormalizedText) {
  SpSpec spec;
  spec.added = {{{"id", 262}, {"content", std::string(kMeta) + "b"}, {"special", false},
                 {"normalized", true}}};
  auto t = LoadOrDie(SpJson(spec));
  EXPECT_THAT(t->Encode("a b", false), ElementsAre(Id(*t, "a"), 262));

  spec.added[0]["special"] = true;  // special ranges are positions in the raw text
  auto status = Tokenizer::FromJson(SpJson(spec).dump()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
}

TEST(SentencePieceTest, DecodeFollowsByteFallbackAndStrip) {
  SpSpec spec;
  spec.strip = 1;
  auto t = LoadOrDie(SpJson(spec));
  int32_t meta = Id(*t, kMeta), a = Id(*t, "a");
  EXPECT_EQ(t->Decode(std::vector<int32_t>{meta, meta, a}), " a");  // one leading " " stripped
  // A run of byte tokens that is not UTF-8 as a whole: one U+FFFD per token, as HF.
  EXPECT_EQ(t->Decode(std::vector<int32_t>{Id(*t, "<0xE4>"), Id(*t, "<0xBD>"), a}),
            "\xEF\xBF\xBD\xEF\xBF\xBD" "a");
  EXPECT_EQ(t->TokenBytes(meta), " ");

  StreamDecoder stream(*t);
  EXPECT_EQ(stream.Push(meta), "");  // the stripped leading space
  EXPECT_EQ(stream.Push(meta), " ");
  EXPECT_EQ(stream.Push(Id(*t, "<0xE4>")), "");
  EXPECT_EQ(stream.Push(Id(*t, "<0xBD>")), "");
  EXPECT_EQ(stream.Push(Id(*t, "<0xA0>")), "\xE4\xBD\xA0");  // 你, completed by its last byte
  EXPECT_EQ(stream.Push(meta), " ");                          // strip applies only at the start
  EXPECT_EQ(stream.Flush(), "");
}

TEST(SentencePieceTest, NamesUnsupportedComponents) {
  nlohmann::json json = SpJson(SpSpec{});
  json["normalizer"] = {{"type", "NFKC"}};
  EXPECT_EQ(Tokenizer::FromJson(json.dump()).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(Tokenizer::FromJson(json.dump()).status().message(), HasSubstr("NFKC"));

  json = SpJson(SpSpec{});
  json["decoder"]["decoders"] = {{{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}},
                                 {{"type", "Fuse"}}};
  EXPECT_EQ(Tokenizer::FromJson(json.dump()).status().code(), absl::StatusCode::kUnimplemented);

  json = SpJson(SpSpec{});
  json["decoder"] = {{"type", "Metaspace"}};
  EXPECT_THAT(Tokenizer::FromJson(json.dump()).status().message(), HasSubstr("Metaspace"));

  json = SpJson(SpSpec{});
  json["model"]["unk_token"] = "<nope>";
  EXPECT_EQ(Tokenizer::FromJson(json.dump()).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cai::inference
