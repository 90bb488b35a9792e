#include "services/inference/engine/json_prefix.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cai::inference {
namespace {

// How far a text gets: the bytes fed before the first one refused, and whether it is whole.
struct Outcome {
  size_t fed = 0;
  bool complete = false;
};

Outcome FeedAll(std::string_view text) {
  JsonPrefix json;
  Outcome out;
  for (char c : text) {
    if (!json.Feed(static_cast<uint8_t>(c))) return out;
    ++out.fed;
  }
  out.complete = json.complete();
  return out;
}

bool Whole(std::string_view text) {
  const Outcome o = FeedAll(text);
  return o.fed == text.size() && o.complete;
}

// Every prefix of an object is taken, and only the whole text completes it.
TEST(JsonPrefixTest, ObjectsAreTakenByteByByteAndCompleteOnlyAtTheEnd) {
  const char* objects[] = {
      "{}",
      R"({"a":1})",
      " \n{ \"key\" : [1, -0, 0.5, -12.25e+3, 3E-2, 1e9, true, false, null, \"s\", {}, []] }",
      R"({"nested":{"deeper":[[[{"x":[]}]]]}})",
      R"({"escapes":"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"})",
      "{\"utf8\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xED\x9F\xBF \xF4\x8F\xBF\xBF\"}",
      "{\"\xC3\xA9\":0}",
  };
  for (const char* text : objects) {
    const std::string_view object(text);
    ASSERT_TRUE(nlohmann::json::accept(object)) << object;  // the cases themselves are JSON
    JsonPrefix json;
    for (size_t i = 0; i < object.size(); ++i) {
      EXPECT_FALSE(json.complete()) << object << " complete after " << i << " bytes";
      ASSERT_TRUE(json.Feed(static_cast<uint8_t>(object[i]))) << object << ": byte " << i << " refused";
    }
    EXPECT_TRUE(json.complete()) << object;
    EXPECT_FALSE(json.Feed(static_cast<uint8_t>(' '))) << "nothing follows the object, not even whitespace";
    EXPECT_FALSE(json.Feed(static_cast<uint8_t>('}')));
  }
}

TEST(JsonPrefixTest, RefusedByteLeavesTheStateAsItWas) {
  JsonPrefix json;
  ASSERT_TRUE(json.Feed(std::string_view(R"({"a":1)")));
  EXPECT_FALSE(json.Feed(static_cast<uint8_t>('x')));
  EXPECT_FALSE(json.Feed(static_cast<uint8_t>(']')));
  EXPECT_TRUE(json.Feed(std::string_view("2.5}")));
  EXPECT_TRUE(json.complete());
}

// Each case names what is wrong, and where the text must be refused (the offending byte).
struct Refusal {
  const char* name;
  std::string text;
  size_t refused_at;
};

class JsonPrefixRefusalTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(JsonPrefixRefusalTest, RefusesAtTheOffendingByte) {
  const Refusal& r = GetParam();
  const Outcome o = FeedAll(r.text);
  EXPECT_EQ(o.fed, r.refused_at) << r.text;
  EXPECT_FALSE(o.complete);
  const bool valid_object = nlohmann::json::accept(r.text) && nlohmann::json::parse(r.text).is_object();
  EXPECT_FALSE(valid_object) << "the case is a valid object: " << r.text;
}

INSTANTIATE_TEST_SUITE_P(
    Named, JsonPrefixRefusalTest,
    ::testing::Values(Refusal{"ArrayAtTopLevel", "[1]", 0}, Refusal{"StringAtTopLevel", "\"a\"", 0},
                      Refusal{"NumberAtTopLevel", "1", 0}, Refusal{"TextBeforeTheObject", "Sure! {}", 0},
                      Refusal{"TrailingComma", R"({"a":1,})", 7}, Refusal{"TrailingCommaInArray", R"({"a":[1,]})", 8},
                      Refusal{"UnquotedKey", "{a:1}", 1}, Refusal{"SingleQuotes", "{'a':1}", 1},
                      Refusal{"MissingColon", R"({"a" 1})", 5}, Refusal{"MissingComma", R"({"a":1 "b":2})", 7},
                      Refusal{"LeadingZero", R"({"a":01})", 6}, Refusal{"LeadingPlus", R"({"a":+1})", 5},
                      Refusal{"BarePoint", R"({"a":.5})", 5}, Refusal{"PointWithoutDigits", R"({"a":1.})", 7},
                      Refusal{"ExponentWithoutDigits", R"({"a":1e})", 7}, Refusal{"MinusAlone", R"({"a":-})", 6},
                      Refusal{"HexNumber", R"({"a":0x1})", 6}, Refusal{"NaN", R"({"a":NaN})", 5},
                      Refusal{"MisspelledTrue", R"({"a":tru})", 8}, Refusal{"Capitalised", R"({"a":True})", 5},
                      Refusal{"BadEscape", R"({"a":"\x"})", 7}, Refusal{"ShortUnicodeEscape", R"({"a":"\u12"})", 10},
                      Refusal{"RawNewlineInString", "{\"a\":\"x\ny\"}", 7}, Refusal{"RawTabInKey", "{\"\t\":1}", 2},
                      Refusal{"LoneLowSurrogate", R"({"a":"\uDC00"})", 9},
                      Refusal{"HighSurrogateThenText", R"({"a":"\uD83Dx"})", 12},
                      Refusal{"HighSurrogateThenOtherEscape", R"({"a":"\uD83D\n"})", 13},
                      Refusal{"HighSurrogateThenNonSurrogate", R"({"a":"\uD83D\u0041"})", 14},
                      Refusal{"TwoHighSurrogates", R"({"a":"\uD83D\uD83D"})", 15},
                      Refusal{"ContinuationByteAlone", "{\"a\":\"\x80\"}", 6},
                      Refusal{"OverlongSlash", "{\"a\":\"\xC0\xAF\"}", 6},
                      Refusal{"OverlongThreeBytes", "{\"a\":\"\xE0\x80\xAF\"}", 7},
                      Refusal{"EncodedSurrogate", "{\"a\":\"\xED\xA0\x80\"}", 7},
                      Refusal{"AboveU10FFFF", "{\"a\":\"\xF4\x90\x80\x80\"}", 7},
                      Refusal{"LeadByteF5", "{\"a\":\"\xF5\"}", 6},
                      Refusal{"TruncatedSequence", "{\"a\":\"\xC3\"}", 7},
                      Refusal{"NonAsciiOutsideStrings", "{\xC2\xA0\"a\":1}", 1},
                      Refusal{"MismatchedClose", R"({"a":[1}})", 7}, Refusal{"ExtraClose", "{}}", 2},
                      Refusal{"SecondObject", "{}{}", 2}, Refusal{"CommentAfterObject", "{} // done", 2}),
    [](const ::testing::TestParamInfo<Refusal>& info) { return std::string(info.param.name); });

TEST(JsonPrefixTest, NestingStopsAtTheDepthLimit) {
  std::string text = "{\"a\":";
  for (int depth = 1; depth < JsonPrefix::kMaxDepth; ++depth) text += "[";
  EXPECT_EQ(FeedAll(text).fed, text.size()) << "64 levels: the object and 63 arrays";
  EXPECT_EQ(FeedAll(text + "[").fed, text.size()) << "a 65th level is refused";
  EXPECT_EQ(FeedAll(text + "{").fed, text.size());
  std::string closed = text + "1";
  for (int depth = 1; depth < JsonPrefix::kMaxDepth; ++depth) closed += "]";
  EXPECT_TRUE(Whole(closed + "}"));
}

TEST(JsonPrefixTest, WhitespaceRunsStopAtTheLimit) {
  const std::string run(JsonPrefix::kMaxWhitespaceRun, '\n');
  EXPECT_TRUE(Whole("{" + run + "\"a\"" + run + ":" + run + "1" + run + "}"));
  EXPECT_EQ(FeedAll("{" + run + " ").fed, run.size() + 1) << "one more is refused";
  EXPECT_EQ(FeedAll(run + " ").fed, run.size()) << "before the object too";
  // Inside strings spaces are content, not a run (raw newlines are not JSON there).
  const std::string spaces(2 * JsonPrefix::kMaxWhitespaceRun, ' ');
  EXPECT_TRUE(Whole("{\"a\":\"" + spaces + "\"}"));
}

// The recogniser agrees with a JSON parser on a spread of texts: a whole object for it is
// accepted by nlohmann::json as an object, and each valid object within the limits is whole for it.
TEST(JsonPrefixTest, AgreesWithNlohmannJson) {
  const char* texts[] = {
      "{}", "{ }", "{\"a\":{}}", "{\"a\":[]}", "{\"a\":[{}]}", "{\"a\":1e5}", "{\"a\":1E+5}", "{\"a\":-0.0e-0}",
      "{\"a\":\"\\u0000\"}", "{\"\":\"\"}", "{\"a\":1,\"a\":2}", "{\"a\":[1,2,3,[4,[5]]]}", "{\"a\":\"\x7f\"}",
      "{\"a\" : null , \"b\" : [ true , false ] }", "{\"a\":123456789012345678901234567890}", "{\"a\":\"\\/\"}",
      "{\"a\":00}", "{\"a\":1.2.3}", "{\"a\":[,]}", "{,}", "{\"a\":1}x", "{\"a\":\"\\u00zz\"}", "{\"a\":-01}",
      "{\"a\":[1 2]}", "{\"a\"::1}", "{\"a\":1,,\"b\":2}", "{\"a\":\"\\uD800\\uDC00\"}", "{\"a\":\"\\uDBFF\\uDFFF\"}",
  };
  for (const char* text : texts) {
    const bool parses = nlohmann::json::accept(text) && nlohmann::json::parse(text).is_object();
    EXPECT_EQ(Whole(text), parses) << text;
  }
}

}  // namespace
}  // namespace cai::inference
