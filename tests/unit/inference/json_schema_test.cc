// The schema compiler's refusals, and JsonSchemaPrefix against a direct reading of the schema
// (json_schema_oracle.h): what it admits satisfies the schema, and what satisfies the schema, in
// compact or indented JSON, it admits.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "services/inference/engine/json_schema.h"
#include "services/inference/engine/json_schema_prefix.h"
#include "tests/unit/inference/json_schema_instances.h"
#include "tests/unit/inference/json_schema_oracle.h"

namespace cai::inference {
namespace {

using Json = nlohmann::json;
using testing::InstanceMaker;
using testing::kPersonSchema;
using testing::Satisfies;

std::shared_ptr<const JsonSchema> MustCompile(const std::string& text) {
  absl::StatusOr<std::shared_ptr<const JsonSchema>> schema = JsonSchema::Parse(text);
  EXPECT_TRUE(schema.ok()) << schema.status();
  return schema.ok() ? *schema : nullptr;
}

// --- The compiler -----------------------------------------------------------------------------

struct RefusedSchema {
  std::string name;
  std::string schema;
  std::string message;  // a part of the error
};

void PrintTo(const RefusedSchema& c, std::ostream* os) { *os << c.name; }

class JsonSchemaRefusal : public ::testing::TestWithParam<RefusedSchema> {};

TEST_P(JsonSchemaRefusal, IsInvalidArgumentNamingTheCause) {
  absl::StatusOr<std::shared_ptr<const JsonSchema>> schema = JsonSchema::Parse(GetParam().schema);
  ASSERT_FALSE(schema.ok());
  EXPECT_EQ(schema.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(schema.status().message().find(GetParam().message), std::string::npos) << schema.status();
}

std::string Object(const std::string& property) {
  return R"({"type":"object","properties":{"p":)" + property + "}}";
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonSchemaRefusal,
    ::testing::Values(
        RefusedSchema{"not_json", "{", "not valid JSON"},
        RefusedSchema{"root_not_object", R"({"type":"array"})", "the root must be an object"},
        RefusedSchema{"root_nullable", R"({"type":["object","null"]})", "the root must be an object"},
        RefusedSchema{"root_false", "false", "admits no value"},
        RefusedSchema{"minimum", Object(R"({"type":"integer","minimum":0})"), "at 'properties.p': 'minimum' is not"},
        RefusedSchema{"pattern", Object(R"({"type":"string","pattern":"^a$"})"), "'pattern' is not supported"},
        RefusedSchema{"format", Object(R"({"type":"string","format":"date-time"})"), "'format' is not supported"},
        RefusedSchema{"max_length", Object(R"({"type":"string","maxLength":3})"), "'maxLength' is not supported"},
        RefusedSchema{"all_of", Object(R"({"allOf":[{"type":"string"}]})"), "'allOf' is not supported"},
        RefusedSchema{"unique_items", Object(R"({"type":"array","uniqueItems":true})"), "'uniqueItems'"},
        RefusedSchema{"tuple_items", Object(R"({"type":"array","items":[{"type":"string"}]})"), "a tuple"},
        RefusedSchema{"min_above_max", Object(R"({"type":"array","minItems":3,"maxItems":2})"), "above 'maxItems'"},
        RefusedSchema{"negative_count", Object(R"({"type":"array","maxItems":-1})"), "'maxItems' must be an integer"},
        RefusedSchema{"additional_schema",
                      R"({"type":"object","properties":{},"additionalProperties":{"type":"string"}})",
                      "'additionalProperties' as a schema"},
        RefusedSchema{"required_undeclared", R"({"type":"object","properties":{"a":{}},"required":["b"]})",
                      "'required' names 'b'"},
        RefusedSchema{"required_without_properties", R"({"type":"object","required":["b"]})", "'required' names"},
        RefusedSchema{"overlapping_any_of", Object(R"({"anyOf":[{"type":"object"},{"type":"object"}]})"),
                      "must be of different kinds"},
        RefusedSchema{"overlapping_types", Object(R"({"type":["number","integer"]})"), "must be of different kinds"},
        RefusedSchema{"enum_and_string", Object(R"({"anyOf":[{"enum":["a"]},{"type":"string"}]})"),
                      "must be of different kinds"},
        RefusedSchema{"any_beside_null", Object(R"({"anyOf":[{},{"type":"null"}]})"), "must be of different kinds"},
        RefusedSchema{"any_of_and_type", Object(R"({"anyOf":[{"type":"null"}],"type":"string"})"),
                      "'type' beside 'anyOf'"},
        RefusedSchema{"ref_and_type", Object(R"({"$ref":"#","type":"object"})"), "'type' beside '$ref'"},
        RefusedSchema{"ref_outside", Object(R"({"$ref":"https://example.com/s.json"})"), "must point into"},
        RefusedSchema{"ref_dangling", Object(R"({"$ref":"#/$defs/Nope"})"), "points at nothing"},
        RefusedSchema{"ref_to_itself", R"({"type":"object","properties":{"p":{"$ref":"#/$defs/A"}},)"
                                       R"("$defs":{"A":{"$ref":"#/$defs/A"}}})",
                      "refers to itself with no value in between"},
        RefusedSchema{"one_of_zero_and_negative_zero", Object(R"({"oneOf":[{"const":0},{"const":-0.0}]})"),
                      "must be of different kinds"},
        RefusedSchema{"negative_and_positive_numbers", Object(R"({"anyOf":[{"enum":[-1]},{"type":"integer"}]})"),
                      "must be of different kinds"},
        RefusedSchema{"id_below_the_root",
                      Object(R"({"$id":"http://x.com/a","$defs":{"x":{"type":"string"}},"$ref":"#/$defs/x"})"),
                      "'$id' below the root"},
        RefusedSchema{"percent_encoded_ref",
                      R"({"type":"object","properties":{"a":{"$ref":"#/$defs/a%25b"}},"$defs":{"a%b":{}}})",
                      "percent-encoding"},
        RefusedSchema{"one_of_objects_without_discriminator",
                      Object(R"({"oneOf":[{"type":"object","properties":{"a":{}}},)"
                             R"({"type":"object","properties":{"b":{}}}]})"),
                      "(a discriminator)"},
        RefusedSchema{"objects_sharing_a_property_with_two_schemas",
                      Object(R"({"anyOf":[{"type":"object","properties":{"x":{"type":"string"}}},)"
                             R"({"type":"object","properties":{"x":{"type":"integer"}}}]})"),
                      "with different schemas"},
        RefusedSchema{"ref_cycle_below_merged_objects",
                      R"({"type":"object","properties":{"p":{"anyOf":[)"
                      R"({"type":"object","properties":{"x":{"$ref":"#/$defs/L"}}},)"
                      R"({"type":"object","properties":{"x":{"type":"string"}}}]}},"$defs":{"L":{"$ref":"#/$defs/L"}}})",
                      "json_schema at 'properties.p'"},
        // Two chains of $defs, 64 properties a level, alike in shape: comparing them node by node
        // would take 64^7 steps; the budget gives up and the objects are refused, at once.
        RefusedSchema{"objects_too_costly_to_compare",
                      [] {
                        std::string defs;
                        for (const char* chain : {"D", "E"}) {
                          for (int level = 0; level < 8; ++level) {
                            defs += (defs.empty() ? "\"" : ",\"") + std::string(chain) + std::to_string(level) + "\":";
                            if (level == 7) {
                              defs += R"({"type":"string"})";
                              continue;
                            }
                            std::string properties;
                            for (int i = 0; i < 64; ++i) {
                              properties += (i > 0 ? ",\"p" : "\"p") + std::to_string(i) + R"(":{"$ref":"#/$defs/)" +
                                            chain + std::to_string(level + 1) + "\"}";
                            }
                            defs += R"({"type":"object","properties":{)" + properties + "}}";
                          }
                        }
                        return R"({"type":"object","properties":{"p":{"anyOf":[)"
                               R"({"type":"object","properties":{"x":{"$ref":"#/$defs/D0"}}},)"
                               R"({"type":"object","properties":{"x":{"$ref":"#/$defs/E0"}}}]}},"$defs":{)" +
                               defs + "}}";
                      }(),
                      "with different schemas"},
        RefusedSchema{"one_of_discriminated_by_one_number_written_twice",
                      Object(R"({"oneOf":[{"type":"object","properties":{"k":{"const":1}},"required":["k"]},)"
                             R"({"type":"object","properties":{"k":{"const":1.0}},"required":["k"]}]})"),
                      "(a discriminator)"},
        RefusedSchema{"merged_enums_count",
                      [] {
                        std::string values;
                        for (int i = 0; i < 600; ++i) values += (i > 0 ? ",\"v" : "\"v") + std::to_string(i) + "\"";
                        const std::string a = R"({"type":"object","properties":{"k":{"enum":[)" + values + "]}}}";
                        const std::string b = R"({"type":"object","properties":{"k":{"const":"w"}}})";
                        return Object(R"({"anyOf":[)" + a + "," + b + "]}");
                      }(),
                      "more than 1024 enum values"},
        RefusedSchema{"object_and_free_object", Object(R"({"anyOf":[{"type":"object","properties":{"a":{}}},)"
                                                       R"({"type":"object"}]})"),
                      "must be of different kinds"},
        RefusedSchema{"unknown_type", Object(R"({"type":"date"})"), "'date' is not a JSON Schema type"},
        RefusedSchema{"empty_enum", Object(R"({"enum":[]})"), "non-empty list"},
        RefusedSchema{"enum_none_of_type", Object(R"({"type":"string","enum":[1,2]})"), "no value satisfies"},
        RefusedSchema{"const_not_in_enum", Object(R"({"const":"a","enum":["b"]})"), "no value satisfies"},
        RefusedSchema{"schema_not_object", Object("3"), "must be an object or a boolean"},
        RefusedSchema{"false_property", Object("false"), "admits no value"},
        RefusedSchema{"nested_too_deep",
                      [] {
                        std::string schema = R"({"type":"object","properties":{"p":)";
                        for (int i = 0; i < 70; ++i) schema += R"({"type":"array","items":)";
                        schema += "{}";
                        for (int i = 0; i < 70; ++i) schema += "}";
                        return schema + "}}";
                      }(),
                      "nest deeper than 64"},
        RefusedSchema{"too_many_properties",
                      [] {
                        std::string schema = R"({"type":"object","properties":{)";
                        for (int i = 0; i < 65; ++i) schema += (i > 0 ? ",\"p" : "\"p") + std::to_string(i) + "\":{}";
                        return schema + "}}";
                      }(),
                      "at most 64 properties"}),
    [](const ::testing::TestParamInfo<RefusedSchema>& info) { return info.param.name; });

// Property names and enum values become their compact JSON texts, sorted bytewise; the annotations
// pydantic and the OpenAI SDK write (title, description, default, strict) are ignored.
TEST(JsonSchema, CompilesNamesAndValuesToSortedJsonTexts) {
  std::shared_ptr<const JsonSchema> schema = MustCompile(
      R"({"title":"T","type":"object","properties":{"b":{"enum":[2,"x",true,null,1]},"a\"q":{"type":"string",)"
      R"("description":"d","default":"z"}},"required":["b"],"additionalProperties":false})");
  ASSERT_NE(schema, nullptr);
  const JsonSchema::Node& root = schema->node(JsonSchema::kRoot);
  EXPECT_EQ(root.kind, JsonSchema::Kind::kObject);
  EXPECT_EQ(root.keys, (std::vector<std::string>{R"("a\"q")", R"("b")"}));
  EXPECT_EQ(root.required, 0b10u);
  const JsonSchema::Node& b = schema->node(root.values[1]);
  EXPECT_EQ(b.kind, JsonSchema::Kind::kLiterals);
  EXPECT_EQ(b.literals, (std::vector<std::string>{"\"x\"", "1", "2", "null", "true"}));
}

// Literals are compared as written: an integral float in an integer enum is written as nlohmann
// writes it, and a root $id is harmless.
TEST(JsonSchema, TakesIntegralFloatsAsIntegersAndARootId) {
  std::shared_ptr<const JsonSchema> schema =
      MustCompile(R"({"$id":"http://x.com/s","type":"object","properties":{"n":{"type":"integer","enum":[1e30, 2.5]}}})");
  ASSERT_NE(schema, nullptr);
  JsonSchemaPrefix state(*schema);
  EXPECT_TRUE(state.Feed(R"({"n":1e+30})"));
  EXPECT_TRUE(state.complete());
  JsonSchemaPrefix refused(*schema);
  EXPECT_FALSE(refused.Feed(R"({"n":2.5})")) << "2.5 is no integer";
}

// --- The recognizer ---------------------------------------------------------------------------

// How many bytes of `text` the schema admits before refusing one, and whether it is then whole.
struct Fed {
  size_t admitted = 0;
  bool complete = false;
};
Fed FeedAll(const JsonSchema& schema, const std::string& text) {
  JsonSchemaPrefix state(schema);
  Fed fed;
  while (fed.admitted < text.size() && state.Feed(static_cast<uint8_t>(text[fed.admitted]))) ++fed.admitted;
  fed.complete = state.complete();
  return fed;
}

// Every value the schema admits, compact or indented, is admitted whole, and the oracle agrees it
// satisfies the schema (the test of the test).
TEST(JsonSchemaPrefix, AdmitsEveryValueOfTheSchemaInAnyLayout) {
  const Json root = Json::parse(kPersonSchema);
  std::shared_ptr<const JsonSchema> schema = MustCompile(kPersonSchema);
  ASSERT_NE(schema, nullptr);
  InstanceMaker maker(root, 1);
  for (int i = 0; i < 300; ++i) {
    const Json value = maker.Make(root);
    ASSERT_TRUE(Satisfies(value, root, root)) << value.dump();
    for (int indent : {-1, 0, 2}) {
      const std::string text = value.dump(indent);
      const Fed fed = FeedAll(*schema, text);
      ASSERT_EQ(fed.admitted, text.size()) << "refused at byte " << fed.admitted << " of " << text;
      EXPECT_TRUE(fed.complete) << text;
    }
  }
}

// Every text that one byte of change away from a valid one still completes satisfies the schema:
// what the recognizer lets a model finish, a client's validator accepts.
TEST(JsonSchemaPrefix, WhatCompletesSatisfiesTheSchema) {
  const Json root = Json::parse(kPersonSchema);
  std::shared_ptr<const JsonSchema> schema = MustCompile(kPersonSchema);
  ASSERT_NE(schema, nullptr);
  InstanceMaker maker(root, 2);
  std::mt19937 rng(3);
  static const char kBytes[] = "{}[]\",:0123456789-.eE tfnul\\aqz";
  int completed = 0;
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text = maker.Make(root).dump(i % 2 == 0 ? -1 : 1);
    const size_t at = std::uniform_int_distribution<size_t>(0, text.size() - 1)(rng);
    const char byte = kBytes[std::uniform_int_distribution<size_t>(0, sizeof(kBytes) - 2)(rng)];
    switch (i % 3) {
      case 0: text[at] = byte; break;
      case 1: text.insert(at, 1, byte); break;
      default: text.erase(at, 1); break;
    }
    const Fed fed = FeedAll(*schema, text);
    if (fed.admitted == text.size() && fed.complete) {
      ++completed;
      Json value;
      try {
        value = Json::parse(text);
      } catch (const Json::out_of_range&) {
        continue;  // a number beyond a double's range (a changed exponent): JSON, but nlohmann refuses it
      } catch (const Json::parse_error&) {
        FAIL() << "whole, yet not JSON: " << text;
      }
      EXPECT_TRUE(Satisfies(value, root, root)) << text;
    } else {
      ++refused;
    }
  }
  EXPECT_GT(completed, 100) << "some changes keep the text valid (a digit, a space)";
  EXPECT_GT(refused, 1000);
}

struct PrefixCase {
  std::string name;
  std::string schema;
  std::string text;
  size_t admitted;  // bytes admitted before the first refused one
  bool complete;
};

void PrintTo(const PrefixCase& c, std::ostream* os) { *os << c.name; }

class JsonSchemaPrefixCase : public ::testing::TestWithParam<PrefixCase> {};

TEST_P(JsonSchemaPrefixCase, AdmitsUpToTheFirstByteTheSchemaRulesOut) {
  std::shared_ptr<const JsonSchema> schema = MustCompile(GetParam().schema);
  ASSERT_NE(schema, nullptr);
  const Fed fed = FeedAll(*schema, GetParam().text);
  EXPECT_EQ(fed.admitted, GetParam().admitted) << GetParam().text;
  EXPECT_EQ(fed.complete, GetParam().complete);
}

// Two objects told apart by a discriminator ('kind', which need not come first) and by the
// properties only one declares.
constexpr const char* kPets = R"({"type":"object","properties":{"p":{"anyOf":[
    {"type":"object","properties":{"kind":{"const":"cat"},"meow":{"type":"boolean"},"name":{"type":"string"}},
     "required":["kind","meow"],"additionalProperties":false},
    {"type":"object","properties":{"kind":{"const":"dog"},"bark":{"type":"boolean"},"name":{"type":"string"}},
     "required":["kind"],"additionalProperties":false},
    {"type":"null"}]}}})";
constexpr const char* kAB =
    R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]})";
constexpr const char* kColors = R"({"type":"object","properties":{"c":{"enum":["red","green"]}}})";
constexpr const char* kNumbers = R"({"type":"object","properties":{"n":{"enum":[1,12]}}})";
constexpr const char* kList =
    R"({"type":"object","properties":{"l":{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3}}})";

INSTANTIATE_TEST_SUITE_P(
    Table, JsonSchemaPrefixCase,
    ::testing::Values(
        PrefixCase{"whole", kAB, R"({"b":2, "a":1})", 14, true},
        PrefixCase{"missing_required", kAB, R"({"a":1})", 6, false},
        PrefixCase{"unknown_key", kAB, R"({"c":1})", 2, false},
        PrefixCase{"key_twice", kAB, R"({"a":1,"a":2})", 8, false},
        PrefixCase{"comma_with_every_key_written", kAB, R"({"a":1,"b":2,)", 12, false},
        PrefixCase{"string_for_integer", kAB, R"({"a":"1"})", 5, false},
        PrefixCase{"fraction_in_integer", kAB, R"({"a":1.5})", 6, false},
        PrefixCase{"exponent_in_integer", kAB, R"({"a":1e3})", 6, false},
        PrefixCase{"null_for_integer", kAB, R"({"a":null})", 5, false},
        PrefixCase{"negative_zero_integer", kAB, R"({"a":-0,"b":0})", 14, true},
        PrefixCase{"leading_zero", kAB, R"({"a":01})", 6, false},
        PrefixCase{"after_the_root", kAB, R"({"a":1,"b":2} )", 13, true},
        PrefixCase{"whitespace_before_the_root", kAB, "\n {", 3, false},
        PrefixCase{"whitespace_run", kAB, "{" + std::string(65, ' '), 65, false},
        PrefixCase{"enum_value", kColors, R"({"c":"green"})", 13, true},
        PrefixCase{"enum_mismatch", kColors, R"({"c":"blue"})", 6, false},
        PrefixCase{"enum_prefix_only", kColors, R"({"c":"re"})", 8, false},
        PrefixCase{"enum_escaped_differently", kColors, R"({"c":"\u0072ed"})", 6, false},
        PrefixCase{"number_that_another_extends", kNumbers, R"({"n":1})", 7, true},
        PrefixCase{"the_longer_number", kNumbers, R"({"n":12})", 8, true},
        PrefixCase{"beyond_the_numbers", kNumbers, R"({"n":123})", 7, false},
        PrefixCase{"items_within_bounds", kList, R"({"l":[1,2,3]})", 13, true},
        PrefixCase{"too_many_items", kList, R"({"l":[1,2,3,4]})", 11, false},
        PrefixCase{"too_few_items", kList, R"({"l":[1]})", 7, false},
        PrefixCase{"empty_closed_object", R"({"type":"object","additionalProperties":false})", R"({"a")", 1, false},
        PrefixCase{"free_object", R"({"type":"object"})", R"({"a":[1,{"b":null}],"c":"d"})", 28, true},
        PrefixCase{"free_value", R"({"type":"object","properties":{"v":{}}})", R"({"v":[true, {"x":-1.5e3}]})", 26,
                   true},
        PrefixCase{"nullable_string", R"({"type":"object","properties":{"s":{"type":["string","null"]}}})",
                   R"({"s":null})", 10, true},
        PrefixCase{"objects_discriminator_first", kPets, R"({"p":{"kind":"cat","meow":true}})", 32, true},
        PrefixCase{"objects_discriminator_later", kPets, R"({"p":{"name":"x","kind":"dog"}})", 31, true},
        PrefixCase{"objects_null", kPets, R"({"p":null})", 10, true},
        PrefixCase{"objects_property_of_the_other", kPets, R"({"p":{"kind":"cat","bark")", 20, false},
        PrefixCase{"objects_key_twice", kPets, R"({"p":{"kind":"cat","kind":"cat"}})", 20, false},
        PrefixCase{"objects_discriminator_of_the_other", kPets, R"({"p":{"meow":true,"kind":"dog")", 26, false},
        PrefixCase{"objects_none_whole", kPets, R"({"p":{"name":"x"}})", 16, false},
        PrefixCase{"objects_cat_without_meow", kPets, R"({"p":{"kind":"cat"}})", 18, false},
        PrefixCase{"objects_sharing_an_optional_string",
                   R"({"type":"object","properties":{"p":{"oneOf":[)"
                   R"({"type":"object","properties":{"k":{"const":"a"},"n":{"anyOf":[{"type":"string"},{"type":"null"}]}},)"
                   R"("required":["k","n"]},)"
                   R"({"type":"object","properties":{"k":{"const":"b"},"n":{"anyOf":[{"type":"string"},{"type":"null"}]}},)"
                   R"("required":["k","n"]}]}}})",
                   R"({"p":{"n":null,"k":"b"}})", 24, true},
        PrefixCase{"no_items_allowed", R"({"type":"object","properties":{"l":{"type":"array","items":false}}})",
                   R"({"l":[1]})", 6, false}),
    [](const ::testing::TestParamInfo<PrefixCase>& info) { return info.param.name; });

// A recursive schema's text nests at most kMaxDepth schema objects and arrays: deeper, the byte that
// would open one more is refused (the choice then ends as "length"), so a model cannot recurse
// without end.
TEST(JsonSchemaPrefix, RecursionStopsAtTheDepthLimit) {
  std::shared_ptr<const JsonSchema> schema = MustCompile(
      R"({"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#"}}},"required":["kids"]})");
  ASSERT_NE(schema, nullptr);
  std::string open;  // each level: an object and an array
  for (int level = 0; level < JsonSchemaPrefix::kMaxDepth / 2; ++level) open += R"({"kids":[)";
  JsonSchemaPrefix state(*schema);
  ASSERT_TRUE(state.Feed(open));
  EXPECT_FALSE(state.Feed('{')) << "a 17th frame";
  ASSERT_TRUE(state.Feed(']'));
  for (int level = 1; level < JsonSchemaPrefix::kMaxDepth / 2; ++level) ASSERT_TRUE(state.Feed("}]"));
  ASSERT_TRUE(state.Feed('}'));
  EXPECT_TRUE(state.complete());
}

// A rejected byte leaves the state as it was (Feed copies); FeedOrSpoil answers the same.
TEST(JsonSchemaPrefix, FeedAndFeedOrSpoilAgree) {
  std::shared_ptr<const JsonSchema> schema = MustCompile(kPersonSchema);
  ASSERT_NE(schema, nullptr);
  const std::string text = Json::parse(R"({"name":"x","age":3,"mood":"calm","tags":[12],)"
                                       R"("home":{"city":"c","zip":null},"kind":"person"})")
                               .dump();
  JsonSchemaPrefix state(*schema);
  for (char c : text) {
    for (int byte = 0; byte < 256; ++byte) {
      JsonSchemaPrefix fed = state;
      JsonSchemaPrefix spoiled = state;
      const bool admitted = fed.Feed(static_cast<uint8_t>(byte));
      ASSERT_EQ(spoiled.FeedOrSpoil(static_cast<uint8_t>(byte)), admitted) << byte;
      if (!admitted) {
        ASSERT_EQ(fed.complete(), state.complete());
      }
    }
    ASSERT_TRUE(state.Feed(static_cast<uint8_t>(c)));
  }
  EXPECT_TRUE(state.complete());
}

}  // namespace
}  // namespace cai::inference
