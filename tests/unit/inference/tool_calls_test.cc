// Tool calls: the compiled tool set, the Llama 3.1 call recognizer (against a direct reading of the
// call and its schema), and a choice that makes a call, on random logits.
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "services/inference/engine/call_or_json_prefix.h"
#include "services/inference/engine/choice_stream.h"
#include "services/inference/engine/json_token_mask.h"
#include "services/inference/engine/tokenizer/chat_template.h"
#include "services/inference/engine/tool_call_prefix.h"
#include "services/inference/engine/tool_set.h"
#include "tests/unit/inference/golden_llama3_mask.h"
#include "tests/unit/inference/json_schema_instances.h"
#include "tests/unit/inference/json_schema_oracle.h"

namespace cai::inference {
namespace {

using Json = nlohmann::json;
using testing::Satisfies;

constexpr const char* kWeather = R"({"type": "object", "properties": {"city": {"type": "string"},
    "unit": {"enum": ["C", "F"]}, "days": {"type": "integer"}}, "required": ["city"], "additionalProperties": false})";
constexpr const char* kAdd = R"({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"], "additionalProperties": false})";

std::shared_ptr<const ToolSet> Tools() {
  auto tools = ToolSet::Compile({{.name = "get_weather", .parameters = kWeather},
                                 {.name = "get", .parameters = ""},
                                 {.name = "add", .parameters = kAdd},
                                 {.name = "person", .parameters = testing::kPersonSchema}});
  EXPECT_TRUE(tools.ok()) << tools.status();
  return tools.ok() ? *tools : nullptr;
}

std::string Call(std::string_view name, std::string_view arguments) {
  return absl::StrCat(std::string(kLlama3ToolCallOpen), std::string(name), std::string(kLlama3ToolCallMiddle),
                      std::string(arguments), std::string(kLlama3ToolCallClose));
}

TEST(ToolSet, SortsByNameAndFindsThem) {
  std::shared_ptr<const ToolSet> tools = Tools();
  ASSERT_NE(tools, nullptr);
  ASSERT_EQ(tools->size(), 4u);
  EXPECT_EQ(tools->tool(0).name, "add");
  EXPECT_EQ(tools->tool(1).name, "get");
  EXPECT_EQ(tools->tool(2).name, "get_weather");
  EXPECT_EQ(tools->Find("get_weather"), 2u);
  EXPECT_EQ(tools->Find("ge"), 4u);
}

