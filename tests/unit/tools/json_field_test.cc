// Typed reads of outside JSON: a wrong type is an error naming the field, never a throw.
#include "tools/cai/json_field.h"

#include <gtest/gtest.h>

namespace cai::cli {
namespace {

using nlohmann::json;

TEST(JsonFieldTest, OptionalStringReadsStringsAndTreatsAbsentOrNullAsEmpty) {
  const json doc = {{"a", "x"}, {"n", nullptr}};
  EXPECT_EQ(*OptionalString(doc, "", "a"), "x");
  EXPECT_EQ(*OptionalString(doc, "", "n"), "");
  EXPECT_EQ(*OptionalString(doc, "", "missing"), "");
  EXPECT_EQ(*OptionalString(json::array({1, 2}), "", "a"), "");  // not an object: nothing to find
}

TEST(JsonFieldTest, WrongTypesAreErrorsNamingTheField) {
  const json doc = {{"event_log", 1}, {"info", {{"simulated", "yes"}, {"simulated_roots", {1}}}}};
  absl::StatusOr<std::string> log = OptionalString(doc, "", "event_log");
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().message(), "field 'event_log' must be a string (found number)");
  absl::StatusOr<bool> simulated = OptionalBool(doc["info"], "info", "simulated");
  ASSERT_FALSE(simulated.ok());
  EXPECT_EQ(simulated.status().message(), "field 'info.simulated' must be a boolean (found string)");
  absl::StatusOr<const json*> roots = OptionalObject(doc["info"], "info", "simulated_roots");
  ASSERT_FALSE(roots.ok());
  EXPECT_EQ(roots.status().message(), "field 'info.simulated_roots' must be an object (found array)");
}

TEST(JsonFieldTest, RequiredStringRejectsMissingAndEmpty) {
  EXPECT_FALSE(RequiredString(json::object(), "data[0]", "id").ok());
  EXPECT_EQ(RequiredString(json{{"id", ""}}, "data[0]", "id").status().message(),
            "field 'data[0].id' is missing or empty");
  EXPECT_EQ(*RequiredString(json{{"id", "m"}}, "data[0]", "id"), "m");
}

TEST(JsonFieldTest, OptionalBoolAndObjectDefaults) {
  EXPECT_FALSE(*OptionalBool(json::object(), "", "b"));
  EXPECT_TRUE(*OptionalBool(json{{"b", true}}, "", "b"));
  EXPECT_EQ(*OptionalObject(json::object(), "", "o"), nullptr);
  EXPECT_NE(*OptionalObject(json{{"o", json::object()}}, "", "o"), nullptr);
}

TEST(JsonFieldTest, ParseJsonObjectRejectsNonObjects) {
  EXPECT_TRUE(ParseJsonObject("{}", "doc").ok());
  EXPECT_EQ(ParseJsonObject("[1]", "the model list").status().message(), "the model list is not a JSON object");
  EXPECT_FALSE(ParseJsonObject("{", "doc").ok());
  EXPECT_FALSE(ParseJsonObject("", "doc").ok());
}

}  // namespace
}  // namespace cai::cli
