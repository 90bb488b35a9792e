#include "services/inference/engine/tokenizer/stream_decoder.h"

#include <gtest/gtest.h>

#include "services/inference/engine/tokenizer/utf8.h"
#include "tests/unit/tokenizer/test_util.h"

namespace cai::inference {
namespace {

using ::cai::inference::testing::LoadOrDie;
using ::cai::inference::testing::TinyJson;
using ::cai::inference::testing::TinySpec;

std::unique_ptr<Tokenizer> ByteTokenizer() {
  TinySpec spec;
  spec.added = {{{"id", 256}, {"content", "<|eot_id|>"}, {"special", true}}};
  return LoadOrDie(TinyJson(spec));
}

TEST(StreamDecoderTest, NeverSplitsAMultibyteCharacter) {
  auto tokenizer = ByteTokenizer();
  StreamDecoder decoder(*tokenizer);
  EXPECT_EQ(decoder.Push('a'), "a");
  EXPECT_EQ(decoder.Push(0xF0), "");
  EXPECT_EQ(decoder.Push(0x9F), "");
  EXPECT_EQ(decoder.Push(0x98), "");
  EXPECT_EQ(decoder.Push(0x80), "\xF0\x9F\x98\x80");  // 😀
  EXPECT_EQ(decoder.Flush(), "");
}

TEST(StreamDecoderTest, SkipsSpecialTokensByDefault) {
  auto tokenizer = ByteTokenizer();
  StreamDecoder skipping(*tokenizer);
  EXPECT_EQ(skipping.Push(0xD0), "");
  EXPECT_EQ(skipping.Push(256), "");
  EXPECT_EQ(skipping.Push(0x96), "\xD0\x96");  // Ж, joined across the skipped token
  StreamDecoder keeping(*tokenizer, /*skip_special_tokens=*/false);
  EXPECT_EQ(keeping.Push(256), "<|eot_id|>");
}

TEST(StreamDecoderTest, InvalidBytesBecomeReplacementOnceTheyCannotComplete) {
  auto tokenizer = ByteTokenizer();
  StreamDecoder decoder(*tokenizer);
  EXPECT_EQ(decoder.Push(0xE2), "");
  EXPECT_EQ(decoder.Push(0x82), "");
  EXPECT_EQ(decoder.Push('x'), "\xEF\xBF\xBDx");  // E2 82 then 'x': one U+FFFD for E2 82
  EXPECT_EQ(decoder.Push(0xFF), "\xEF\xBF\xBD");
  EXPECT_EQ(decoder.Push(0xC3), "");
  EXPECT_EQ(decoder.Flush(), "\xEF\xBF\xBD");  // truncated at the end
  EXPECT_EQ(decoder.Flush(), "");
}

TEST(StreamDecoderTest, ConcatenationEqualsDecode) {
  auto tokenizer = ByteTokenizer();
  std::string text = "Zoë says 你好, مرحبا 👋🏽!\n";
  std::vector<int32_t> ids = tokenizer->Encode(text, false);
  StreamDecoder decoder(*tokenizer);
  std::string streamed;
  for (int32_t id : ids) {
    std::string piece = decoder.Push(id);
    std::string valid;
    EXPECT_EQ(AppendUtf8Lossy(piece, true, &valid), piece.size());
    EXPECT_EQ(valid, piece);  // every piece is valid UTF-8 on its own
    streamed += piece;
  }
  streamed += decoder.Flush();
  EXPECT_EQ(streamed, text);
  EXPECT_EQ(tokenizer->Decode(ids), text);
}

TEST(Utf8Test, LossyFollowsMaximalSubparts) {
  std::string out;
  // ED A0 80 is a surrogate: ED is a maximal subpart on its own, then A0 and 80 each.
  EXPECT_EQ(AppendUtf8Lossy("\xED\xA0\x80" "a\xF4\x90", true, &out), 6u);
  EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "a\xEF\xBF\xBD\xEF\xBF\xBD");
  out.clear();
  EXPECT_EQ(AppendUtf8Lossy("ab\xE4\xBD", false, &out), 2u);  // holds back the partial 你
  EXPECT_EQ(out, "ab");
}

}  // namespace
}  // namespace cai::inference