TEST(ToolSet, RefusesBadDefinitionsNamingTheTool) {
  struct Case {
    const char* name;
    std::vector<ToolSet::Definition> definitions;
    const char* error;
  };
  const Case cases[] = {
      {"duplicate", {{.name = "f", .parameters = ""}, {.name = "f", .parameters = ""}}, "tool 'f' is defined twice"},
      {"empty_name", {{.name = "", .parameters = ""}}, "tool name '' is not 1 to 64 letters"},
      {"dotted_name", {{.name = "a.b", .parameters = ""}}, "tool name 'a.b' is not 1 to 64 letters"},
      {"long_name", {{.name = std::string(65, 'x'), .parameters = ""}}, "is not 1 to 64 letters"},
      {"strict_not_an_object", {{.name = "f", .parameters = R"({"type": "string"})", .strict = true}},
       "tool 'f' parameters: json_schema at the schema's root: the root must be an object"},
      {"strict_all_of", {{.name = "f", .parameters = R"({"type": "object", "allOf": []})", .strict = true}},
       "'allOf' is not supported"},
      {"strict_minimum",
       {{.name = "f", .parameters = R"({"type": "object", "properties": {"n": {"minimum": 1}}})", .strict = true}},
       "tool 'f' parameters: json_schema at 'properties.n': 'minimum' is not supported"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto tools = ToolSet::Compile(c.definitions);
    EXPECT_EQ(tools.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(tools.status().message().find(c.error), std::string::npos) << tools.status().message();
  }
  std::vector<ToolSet::Definition> too_many;
  for (size_t i = 0; i <= ToolSet::kMaxTools; ++i) too_many.push_back({.name = absl::StrCat("f", i), .parameters = ""});
  EXPECT_EQ(ToolSet::Compile(too_many).status().message(), "more than 128 tools");
}

// A tool that is not strict keeps its arguments' shape and ignores what the walk cannot keep.
TEST(ToolSet, IgnoresValueAssertionsOfToolsThatAreNotStrict) {
  auto tools = ToolSet::Compile({{.name = "f", .parameters = R"({"type": "object", "properties": {
      "n": {"type": "integer", "minimum": 1, "maximum": 3}, "s": {"type": "string", "pattern": "^a", "maxLength": 2,
      "format": "email"}}, "required": ["n"], "minProperties": 1})"}});
  ASSERT_TRUE(tools.ok()) << tools.status();
  ToolCallPrefix call(**tools);
  EXPECT_TRUE(call.Feed(Call("f", R"({"n": 7, "s": "xyz"})")));
  EXPECT_TRUE(call.complete());
  ToolCallPrefix wrong_shape(**tools);
  EXPECT_FALSE(wrong_shape.Feed(Call("f", R"({"n": "7")")));
}

// A tool that is not strict and whose schema the compiler takes nothing of is held to any object:
// its calls still parse, as the client's arguments object.
TEST(ToolSet, ToolsThatAreNotStrictFallBackToAnyObject) {
  for (const char* parameters : {R"({})", R"({"type": "object", "allOf": [{"required": ["a"]}]})",
                                 R"({"type": "object", "additionalProperties": {"type": "integer"}})", "[1]"}) {
    SCOPED_TRACE(parameters);
    auto tools = ToolSet::Compile({{.name = "f", .parameters = parameters}});
    ASSERT_TRUE(tools.ok()) << tools.status();
    EXPECT_EQ((*tools)->tool(0).parameters, JsonSchema::AnyObject());
    ToolCallPrefix call(**tools);
    EXPECT_TRUE(call.Feed(Call("f", R"({"any": [1, {"thing": null}]})")));
    EXPECT_TRUE(call.complete());
    ToolCallPrefix not_an_object(**tools);
    EXPECT_FALSE(not_an_object.Feed(Call("f", "[]")));
  }
}

struct CallCase {
  const char* name;
  std::string text;
  size_t admitted;  // bytes admitted before one is refused
  bool complete;
  std::optional<size_t> only = std::nullopt;  // tool_choice names a tool: its index
};
void PrintTo(const CallCase& c, std::ostream* os) { *os << c.name; }

class ToolCallPrefixCase : public ::testing::TestWithParam<CallCase> {};

TEST_P(ToolCallPrefixCase, AdmitsUpToTheFirstByteTheCallRulesOut) {
  const CallCase& c = GetParam();
  std::shared_ptr<const ToolSet> tools = Tools();
  ASSERT_NE(tools, nullptr);
  ToolCallPrefix call(*tools, c.only);
  size_t admitted = 0;
  while (admitted < c.text.size() && call.Feed(static_cast<uint8_t>(c.text[admitted]))) ++admitted;
  EXPECT_EQ(admitted, c.admitted) << c.text;
  EXPECT_EQ(call.complete(), c.complete);
}

const std::string kWhole = Call("get_weather", R"({"city": "Paris", "days": 3})");

INSTANTIATE_TEST_SUITE_P(
    Cases, ToolCallPrefixCase,
    ::testing::Values(
        CallCase{"whole", kWhole, kWhole.size(), true},
        CallCase{"name_that_begins_another", Call("get", "{}"), Call("get", "{}").size(), true},
        CallCase{"arguments_of_a_tool_that_takes_none", Call("get", R"({"x": 1})"), 31, false},
        CallCase{"unknown_name", Call("got", "{}"), 11, false},
        CallCase{"name_cut_short", Call("get_w", "{}"), 15, false},
        CallCase{"compact_layout", R"({"name":"get", "parameters": {}})", 8, false},
        CallCase{"parameters_first", R"({"parameters": {}, "name": "get"})", 2, false},
        CallCase{"arguments_key", R"({"name": "get", "arguments": {}})", 17, false},
        CallCase{"space_before_the_close", Call("get", "{} "), 32, false},
        CallCase{"anything_after_the_close", Call("get", "{}") + " ", 33, true},
        CallCase{"integer_argument", Call("add", R"({"a": 1.5, "b": 2})"), 37, false},
        CallCase{"required_argument_missing", Call("add", R"({"a": 1})"), 37, false},
        CallCase{"arguments_not_an_object", Call("add", "[1]"), 30, false},
        CallCase{"the_named_tool", kWhole, kWhole.size(), true, 2},
        CallCase{"another_than_the_named_tool", Call("add", "{}"), 10, false, 2},
        CallCase{"a_prefix_of_the_named_tool", Call("get", "{}"), 13, false, 2}),
    [](const ::testing::TestParamInfo<CallCase>& info) { return std::string(info.param.name); });

// part() splits a call into its name and its arguments, exactly.
TEST(ToolCallPrefix, TellsTheNameAndTheArgumentsFromTheFixedText) {
  std::shared_ptr<const ToolSet> tools = Tools();
  ASSERT_NE(tools, nullptr);
  ToolCallPrefix call(*tools);
  std::string name, arguments;
  for (char c : kWhole) {
    ASSERT_TRUE(call.Feed(static_cast<uint8_t>(c)));
    if (call.part() == ToolCallPrefix::Part::kName) name += c;
    if (call.part() == ToolCallPrefix::Part::kArguments) arguments += c;
  }
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(arguments, R"({"city": "Paris", "days": 3})");
  ASSERT_TRUE(call.tool().has_value());
  EXPECT_EQ(tools->tool(*call.tool()).name, "get_weather");
}

// The call as a direct reading sees it: the fixed layout around a tool's name, and arguments that
// tool's schema admits.
bool IsCallOf(const std::string& text, const std::vector<std::pair<std::string, Json>>& schemas) {
  for (const auto& [name, schema] : schemas) {
    const std::string empty_call = Call(name, "");
    const size_t head = empty_call.size() - kLlama3ToolCallClose.size();
    if (text.size() <= empty_call.size() || text.compare(0, head, empty_call, 0, head) != 0 || !text.ends_with("}")) {
      continue;
    }
    const std::string arguments = text.substr(head, text.size() - empty_call.size());
    return Json::accept(arguments) && Satisfies(Json::parse(arguments), schema, schema);
  }
  return false;
}

// Calls with random arguments, in any layout, are admitted whole; whatever completes after a
// one-byte change is still a call the direct reading accepts.
TEST(ToolCallPrefix, AdmitsEveryCallAndWhatCompletesIsACall) {
  std::shared_ptr<const ToolSet> tools = Tools();
  ASSERT_NE(tools, nullptr);
  const std::vector<std::pair<std::string, Json>> schemas = {
      {"get_weather", Json::parse(kWeather)},
      {"get", Json::parse(R"({"type": "object", "additionalProperties": false})")},
      {"add", Json::parse(kAdd)},
      {"person", Json::parse(testing::kPersonSchema)}};
  std::mt19937 rng(5);
  int completed_mutants = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto& [name, schema] = schemas[i % schemas.size()];
    testing::InstanceMaker maker(schema, static_cast<uint32_t>(i));
    const std::string text = Call(name, maker.Make(schema).dump(i % 3 == 0 ? -1 : i % 3));
    ASSERT_TRUE(IsCallOf(text, schemas)) << text;
    ToolCallPrefix call(*tools);
    ASSERT_TRUE(call.Feed(text)) << text;
    EXPECT_TRUE(call.complete()) << text;

    std::string mutant = text;
    const size_t at = std::uniform_int_distribution<size_t>(0, text.size() - 1)(rng);
    mutant[at] = "{}[]\":, 0-9.eatrnulf\\x"[std::uniform_int_distribution<int>(0, 22)(rng)];
    ToolCallPrefix mutated(*tools);
    if (mutated.Feed(mutant) && mutated.complete()) {
      ++completed_mutants;
      EXPECT_TRUE(IsCallOf(mutant, schemas)) << mutant;
    }
  }
  EXPECT_GT(completed_mutants, 80);
}

// Feed restores the state when it refuses a byte; FeedOrSpoil need not, but agrees on the answer.
TEST(ToolCallPrefix, FeedAndFeedOrSpoilAgree) {
  std::shared_ptr<const ToolSet> tools = Tools();
  ASSERT_NE(tools, nullptr);
  ToolCallPrefix call(*tools);
  for (char c : kWhole) {
    for (int byte = 0; byte < 256; ++byte) {
      ToolCallPrefix fed = call, spoiled = call;
      ASSERT_EQ(fed.Feed(static_cast<uint8_t>(byte)), spoiled.FeedOrSpoil(static_cast<uint8_t>(byte)));
    }
    ASSERT_TRUE(call.Feed(static_cast<uint8_t>(c)));
  }
}

// A choice with tools on random logits: what it delivers, and how.
class ToolChoiceTest : public testing::GoldenLlama3Mask {
 protected:
  static void SetUpTestSuite() {
    GoldenLlama3Mask::SetUpTestSuite();
    tools_ = new std::shared_ptr<const ToolSet>(
        *ToolSet::Compile({{.name = "get_weather", .parameters = kWeather}, {.name = "add", .parameters = kAdd}}));
  }
  static void TearDownTestSuite() {
    delete tools_;
    GoldenLlama3Mask::TearDownTestSuite();
  }

  static GenerationRequest Request(ToolChoice choice, uint64_t seed) {
    GenerationRequest r = BaseRequest(seed);
    r.tools = *tools_;
    r.tool_choice = choice;
    return r;
  }

  struct Output {
    std::string text, name, arguments;
    int name_deltas = 0;
    bool arguments_before_name = false;
    std::optional<FinishReason> finish;
    int64_t generated = 0;
  };

  // Closing quotes and braces up, so that calls end; `first` added to the first draw's logits.
  static Output Run(const GenerationRequest& request, int64_t budget, uint32_t logits_seed,
                    const std::function<float(int32_t)>& first = nullptr,
                    const std::function<float(int32_t)>& always = nullptr) {
    ChoiceStream stream(0, request, budget, tokenizer_, mask_);
    Output out;
    const auto logit = [&](float noise, int32_t id, int64_t step) {
      const std::string bytes = tokenizer_->TokenBytes(id);
      const bool closes = bytes.find('}') != std::string::npos || bytes.find('"') != std::string::npos;
      return noise + (closes ? 4.0f : 0.0f) + (first && step == 0 ? first(id) : 0.0f) + (always ? always(id) : 0.0f);
    };
    RunOnRandomLogits(stream, logits_seed, logit, [&](const OwnedDelta& delta) {
      out.text += delta.text;
      if (!delta.tool_name.empty()) {
        out.name = delta.tool_name;
        ++out.name_deltas;
      }
      out.arguments_before_name |= !delta.tool_arguments.empty() && out.name_deltas == 0;
      out.arguments += delta.tool_arguments;
      if (delta.finish) out.finish = delta.finish;
    });
    out.generated = stream.generated();
    return out;
  }

  static bool SatisfiesTool(const std::string& name, const std::string& arguments) {
    const Json schema = Json::parse(name == "add" ? kAdd : kWeather);
    return Json::accept(arguments) && Satisfies(Json::parse(arguments), schema, schema);
  }

  static inline std::shared_ptr<const ToolSet>* tools_ = nullptr;
};

// tool_choice required: no text, the name once and before the arguments, arguments the tool's
// schema admits, and "tool_calls" once the call is whole.
TEST_F(ToolChoiceTest, RequiredMakesOneCallToOneOfTheTools) {
  int whole = 0;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    const Output out = Run(Request(ToolChoice::kRequired, seed), 300, seed);
    SCOPED_TRACE(out.arguments);
    EXPECT_EQ(out.text, "");
    EXPECT_EQ(out.name_deltas, 1);
    EXPECT_FALSE(out.arguments_before_name);
    EXPECT_TRUE(out.name == "add" || out.name == "get_weather") << out.name;
    ASSERT_TRUE(out.finish.has_value());
    if (*out.finish == FinishReason::kToolCalls) {
      ++whole;
      EXPECT_TRUE(SatisfiesTool(out.name, out.arguments));
    } else {
      EXPECT_EQ(*out.finish, FinishReason::kLength);
    }
  }
  EXPECT_GE(whole, 8);
}

