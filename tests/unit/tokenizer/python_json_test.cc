// PythonJsonDumps against Python 3.11's json.dumps(json.loads(text), ensure_ascii=False[, indent=4]):
// the expected texts were printed by Python itself.
#include "services/inference/engine/tokenizer/python_json.h"

#include <string>

#include <gtest/gtest.h>

namespace cai::inference {
namespace {

std::string Dumps(const char* json, std::optional<int> indent = std::nullopt) {
  absl::StatusOr<std::string> out = PythonJsonDumps(json, indent);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "";
}

TEST(PythonJsonTest, KeepsKeyOrderAndWritesFloatsAsPythonRepr) {
  const char* json =
      R"({"b": 1, "a": [1, 2.5, -0.0, 1e-05, 0.0001, 1e16, 1e15, 123456789.125, 1.7976931348623157e308, 5e-324,)"
      R"( true, false, null]})";
  EXPECT_EQ(Dumps(json),
            R"({"b": 1, "a": [1, 2.5, -0.0, 1e-05, 0.0001, 1e+16, 1000000000000000.0, 123456789.125, )"
            R"(1.7976931348623157e+308, 5e-324, true, false, null]})");
  EXPECT_EQ(Dumps(json, 4), R"({
    "b": 1,
    "a": [
        1,
        2.5,
        -0.0,
        1e-05,
        0.0001,
        1e+16,
        1000000000000000.0,
        123456789.125,
        1.7976931348623157e+308,
        5e-324,
        true,
        false,
        null
    ]
})");
}

TEST(PythonJsonTest, NumbersAtTheEdgesOfEachForm) {
  EXPECT_EQ(Dumps(R"({"n": [1.0, 100.0, 0.1, 0.30000000000000004, 2.5e-7, -12345678901234567890.0, )"
                  R"(9007199254740993, -9223372036854775808, 18446744073709551615]})"),
            R"({"n": [1.0, 100.0, 0.1, 0.30000000000000004, 2.5e-07, -1.2345678901234567e+19, 9007199254740993, )"
            R"(-9223372036854775808, 18446744073709551615]})");
}

TEST(PythonJsonTest, EscapesOnlyQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Dumps(R"({"s": "quote\" back\\ nl\n tab\t cr\r bs\b ff\f ctl\u0001\u001f del\u007f é 中 😀 \u2028 /"})"),
            "{\"s\": \"quote\\\" back\\\\ nl\\n tab\\t cr\\r bs\\b ff\\f ctl\\u0001\\u001f del\x7f é 中 😀 "
            "\xE2\x80\xA8 /\"}");
  EXPECT_EQ(PythonJsonString("{\"temp_c\": 18}"), R"("{\"temp_c\": 18}")");
}

// Indented inside a document written around it, as a tool's parameters are.
TEST(PythonJsonTest, IndentsFromTheLevelItSitsAt) {
  EXPECT_EQ(*PythonJsonDumps(R"({"a": [1, {}], "b": {}})", 4, 2), R"({
            "a": [
                1,
                {}
            ],
            "b": {}
        })");
}

TEST(PythonJsonTest, RefusesWhatIsNotOneObject) {
  for (const char* text : {"[1]", "1", "\"s\"", "{", "{} {}", "{\"a\": 1,}", ""}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(PythonJsonDumps(text).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(PythonJsonDumps("[]").status().message(), "is not the JSON text of an object");
  EXPECT_EQ(PythonJsonDumps(R"({"a":1,"a":2,)").status().message(), "is not valid JSON");
  for (const char* text : {R"({"a": "\ud800"})", R"({"a": 1e400})", "{\"a\": \"\xff\"}"}) {
    EXPECT_EQ(PythonJsonDumps(text).status().message(), "is not valid JSON") << text;
  }
  EXPECT_EQ(PythonJsonDumps("{\"a\": " + std::string(200, '[') + std::string(200, ']') + "}").status().message(),
            "nests deeper than 128");
}

// A repeated key (a model writing a free object may repeat one, and the client sends the call back)
// keeps its first place and takes its last value, as Python's json.loads then json.dumps.
TEST(PythonJsonTest, ARepeatedKeyKeepsItsFirstPlaceAndLastValue) {
  EXPECT_EQ(Dumps(R"({"a":1,"b":{"x":1,"x":[2]},"a":3})"), R"({"a": 3, "b": {"x": [2]}})");
  EXPECT_EQ(Dumps(R"({"a": {"k": 1}, "b": {"k": 2}})"), R"({"a": {"k": 1}, "b": {"k": 2}})");
  std::string long_text = R"({"a": 1, "a": 2, "pad": ")" + std::string(70 * 1024, 'x') + "\"}";
  EXPECT_EQ(PythonJsonDumps(long_text).status().message(), "repeats a key in one object");
}

// Indentation grows with depth: what is written is bounded, not only what is read.
TEST(PythonJsonTest, WhatIsWrittenIsBounded) {
  std::string deep = "{\"a\": ";
  for (int i = 0; i < 100; ++i) deep += "[";
  deep += "1";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "}";
  EXPECT_EQ(PythonJsonDumps(deep, 4, 0, 16 * 1024).status().message(), "is longer than 16384 bytes once written");
  EXPECT_TRUE(PythonJsonDumps(deep, 4).ok());
}

// A hostile object of many keys is written in linear time (a key-ordered tree would take seconds).
TEST(PythonJsonTest, ManyKeysAreWrittenInOnePass) {
  std::string text = "{";
  for (int i = 0; i < 200000; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  text += "}";
  absl::StatusOr<std::string> out = PythonJsonDumps(text);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->size(), text.size() + (200000 - 1) + 200000);  // ", " and ": " for "," and ":"
}

TEST(PythonJsonTest, EmptyContainersStayOnOneLine) {
  const char* json = R"({"empty": {}, "list": [], "nested": {"x": [{"y": {}}, []]}})";
  EXPECT_EQ(Dumps(json), json);
  EXPECT_EQ(Dumps(json, 4), R"({
    "empty": {},
    "list": [],
    "nested": {
        "x": [
            {
                "y": {}
            },
            []
        ]
    }
})");
}

}  // namespace
}  // namespace cai::inference
