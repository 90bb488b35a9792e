// PythonJsonDumps against Python 3.11's json.dumps(json.loads(text), ensure_ascii=False[, indent=4]):
// the expected texts were printed by Python itself.
#include "services/inference/engine/tokenizer/python_json.h"

#include <string>

#include <gtest/gtest.h>

namespace cai::inference {
namespace {

std::string Dumps(const char* json, std::optional<int> indent = std::nullopt) {
  return PythonJsonDumps(nlohmann::ordered_json::parse(json), indent);
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
  EXPECT_EQ(Dumps("[1.0, 100.0, 0.1, 0.30000000000000004, 2.5e-7, -12345678901234567890.0, 9007199254740993, "
                  "-9223372036854775808, 18446744073709551615]"),
            "[1.0, 100.0, 0.1, 0.30000000000000004, 2.5e-07, -1.2345678901234567e+19, 9007199254740993, "
            "-9223372036854775808, 18446744073709551615]");
}

TEST(PythonJsonTest, EscapesOnlyQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Dumps(R"({"s": "quote\" back\\ nl\n tab\t cr\r bs\b ff\f ctl\u0001\u001f del\u007f é 中 😀 \u2028 /"})"),
            "{\"s\": \"quote\\\" back\\\\ nl\\n tab\\t cr\\r bs\\b ff\\f ctl\\u0001\\u001f del\x7f é 中 😀 "
            "\xE2\x80\xA8 /\"}");
  EXPECT_EQ(PythonJsonString("{\"temp_c\": 18}"), R"("{\"temp_c\": 18}")");
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