TEST_F(ToolChoiceTest, NamedCallsThatTool) {
  int whole = 0;
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    GenerationRequest request = Request(ToolChoice::kNamed, seed);
    request.named_tool = (*tools_)->Find("add");
    const Output out = Run(request, 300, seed);
    EXPECT_EQ(out.name, "add");
    EXPECT_EQ(out.text, "");
    if (out.finish == FinishReason::kToolCalls) {
      ++whole;
      EXPECT_TRUE(SatisfiesTool("add", out.arguments)) << out.arguments;
    }
  }
  EXPECT_GE(whole, 5) << "the arguments were checked for too few calls";
}

// tool_choice auto: the first token decides. Text stays text (no call parts, finish "stop" or
// "length"); a first token that begins with '{' makes the reply a call, drawn as required's.
TEST_F(ToolChoiceTest, AutoIsTextOrACallAsTheFirstTokenDecides) {
  const std::function<float(int32_t)> brace_up = [](int32_t id) {
    const std::string bytes = tokenizer_->TokenBytes(id);
    return !bytes.empty() && bytes[0] == '{' ? 30.0f : 0.0f;
  };
  int calls = 0, texts = 0, whole_calls = 0;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    const Output out = Run(Request(ToolChoice::kAuto, seed), 200, seed, seed % 2 == 0 ? brace_up : std::function<float(int32_t)>());
    if (out.name_deltas > 0) {
      ++calls;
      EXPECT_EQ(out.text, "");
      if (out.finish == FinishReason::kToolCalls) {
        ++whole_calls;
        EXPECT_TRUE(SatisfiesTool(out.name, out.arguments)) << out.arguments;
      }
    } else {
      ++texts;
      EXPECT_EQ(out.arguments, "");
      EXPECT_NE(out.finish, FinishReason::kToolCalls);
      EXPECT_FALSE(out.text.starts_with("{")) << out.text;
    }
  }
  EXPECT_EQ(calls, 6) << "each boosted '{' begins a call";
  EXPECT_EQ(texts, 6);
  EXPECT_GE(whole_calls, 5) << "the arguments were checked for too few calls";
}

// Without tools in play (tool_choice none) nothing is masked: the same draws as a plain request.
TEST_F(ToolChoiceTest, NoneWritesTheSameTextAsNoTools) {
  GenerationRequest none = Request(ToolChoice::kNone, 3);
  GenerationRequest plain = none;
  plain.tools = nullptr;
  const Output a = Run(none, 40, 3), b = Run(plain, 40, 3);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.name_deltas, 0);
}

// Stop strings hold for text only: one the arguments happen to contain does not cut the call, which
// would leave arguments that do not parse. Text under tool_choice auto still stops at one.
TEST_F(ToolChoiceTest, StopStringsDoNotCutACall) {
  GenerationRequest request = Request(ToolChoice::kNamed, 4);
  request.named_tool = (*tools_)->Find("get_weather");
  request.stop = {"\"city\"", "}"};
  const Output call = Run(request, 300, 4);
  EXPECT_EQ(call.name, "get_weather");
  ASSERT_EQ(call.finish, FinishReason::kToolCalls) << call.arguments;
  EXPECT_NE(call.arguments.find("\"city\""), std::string::npos) << call.arguments;
  EXPECT_TRUE(SatisfiesTool("get_weather", call.arguments)) << call.arguments;

  GenerationRequest text = Request(ToolChoice::kAuto, 4);
  const Output plain = Run(text, 60, 4);
  ASSERT_EQ(plain.name_deltas, 0) << "seed 4 begins with text";
  ASSERT_GT(plain.text.size(), 4u);
  text.stop = {plain.text.substr(2, 2)};
  const Output stopped = Run(text, 60, 4);
  EXPECT_EQ(stopped.text, plain.text.substr(0, 2));
  EXPECT_EQ(stopped.finish, FinishReason::kStop);
}

// A call whose closing brace comes with the last token max_tokens allows is whole: "tool_calls".
// So is a JSON answer ("stop").
TEST_F(ToolChoiceTest, ACallOrAnAnswerEndingOnTheLastTokenIsWhole) {
  GenerationRequest request = Request(ToolChoice::kRequired, 6);
  const Output whole = Run(request, 300, 6);
  ASSERT_EQ(whole.finish, FinishReason::kToolCalls);
  const int64_t call_tokens = whole.generated - 1;  // then the stop token
  const Output exact = Run(request, call_tokens, 6);
  EXPECT_EQ(exact.finish, FinishReason::kToolCalls);
  EXPECT_EQ(exact.arguments, whole.arguments);
  EXPECT_EQ(Run(request, call_tokens - 1, 6).finish, FinishReason::kLength);

  // The same for a JSON answer (response_format json_schema), which then ends as "stop".
  GenerationRequest json = Request(ToolChoice::kNone, 6);
  auto answer = JsonSchema::Parse(kWeather);
  ASSERT_TRUE(answer.ok());
  json.format = OutputFormat::kJsonSchema;
  json.schema = *answer;
  const Output whole_answer = Run(json, 300, 6);
  ASSERT_EQ(whole_answer.finish, FinishReason::kStop);
  EXPECT_EQ(Run(json, whole_answer.generated - 1, 6).finish, FinishReason::kStop);
  EXPECT_EQ(Run(json, whole_answer.generated - 2, 6).finish, FinishReason::kLength);
}

// Under tool_choice auto, the first token is drawn on the host (the mask needs the logits); a
// reply that it made text needs no mask after it, so its later tokens may be drawn on a device.
TEST_F(ToolChoiceTest, TextUnderAutoMayBeDrawnOnADeviceAfterItsFirstToken) {
  const GenerationRequest request = Request(ToolChoice::kAuto, 1);
  for (const char* first : {"x", "{"}) {
    ChoiceStream stream(0, request, 10, tokenizer_, mask_);
    EXPECT_FALSE(stream.DeviceDrawable());
    std::vector<float> logits(static_cast<size_t>(tokenizer_->vocab_size()), 0.0f);
    logits[*tokenizer_->TokenId(first)] = 100.0f;
    std::optional<OwnedDelta> delta;
    stream.Next(logits, delta);
    EXPECT_EQ(stream.DeviceDrawable(), std::string(first) == "x") << first;
  }
}

constexpr const char* kAnswer = R"({"type": "object", "properties": {"answer": {"type": "string"},
    "sure": {"type": "boolean"}}, "required": ["answer"], "additionalProperties": false})";

// Under tool_choice auto with a JSON response_format both readings are followed until the bytes
// rule one out; the text is whole when either is.
TEST(CallOrJsonPrefix, FollowsTheCallAndTheAnswerUntilOneIsRuledOut) {
  std::shared_ptr<const ToolSet> tools = Tools();
  ASSERT_NE(tools, nullptr);
  auto answer = JsonSchema::Parse(kAnswer);
  ASSERT_TRUE(answer.ok()) << answer.status();
  const auto fresh = [&] { return CallOrJsonPrefix(ToolCallPrefix(*tools), JsonSchemaPrefix(**answer)); };

  CallOrJsonPrefix both = fresh();
  ASSERT_TRUE(both.Feed("{\""));
  EXPECT_TRUE(both.call_possible() && both.json_possible());
  EXPECT_FALSE(both.complete());

  CallOrJsonPrefix json = fresh();
  ASSERT_TRUE(json.Feed(R"({"answer": "Paris", "sure": true})"));
  EXPECT_FALSE(json.call_possible());
  EXPECT_TRUE(json.complete());

  CallOrJsonPrefix call = fresh();
  ASSERT_TRUE(call.Feed(kWhole));
  EXPECT_FALSE(call.json_possible());
  EXPECT_TRUE(call.complete());

  CallOrJsonPrefix neither = fresh();
  EXPECT_FALSE(neither.Feed(R"({"other": 1})"));
  CallOrJsonPrefix leading_space = fresh();  // JSON may begin with whitespace, a call may not
  ASSERT_TRUE(leading_space.Feed(" {"));
  EXPECT_FALSE(leading_space.call_possible());

  // JSON mode's answer (any object) may look exactly like a call: the whole call is read as the call.
  CallOrJsonPrefix any = CallOrJsonPrefix(ToolCallPrefix(*tools), JsonPrefix());
  ASSERT_TRUE(any.Feed(kWhole));
  EXPECT_TRUE(any.call_possible() && any.json_possible() && any.complete());
}

// tool_choice auto with a schema (what the OpenAI Agents SDK sends for an agent with tools and an
// output type): each reply is one call or one answer, delivered as such, never a mix.
TEST_F(ToolChoiceTest, AutoWithASchemaIsACallOrTheAnswer) {
  auto answer = JsonSchema::Parse(kAnswer);
  ASSERT_TRUE(answer.ok()) << answer.status();
  const Json answer_schema = Json::parse(kAnswer);
  // On odd seeds, the way into a call up: '{' (the answer may begin with whitespace, a call may
  // not), then what begins its key "name".
  const std::function<float(int32_t)> name_up = [](int32_t id) {
    const std::string bytes = tokenizer_->TokenBytes(id);
    return bytes == "{" || (!bytes.empty() && std::string_view("name").starts_with(bytes)) ? 8.0f : 0.0f;
  };
  int calls = 0, answers = 0;
  for (uint32_t seed = 1; seed <= 16; ++seed) {
    GenerationRequest request = Request(ToolChoice::kAuto, seed);
    request.format = OutputFormat::kJsonSchema;
    request.schema = *answer;
    const Output out = Run(request, 300, seed, nullptr, seed % 2 == 1 ? name_up : std::function<float(int32_t)>());
    ASSERT_TRUE(out.finish.has_value());
    if (out.name_deltas > 0) {
      ++calls;
      EXPECT_EQ(out.text, "");
      if (*out.finish == FinishReason::kToolCalls) {
        EXPECT_TRUE(SatisfiesTool(out.name, out.arguments)) << out.arguments;
      } else {
        EXPECT_EQ(*out.finish, FinishReason::kLength);
      }
    } else {
      ++answers;
      EXPECT_EQ(out.arguments, "");
      if (*out.finish == FinishReason::kStop) {
        ASSERT_TRUE(Json::accept(out.text)) << out.text;
        EXPECT_TRUE(Satisfies(Json::parse(out.text), answer_schema, answer_schema)) << out.text;
      } else {
        EXPECT_EQ(*out.finish, FinishReason::kLength);
      }
    }
  }
  EXPECT_GT(calls, 0);
  EXPECT_GT(answers, 0);
}

// Draws exactly `ids`, then `stop`, by putting each far above the rest in its turn.
std::vector<OwnedDelta> DrawExactly(ChoiceStream& stream, const std::vector<int32_t>& ids, int32_t stop,
                                    int32_t vocab_size) {
  std::vector<OwnedDelta> deltas;
  for (size_t step = 0; !stream.done(); ++step) {
    std::vector<float> logits(static_cast<size_t>(vocab_size), 0.0f);
    logits[step < ids.size() ? ids[step] : stop] = 100.0f;
    std::optional<OwnedDelta> delta;
    stream.Next(logits, delta);
    if (delta) deltas.push_back(*std::move(delta));
  }
  return deltas;
}

// With JSON mode's answer (any object), a whole call is also a whole answer: it is read as the call.
TEST_F(ToolChoiceTest, AWholeCallThatIsAlsoAnAnswerIsTheCall) {
  GenerationRequest request = Request(ToolChoice::kAuto, 1);
  request.format = OutputFormat::kJsonObject;
  ChoiceStream stream(0, request, 100, tokenizer_, mask_);
  const std::string call = Call("add", R"({"a": 1, "b": 2})");
  std::string text, name, arguments;
  std::optional<FinishReason> finish;
  for (const OwnedDelta& delta : DrawExactly(stream, tokenizer_->Encode(call, false), kStopToken, tokenizer_->vocab_size())) {
    text += delta.text;
    name += delta.tool_name;
    arguments += delta.tool_arguments;
    if (delta.finish) finish = delta.finish;
  }
  EXPECT_EQ(text, "");
  EXPECT_EQ(name, "add");
  EXPECT_EQ(arguments, R"({"a": 1, "b": 2})");
  EXPECT_EQ(finish, FinishReason::kToolCalls);
}

// Under tool_choice auto the reply may be empty: the stop token first is text, and "stop".
TEST_F(ToolChoiceTest, AnEmptyReplyUnderAutoIsText) {
  const GenerationRequest request = Request(ToolChoice::kAuto, 1);  // the stream holds a reference
  ChoiceStream stream(0, request, 100, tokenizer_, mask_);
  const std::vector<OwnedDelta> deltas = DrawExactly(stream, {}, kStopToken, tokenizer_->vocab_size());
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].text, "");
  EXPECT_EQ(deltas[0].finish, FinishReason::kStop);
  EXPECT_EQ(stream.generated(), 1);
}

}  // namespace
}  // namespace cai::inference
