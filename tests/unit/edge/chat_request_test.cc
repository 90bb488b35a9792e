#include "services/edge/openai/chat_request.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace cai::openai {
namespace {

constexpr char kMessages[] = R"("messages":[{"role":"user","content":"hi"}])";

std::string Body(const std::string& extra) {
  return std::string(R"({"model":"m",)") + kMessages + (extra.empty() ? "" : "," + extra) + "}";
}

struct BadCase {
  const char* name;
  std::string body;
  std::string param;    // "" = null
  std::string message;  // exact
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadChatRequest : public testing::TestWithParam<BadCase> {};

TEST_P(BadChatRequest, AnswersTheRightError) {
  ChatRequest request;
  std::optional<ApiError> error = ParseChatRequest(GetParam().body, &request);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400);
  EXPECT_EQ(error->type, "invalid_request_error");
  EXPECT_EQ(error->param, GetParam().param);
  EXPECT_EQ(error->message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadChatRequest,
    testing::Values(
        BadCase{"not_json", "{nope", "", "We could not parse the JSON body of your request."},
        BadCase{"empty_body", "", "", "We could not parse the JSON body of your request."},
        BadCase{"not_object", "[1]", "", "The request body must be a JSON object."},
        // nlohmann stops reading at a NUL byte: what follows one must not pass unseen.
        BadCase{"nul_after_the_object", Body("") + std::string("\0junk", 5), "",
                "We could not parse the JSON body of your request."},
        BadCase{"too_deep", std::string(100, '[') + std::string(100, ']'), "", "JSON nesting deeper than 64"},
        BadCase{"no_model", std::string("{") + kMessages + "}", "model", "'model' is a required property"},
        BadCase{"model_not_string", std::string(R"({"model":3,)") + kMessages + "}", "model",
                "'model' must be a non-empty string"},
        BadCase{"no_messages", R"({"model":"m"})", "messages", "'messages' is a required property"},
        BadCase{"empty_messages", R"({"model":"m","messages":[]})", "messages",
                "'messages' must be a non-empty array"},
        BadCase{"bad_role", R"({"model":"m","messages":[{"role":"wizard","content":"x"}]})", "messages[0].role",
                "'messages[0].role' must be one of 'system', 'developer', 'user', 'assistant', 'tool'"},
        BadCase{"user_without_content", R"({"model":"m","messages":[{"role":"user"}]})", "messages[0].content",
                "'messages[0].content' is a required property"},
        BadCase{"content_number", R"({"model":"m","messages":[{"role":"user","content":5}]})",
                "messages[0].content", "'messages[0].content' must be a string or an array of text parts"},
        BadCase{"image_part",
                R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})",
                "messages[0].content[0].type",
                "'messages[0].content[0].type' must be 'text': only text content is supported"},
        BadCase{"temperature_high", Body(R"("temperature":2.5)"), "temperature",
                "'temperature' must be a number between 0 and 2"},
        BadCase{"temperature_negative", Body(R"("temperature":-0.1)"), "temperature",
                "'temperature' must be a number between 0 and 2"},
        BadCase{"temperature_string", Body(R"("temperature":"1")"), "temperature",
                "'temperature' must be a number between 0 and 2"},
        BadCase{"top_p_zero", Body(R"("top_p":0)"), "top_p", "'top_p' must be a number greater than 0 and at most 1"},
        BadCase{"max_tokens_zero", Body(R"("max_tokens":0)"), "max_tokens",
                "'max_tokens' must be an integer between 1 and 131072"},
        BadCase{"max_tokens_float", Body(R"("max_tokens":1.5)"), "max_tokens",
                "'max_tokens' must be an integer between 1 and 131072"},
        BadCase{"max_completion_tokens_huge", Body(R"("max_completion_tokens":18446744073709551615)"),
                "max_completion_tokens", "'max_completion_tokens' must be an integer between 1 and 131072"},
        BadCase{"seed_float", Body(R"("seed":1.5)"), "seed", "'seed' must be an integer"},
        BadCase{"stop_five", Body(R"("stop":["a","b","c","d","e"])"), "stop",
                "'stop' must be a non-empty string or an array of at most 4 non-empty strings of at most 256 bytes"},
        BadCase{"stop_number", Body(R"("stop":[1])"), "stop",
                "'stop' must be a non-empty string or an array of at most 4 non-empty strings of at most 256 bytes"},
        BadCase{"n_nine", Body(R"("n":9)"), "n", "'n' must be an integer between 1 and 8"},
        BadCase{"n_zero", Body(R"("n":0)"), "n", "'n' must be an integer between 1 and 8"},
        BadCase{"n_string", Body(R"("n":"2")"), "n", "'n' must be an integer between 1 and 8"},
        BadCase{"top_logprobs_without_logprobs", Body(R"("top_logprobs":2)"), "top_logprobs",
                "when using `top_logprobs`, `logprobs` must be set to true."},
        BadCase{"top_logprobs_with_logprobs_false", Body(R"("logprobs":false,"top_logprobs":2)"), "top_logprobs",
                "when using `top_logprobs`, `logprobs` must be set to true."},
        BadCase{"top_logprobs_21", Body(R"("logprobs":true,"top_logprobs":21)"), "top_logprobs",
                "'top_logprobs' must be an integer between 0 and 20"},
        BadCase{"logprobs_int", Body(R"("logprobs":1)"), "logprobs", "'logprobs' must be a boolean"},
        BadCase{"logit_bias_array", Body(R"("logit_bias":[1])"), "logit_bias", "'logit_bias' must be an object of at most 300 token ids (as strings) mapped to numbers between -100 and 100"},
        BadCase{"logit_bias_word_key", Body(R"("logit_bias":{"hello":1})"), "logit_bias", "'logit_bias' must be an object of at most 300 token ids (as strings) mapped to numbers between -100 and 100"},
        BadCase{"logit_bias_negative_key", Body(R"("logit_bias":{"-1":1})"), "logit_bias", "'logit_bias' must be an object of at most 300 token ids (as strings) mapped to numbers between -100 and 100"},
        BadCase{"logit_bias_huge_key", Body(R"("logit_bias":{"2147483648":1})"), "logit_bias", "'logit_bias' must be an object of at most 300 token ids (as strings) mapped to numbers between -100 and 100"},
        BadCase{"logit_bias_value_high", Body(R"("logit_bias":{"5":100.5})"), "logit_bias", "'logit_bias' must be an object of at most 300 token ids (as strings) mapped to numbers between -100 and 100"},
        BadCase{"logit_bias_value_string", Body(R"("logit_bias":{"5":"1"})"), "logit_bias", "'logit_bias' must be an object of at most 300 token ids (as strings) mapped to numbers between -100 and 100"},
        BadCase{"presence_penalty_high", Body(R"("presence_penalty":2.1)"), "presence_penalty",
                "'presence_penalty' must be a number between -2 and 2"},
        BadCase{"frequency_penalty_low", Body(R"("frequency_penalty":-3)"), "frequency_penalty",
                "'frequency_penalty' must be a number between -2 and 2"},
        BadCase{"top_k_minus_two", Body(R"("top_k":-2)"), "top_k", "'top_k' must be an integer between -1 and 1048576"},
        BadCase{"top_k_float", Body(R"("top_k":1.5)"), "top_k", "'top_k' must be an integer between -1 and 1048576"},
        BadCase{"min_p_high", Body(R"("min_p":1.5)"), "min_p", "'min_p' must be a number between 0 and 1"},
        BadCase{"stream_string", Body(R"("stream":"yes")"), "stream", "'stream' must be a boolean"},
        BadCase{"stream_options_not_object", Body(R"("stream":true,"stream_options":true)"), "stream_options",
                "'stream_options' must be an object"},
        BadCase{"stream_options_without_stream", Body(R"("stream_options":{"include_usage":true})"),
                "stream_options", "Stream options can only be defined when `stream=True`."},
        BadCase{"response_format_json_not_asked_for", Body(R"("response_format":{"type":"json_object"})"), "messages",
                "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
                "'json_object'"},
        BadCase{"response_format_unknown", Body(R"("response_format":{"type":"grammar"})"), "response_format.type",
                "'response_format' of type 'grammar' is not supported: use 'text', 'json_object' or 'json_schema'"},
        BadCase{"json_schema_missing", Body(R"("response_format":{"type":"json_schema"})"),
                "response_format.json_schema", "'response_format' of type 'json_schema' needs a 'json_schema' object"},
        BadCase{"json_schema_no_name",
                Body(R"("response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}})"),
                "response_format.json_schema.name",
                "'response_format.json_schema.name' must be 1 to 64 letters, digits, '_' or '-'"},
        BadCase{"json_schema_name_with_space",
                Body(R"("response_format":{"type":"json_schema","json_schema":{"name":"a b","schema":{}}})"),
                "response_format.json_schema.name",
                "'response_format.json_schema.name' must be 1 to 64 letters, digits, '_' or '-'"},
        BadCase{"json_schema_description_not_string",
                Body(R"("response_format":{"type":"json_schema","json_schema":{"name":"a","description":1,"schema":{}}})"),
                "response_format.json_schema.description", "'response_format.json_schema.description' must be a string"},
        BadCase{"json_schema_no_schema", Body(R"("response_format":{"type":"json_schema","json_schema":{"name":"a"}})"),
                "response_format.json_schema.schema", "'response_format.json_schema.schema' must be a JSON Schema object"},
        BadCase{"json_schema_schema_not_object",
                Body(R"("response_format":{"type":"json_schema","json_schema":{"name":"a","schema":true}})"),
                "response_format.json_schema.schema", "'response_format.json_schema.schema' must be a JSON Schema object"},
        BadCase{"guided_json_and_response_format",
                Body(R"("guided_json":{"type":"object"},"response_format":{"type":"json_schema",)"
                     R"("json_schema":{"name":"a","schema":{}}})"),
                "guided_json", "give one of 'response_format', 'structured_outputs' and 'guided_json'"},
        BadCase{"guided_json_not_a_schema", Body(R"("guided_json":[1])"), "guided_json",
                "'guided_json' must be a JSON Schema object, or its JSON text"},
        BadCase{"guided_json_text_not_json", Body(R"("guided_json":"{nope")"), "guided_json",
                "'guided_json' must be a JSON Schema object, or its JSON text"},
        BadCase{"guided_json_text_with_nul", Body(R"("guided_json":"{}\u0000junk")"), "guided_json",
                "'guided_json' must be a JSON Schema object, or its JSON text"},
        BadCase{"guided_json_text_too_deep", Body(R"("guided_json":")" + std::string(100, '[') + R"(")"), "guided_json",
                "'guided_json' is too long or nests too deep"},
        BadCase{"guided_regex", Body(R"("guided_regex":"a+")"), "guided_regex",
                "'guided_regex' is not supported: use 'structured_outputs.json', 'guided_json', or 'response_format' "
                "of type 'json_object' or 'json_schema'"},
        BadCase{"guided_choice", Body(R"("guided_choice":["a","b"])"), "guided_choice",
                "'guided_choice' is not supported: use 'structured_outputs.json', 'guided_json', or "
                "'response_format' of type 'json_object' or 'json_schema'"},
        BadCase{"structured_outputs_not_object", Body(R"("structured_outputs":"json")"), "structured_outputs",
                "'structured_outputs' must be an object"},
        BadCase{"structured_outputs_choice", Body(R"("structured_outputs":{"choice":["a","b"]})"),
                "structured_outputs.choice", "'structured_outputs.choice' is not supported: use 'json' or 'json_object'"},
        BadCase{"structured_outputs_regex_beside_json", Body(R"("structured_outputs":{"json":{},"regex":"a"})"),
                "structured_outputs.regex", "'structured_outputs.regex' is not supported: use 'json' or 'json_object'"},
        BadCase{"structured_outputs_empty", Body(R"("structured_outputs":{"disable_fallback":true})"),
                "structured_outputs", "'structured_outputs' must set exactly one of 'json' and 'json_object'"},
        BadCase{"structured_outputs_json_and_object",
                Body(R"("structured_outputs":{"json":{"type":"object"},"json_object":true})"), "structured_outputs",
                "'structured_outputs' must set exactly one of 'json' and 'json_object'"},
        BadCase{"structured_outputs_no_whitespace",
                Body(R"("structured_outputs":{"json_object":true,"disable_any_whitespace":true})"),
                "structured_outputs.disable_any_whitespace",
                "'structured_outputs.disable_any_whitespace' is not supported (whitespace is allowed between tokens, "
                "at most 64 bytes in a row)"},
        BadCase{"structured_outputs_and_guided_json",
                Body(R"("structured_outputs":{"json_object":true},"guided_json":{})"), "guided_json",
                "give one of 'response_format', 'structured_outputs' and 'guided_json'"},
        BadCase{"structured_outputs_json_text_not_json", Body(R"("structured_outputs":{"json":"[1"})"),
                "structured_outputs.json", "'structured_outputs.json' must be a JSON Schema object, or its JSON text"},
        BadCase{"json_schema_strict_not_bool",
                Body(R"("response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{},"strict":1}})"),
                "response_format.json_schema.strict", "'response_format.json_schema.strict' must be a boolean"},
        BadCase{"response_format_type_not_string", Body(R"("response_format":{"type":1})"), "response_format",
                "'response_format' must be an object with a 'type'"},
        BadCase{"response_format_string", Body(R"("response_format":"text")"), "response_format",
                "'response_format' must be an object with a 'type'"},
        BadCase{"include_usage_not_bool", Body(R"("stream":true,"stream_options":{"include_usage":1})"),
                "stream_options.include_usage", "'stream_options.include_usage' must be a boolean"}),
    [](const testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

constexpr char kTool[] = R"({"type":"function","function":{"name":"f"}})";

// The body with `messages` after a user turn, and `extra` fields.
std::string Turns(const std::string& messages, const std::string& extra = "") {
  return absl::StrCat(R"({"model":"m","messages":[{"role":"user","content":"hi"},)", messages, "]",
                      extra.empty() ? "" : ",", extra, "}");
}

// An assistant turn whose one tool call is `call`.
std::string CallTurn(const std::string& call) {
  return absl::StrCat(R"({"role":"assistant","content":null,"tool_calls":[)", call, "]}");
}

std::string Repeated(const std::string& item, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += (i ? "," : "") + item;
  return out;
}

const std::string kMustBeToolName = "must be 1 to 64 letters, digits, '_' or '-'";
const std::string kMustBeArguments = "must be the JSON text of an object";
const std::string kToolChoiceForms =
    "'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": {\"name\": ...}}";

INSTANTIATE_TEST_SUITE_P(
    Tools, BadChatRequest,
    testing::Values(
        BadCase{"tools_empty", Body(R"("tools":[])"), "tools",
                "'tools' must not be empty ([] is too short): send at least one tool, or no 'tools'"},
        BadCase{"tools_not_array", Body(R"("tools":{})"), "tools", "'tools' must be an array of at most 128 tools"},
        BadCase{"tools_129", Body(absl::StrCat(R"("tools":[)", Repeated(kTool, 129), "]")), "tools",
                "'tools' must be an array of at most 128 tools"},
        BadCase{"tools_too_long",
                Body(absl::StrCat(R"("tools":[{"type":"function","function":{"name":"f","description":")",
                                  std::string(kMaxToolsBytes, 'x'), R"("}}])")),
                "tools", "'tools' is longer than 262144 bytes as JSON"},
        BadCase{"tool_not_object", Body(R"("tools":[1])"), "tools[0]", "'tools[0]' must be an object"},
        BadCase{"tool_type_custom", Body(R"("tools":[{"type":"custom","function":{"name":"f"}}])"), "tools[0].type",
                "'tools[0].type' must be 'function'"},
        BadCase{"tool_without_function", Body(R"("tools":[{"type":"function"}],"tool_choice":"auto")"),
                "tools[0].function", "'tools[0].function' must be an object"},
        BadCase{"tool_without_name", Body(R"("tools":[{"type":"function","function":{}}])"), "tools[0].function.name",
                "'tools[0].function.name' " + kMustBeToolName},
        BadCase{"tool_name_with_dot", Body(R"("tools":[{"type":"function","function":{"name":"a.b"}}])"),
                "tools[0].function.name", "'tools[0].function.name' " + kMustBeToolName},
        BadCase{"tool_name_65",
                Body(absl::StrCat(R"("tools":[{"type":"function","function":{"name":")", std::string(65, 'a'), R"("}}])")),
                "tools[0].function.name", "'tools[0].function.name' " + kMustBeToolName},
        BadCase{"tool_name_repeated", Body(absl::StrCat(R"("tools":[)", kTool, ",", kTool, "]")),
                "tools[1].function.name", "'tools[1].function.name' repeats 'f': function names must be unique"},
        BadCase{"tool_description_number",
                Body(R"("tools":[{"type":"function","function":{"name":"f","description":1}}])"),
                "tools[0].function.description", "'tools[0].function.description' must be a string"},
        BadCase{"tool_strict_string", Body(R"("tools":[{"type":"function","function":{"name":"f","strict":"yes"}}])"),
                "tools[0].function.strict", "'tools[0].function.strict' must be a boolean"},
        BadCase{"tool_parameters_array", Body(R"("tools":[{"type":"function","function":{"name":"f","parameters":[]}}])"),
                "tools[0].function.parameters", "'tools[0].function.parameters' must be a JSON Schema object"},
        BadCase{"tool_parameters_too_long",
                Body(absl::StrCat(R"("tools":[{"type":"function","function":{"name":"f","parameters":{"d":")",
                                  std::string(kMaxJsonSchemaBytes, 'x'), R"("}}}])")),
                "tools[0].function.parameters", "'tools[0].function.parameters' is longer than 65536 bytes as JSON"},
        BadCase{"tool_parameters_key_twice",
                Body(R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","type":"string"}}}])"),
                "tools[0].function.parameters", "'tools[0].function.parameters' gives some key twice in one object"},
        BadCase{"tool_parameters_nested_key_twice",
                Body(R"("tools":[{"type":"function","function":{"name":"f","parameters":{"properties":{"a":{},"a":{}}}}}])"),
                "tools[0].function.parameters", "'tools[0].function.parameters' gives some key twice in one object"},
        BadCase{"tool_choice_unknown", Body(absl::StrCat(R"("tools":[)", kTool, R"(],"tool_choice":"any")")),
                "tool_choice", kToolChoiceForms},
        BadCase{"tool_choice_number", Body(absl::StrCat(R"("tools":[)", kTool, R"(],"tool_choice":1)")), "tool_choice",
                kToolChoiceForms},
        BadCase{"tool_choice_array", Body(absl::StrCat(R"("tools":[)", kTool, R"(],"tool_choice":["auto"])")),
                "tool_choice", kToolChoiceForms},
        BadCase{"tool_choice_function_as_string",
                Body(absl::StrCat(R"("tools":[)", kTool, R"(],"tool_choice":{"type":"function","function":"f"})")),
                "tool_choice", kToolChoiceForms},
        BadCase{"tool_choice_name_not_string",
                Body(absl::StrCat(R"("tools":[)", kTool, R"(],"tool_choice":{"type":"function","function":{"name":1}})")),
                "tool_choice", kToolChoiceForms},
        BadCase{"tool_choice_object_without_name",
                Body(absl::StrCat(R"("tools":[)", kTool, R"(],"tool_choice":{"type":"function"})")), "tool_choice",
                kToolChoiceForms},
        BadCase{"tool_choice_not_a_tool",
                Body(absl::StrCat(R"("tools":[)", kTool, R"(],"tool_choice":{"type":"function","function":{"name":"g"}})")),
                "tool_choice.function.name", "'tool_choice.function.name' is 'g', which is not a function in 'tools'"},
        BadCase{"tool_choice_required_without_tools", Body(R"("tool_choice":"required")"), "tool_choice",
                "'tool_choice' 'required' or a named function needs 'tools'"},
        BadCase{"tool_choice_named_without_tools", Body(R"("tool_choice":{"type":"function","function":{"name":"f"}})"),
                "tool_choice", "'tool_choice' 'required' or a named function needs 'tools'"},
        BadCase{"parallel_tool_calls_string", Body(R"("parallel_tool_calls":"yes")"), "parallel_tool_calls",
                "'parallel_tool_calls' must be a boolean"},
        BadCase{"functions", Body(R"("functions":[{"name":"f"}])"), "functions",
                "'functions' is deprecated and not supported: use 'tools'"},
        BadCase{"functions_with_auto", Body(R"("functions":[{"name":"f"}],"function_call":"auto")"), "functions",
                "'functions' is deprecated and not supported: use 'tools'"},
        BadCase{"function_call_named", Body(R"("function_call":{"name":"f"})"), "function_call",
                "'function_call' is deprecated and not supported: use 'tools' and 'tool_choice'"},
        BadCase{"function_role", Turns(R"({"role":"function","name":"f","content":"1"})"), "messages[1].role",
                "'messages[1].role' 'function' is deprecated and not supported: send the result as a 'tool' message"},
        BadCase{"tool_message_without_tool_call_id", Turns(R"({"role":"tool","content":"x"})"),
                "messages[1].tool_call_id", "'messages[1].tool_call_id' is a required property"},
        BadCase{"tool_message_tool_call_id_number", Turns(R"({"role":"tool","content":"x","tool_call_id":7})"),
                "messages[1].tool_call_id", "'messages[1].tool_call_id' must be a string of at most 256 bytes"},
        BadCase{"tool_message_tool_call_id_257",
                Turns(absl::StrCat(R"({"role":"tool","content":"x","tool_call_id":")", std::string(257, 'c'), R"("})")),
                "messages[1].tool_call_id", "'messages[1].tool_call_id' must be a string of at most 256 bytes"},
        BadCase{"tool_message_without_content", Turns(R"({"role":"tool","tool_call_id":"c"})"), "messages[1].content",
                "'messages[1].content' is a required property"},
        BadCase{"tool_calls_not_array", Turns(R"({"role":"assistant","tool_calls":{}})"), "messages[1].tool_calls",
                "'messages[1].tool_calls' must be an array of at most 128 tool calls"},
        BadCase{"tool_calls_129",
                Turns(absl::StrCat(R"({"role":"assistant","tool_calls":[)",
                                   Repeated(R"({"id":"c","type":"function","function":{"name":"f","arguments":"{}"}})", 129),
                                   "]}")),
                "messages[1].tool_calls", "'messages[1].tool_calls' must be an array of at most 128 tool calls"},
        BadCase{"tool_call_not_object", Turns(CallTurn("1")), "messages[1].tool_calls[0]",
                "'messages[1].tool_calls[0]' must be an object"},
        BadCase{"tool_call_without_id", Turns(CallTurn(R"({"type":"function","function":{"name":"f","arguments":"{}"}})")),
                "messages[1].tool_calls[0].id", "'messages[1].tool_calls[0].id' must be a string of at most 256 bytes"},
        BadCase{"tool_call_without_type", Turns(CallTurn(R"({"id":"c","function":{"name":"f","arguments":"{}"}})")),
                "messages[1].tool_calls[0].type", "'messages[1].tool_calls[0].type' must be 'function'"},
        BadCase{"tool_call_without_function", Turns(CallTurn(R"({"id":"c","type":"function"})")),
                "messages[1].tool_calls[0].function", "'messages[1].tool_calls[0].function' must be an object"},
        BadCase{"tool_call_name_with_space",
                Turns(CallTurn(R"({"id":"c","type":"function","function":{"name":"a b","arguments":"{}"}})")),
                "messages[1].tool_calls[0].function.name", "'messages[1].tool_calls[0].function.name' " + kMustBeToolName},
        BadCase{"tool_call_arguments_object",
                Turns(CallTurn(R"({"id":"c","type":"function","function":{"name":"f","arguments":{}}})")),
                "messages[1].tool_calls[0].function.arguments",
                "'messages[1].tool_calls[0].function.arguments' " + kMustBeArguments},
        BadCase{"tool_call_arguments_not_json",
                Turns(CallTurn(R"({"id":"c","type":"function","function":{"name":"f","arguments":"{nope"}})")),
                "messages[1].tool_calls[0].function.arguments",
                "'messages[1].tool_calls[0].function.arguments' " + kMustBeArguments},
        BadCase{"tool_call_arguments_with_nul",
                Turns(CallTurn(R"({"id":"c","type":"function","function":{"name":"f","arguments":"{}\u0000junk"}})")),
                "messages[1].tool_calls[0].function.arguments",
                "'messages[1].tool_calls[0].function.arguments' " + kMustBeArguments},
        BadCase{"tool_call_arguments_array",
                Turns(CallTurn(R"({"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}})")),
                "messages[1].tool_calls[0].function.arguments",
                "'messages[1].tool_calls[0].function.arguments' " + kMustBeArguments},
        BadCase{"tool_call_arguments_too_deep",
                Turns(CallTurn(absl::StrCat(R"({"id":"c","type":"function","function":{"name":"f","arguments":")",
                                            std::string(100, '{'), R"("}})"))),
                "messages[1].tool_calls[0].function.arguments",
                "'messages[1].tool_calls[0].function.arguments' " + kMustBeArguments}),
    [](const testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(ChatRequest, ParsesEveryField) {
  ChatRequest request;
  std::optional<ApiError> error = ParseChatRequest(
      R"({"model":"llama","messages":[{"role":"system","content":"Be brief."},)"
      R"({"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},)"
      R"({"role":"assistant","content":null}],)"
      R"("stream":true,"stream_options":{"include_usage":true},"temperature":0,"top_p":0.5,)"
      R"("max_tokens":10,"max_completion_tokens":20,"seed":-1,"stop":["x","yz"],"n":1,"user":"ignored","tools":null})",
      &request);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_EQ(request.model, "llama");
  ASSERT_EQ(request.messages.size(), 3u);
  EXPECT_EQ(request.messages[0].role, "system");
  EXPECT_EQ(request.messages[0].Content(), "Be brief.");
  EXPECT_FALSE(request.messages[0].content_is_array);
  EXPECT_EQ(request.messages[1].Content(), "ab");
  EXPECT_EQ(request.messages[1].parts, (std::vector<std::string>{"a", "b"}));  // kept apart for E2EE
  EXPECT_TRUE(request.messages[1].content_is_array);
  EXPECT_EQ(request.messages[2].role, "assistant");
  EXPECT_EQ(request.messages[2].Content(), "");
  EXPECT_TRUE(request.messages[2].parts.empty());  // null content
  EXPECT_TRUE(request.stream);
  EXPECT_TRUE(request.include_usage);
  EXPECT_EQ(request.sampling.temperature, 0.0);
  EXPECT_EQ(request.sampling.top_p, 0.5);
  EXPECT_EQ(request.sampling.max_tokens, 20u);  // max_completion_tokens wins
  EXPECT_EQ(request.sampling.seed, UINT64_MAX);
  EXPECT_EQ(request.sampling.stop, (std::vector<std::string>{"x", "yz"}));
}

TEST(ChatRequest, DefaultsAndNulls) {
  ChatRequest request;
  ASSERT_FALSE(ParseChatRequest(Body(R"("temperature":null,"stream":null,"stop":"END")"), &request));
  EXPECT_FALSE(request.stream);
  EXPECT_FALSE(request.include_usage);
  EXPECT_FALSE(request.sampling.temperature.has_value());
  EXPECT_FALSE(request.sampling.top_p.has_value());
  EXPECT_FALSE(request.sampling.seed.has_value());
  EXPECT_EQ(request.sampling.max_tokens, 0u);
  EXPECT_EQ(request.sampling.stop, (std::vector<std::string>{"END"}));
}

TEST(ChatRequest, ParsesSamplingExtras) {
  ChatRequest request;
  std::optional<ApiError> error = ParseChatRequest(
      Body(R"("n":3,"logprobs":true,"top_logprobs":5,"presence_penalty":-0.5,"frequency_penalty":1.25,)"
           R"("logit_bias":{"50256":-100,"7":2.5},"top_k":-1,"min_p":0.05)"),
      &request);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_EQ(request.sampling.n, 3);
  EXPECT_TRUE(request.sampling.logprobs);
  EXPECT_EQ(request.sampling.top_logprobs, 5);
  EXPECT_EQ(request.sampling.presence_penalty, -0.5);
  EXPECT_EQ(request.sampling.frequency_penalty, 1.25);
  EXPECT_EQ(request.sampling.logit_bias, (std::vector<std::pair<int32_t, double>>{{50256, -100.0}, {7, 2.5}}));
  EXPECT_EQ(request.sampling.top_k, 0);  // -1 is vLLM's "off"
  EXPECT_EQ(request.sampling.min_p, 0.05);

  ASSERT_FALSE(ParseChatRequest(Body(R"("logprobs":true,"top_k":40)"), &request));
  EXPECT_TRUE(request.sampling.logprobs);
  EXPECT_EQ(request.sampling.top_logprobs, 0);
  EXPECT_EQ(request.sampling.top_k, 40);
  EXPECT_EQ(request.sampling.n, 1);

  std::string many = "{";
  for (int i = 0; i <= 300; ++i) many += (i ? ",\"" : "\"") + std::to_string(i) + "\":1";
  many += "}";
  error = ParseChatRequest(Body("\"logit_bias\":" + many), &request);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "logit_bias");
}

TEST(ChatRequest, MessageCountLimit) {
  std::string many = R"({"model":"m","messages":[)";
  for (size_t i = 0; i <= kMaxMessages; ++i) many += std::string(i ? "," : "") + R"({"role":"user","content":"x"})";
  many += "]}";
  ChatRequest request;
  std::optional<ApiError> error = ParseChatRequest(many, &request);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "messages");
  EXPECT_EQ(error->message, "'messages' must have at most 1024 items");
}

// The "off" values of the deprecated functions pass, so SDKs that always send them work.
TEST(ChatRequest, AcceptsTheOffValuesOfDeprecatedFeaturesAndTheDeveloperRole) {
  for (const char* extra : {R"("tool_choice":"auto")", R"("tool_choice":"none")", R"("response_format":{"type":"text"})",
                            R"("tools":null)", R"("parallel_tool_calls":false)",
                            R"("functions":[{"name":"f"}],"function_call":"none")", R"("functions":[])",
                            R"("function_call":"auto")"}) {
    ChatRequest request;
    std::optional<ApiError> error = ParseChatRequest(Body(extra), &request);
    EXPECT_FALSE(error.has_value()) << extra << ": " << error->message;
    EXPECT_TRUE(request.tools.empty()) << extra;
    EXPECT_EQ(request.tool_choice, ToolChoice::kNone) << extra;
  }
  ChatRequest request;
  ASSERT_FALSE(ParseChatRequest(R"({"model":"m","messages":[{"role":"developer","content":"be brief"},)"
                                R"({"role":"user","content":"hi"}]})",
                                &request));
  EXPECT_EQ(request.messages[0].role, "system");
}

// A chat template shows a tool's schema to the model as written: its key order is the client's
// (nlohmann::json would sort it), compact, with numbers and strings as nlohmann writes them.
TEST(ChatRequest, ToolParametersKeepTheClientsKeyOrder) {
  ChatRequest request;
  std::optional<ApiError> error = ParseChatRequest(
      Body(R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now",)"
           R"("strict":true,"parameters":{ "type" : "object", "properties": {)"
           R"("zeta": {"type": "string", "description": "caf\u00e9 \"q\""},)"
           R"("alpha": {"type": "integer", "maximum": 1e3, "minimum": -0.5, "enum": [3, 1, 2]},)"
           R"("mid": {"anyOf": [{"type": "string"}, {"type": "null"}]}},)"
           R"("required": ["zeta", "alpha"], "additionalProperties": false}}},)"
           R"({"type":"function","function":{"name":"now-2","parameters":{"z":{},"a":[]}}},)"
           R"({"type":"function","function":{"name":"noop","parameters":null,"description":null}}])"),
      &request);
  ASSERT_FALSE(error.has_value()) << error->message;
  ASSERT_EQ(request.tools.size(), 3u);
  EXPECT_EQ(request.tools[0].name, "get_weather");
  EXPECT_EQ(request.tools[0].description, "Weather now");
  EXPECT_EQ(request.tools[0].parameters,
            R"({"type":"object","properties":{"zeta":{"type":"string","description":"café \"q\""},)"
            R"("alpha":{"type":"integer","maximum":1000.0,"minimum":-0.5,"enum":[3,1,2]},)"
            R"("mid":{"anyOf":[{"type":"string"},{"type":"null"}]}},)"
            R"("required":["zeta","alpha"],"additionalProperties":false})");
  EXPECT_TRUE(request.tools[0].strict);
  EXPECT_EQ(request.tools[1].parameters, R"({"z":{},"a":[]})");
  EXPECT_FALSE(request.tools[1].strict);
  EXPECT_FALSE(request.tools[1].description.has_value());
  EXPECT_EQ(request.tools[2].name, "noop");
  EXPECT_EQ(request.tools[2].parameters, "");  // takes no arguments
  EXPECT_EQ(request.tool_choice, ToolChoice::kAuto);  // the default with tools
}

// Only tools[i].function.parameters is read for its key order: objects called "parameters" elsewhere
// in a tool (its own fields, an array, a description's text) are not taken for it.
TEST(ChatRequest, ToolParametersAreReadOnlyWhereTheyStand) {
  ChatRequest request;
  std::optional<ApiError> error = ParseChatRequest(
      Body(R"("tools":[{"type":"function","x":{"parameters":{"decoy":1}},"y":[{"parameters":{"decoy":2}}],)"
           R"("function":{"name":"f","description":"\"parameters\": {}","parameters":{"b":1,"a":2}}},)"
           R"({"type":"function","function":{"name":"g","z":{"parameters":{"decoy":3}}}}])"),
      &request);
  ASSERT_FALSE(error.has_value()) << error->message;
  ASSERT_EQ(request.tools.size(), 2u);
  EXPECT_EQ(request.tools[0].parameters, R"({"b":1,"a":2})");
  EXPECT_EQ(request.tools[1].parameters, "");
}

// A field given twice keeps its last value, as the sorted parse does, so the ordered text is the
// schema that was checked.
TEST(ChatRequest, ARepeatedToolsFieldKeepsItsLastValue) {
  ChatRequest request;
  std::optional<ApiError> error = ParseChatRequest(
      Body(R"("tools":[{"type":"function","function":{"name":"a","parameters":{"x":1,"w":1}}}],)"
           R"("tools":[{"type":"function","function":{"name":"b","parameters":{"c":1,"b":{"a":1,"z":1}},)"
           R"("parameters":{"y":1,"b":{"z":1,"a":1}}}}])"),
      &request);
  ASSERT_FALSE(error.has_value()) << error->message;
  ASSERT_EQ(request.tools.size(), 1u);
  EXPECT_EQ(request.tools[0].name, "b");
  EXPECT_EQ(request.tools[0].parameters, R"({"y":1,"b":{"z":1,"a":1}})");
}

TEST(ChatRequest, EveryToolChoiceForm) {
  const std::string tools = absl::StrCat(R"("tools":[)", kTool, R"(,{"type":"function","function":{"name":"g"}}])");
  struct Case {
    std::string extra;
    ToolChoice want;
    std::string name;
  };
  for (const Case& c : std::vector<Case>{
           {tools, ToolChoice::kAuto, ""},
           {tools + R"(,"tool_choice":null)", ToolChoice::kAuto, ""},
           {tools + R"(,"tool_choice":"auto")", ToolChoice::kAuto, ""},
           {tools + R"(,"tool_choice":"none")", ToolChoice::kNone, ""},
           {tools + R"(,"tool_choice":"required","parallel_tool_calls":true)", ToolChoice::kRequired, ""},
           {tools + R"(,"tool_choice":{"type":"function","function":{"name":"g"}},"parallel_tool_calls":null)",
            ToolChoice::kNamed, "g"},
           {R"("tool_choice":"auto")", ToolChoice::kNone, ""},
       }) {
    ChatRequest request;
    std::optional<ApiError> error = ParseChatRequest(Body(c.extra), &request);
    ASSERT_FALSE(error.has_value()) << c.extra << ": " << error->message;
    EXPECT_EQ(request.tool_choice, c.want) << c.extra;
    EXPECT_EQ(request.tool_choice_name, c.name) << c.extra;
  }
  // A response format goes with tools under every tool_choice: a reply is a call or the answer.
  for (const char* choice : {"none", "auto", "required"}) {
    ChatRequest request;
    ASSERT_FALSE(ParseChatRequest(
        Body(tools + absl::StrCat(R"(,"tool_choice":")", choice, R"(","guided_json":{"type":"object"})")), &request));
    EXPECT_EQ(request.tools.size(), 2u);
    EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kJsonSchema);
  }
}

// A conversation that called a tool: the assistant's calls (arguments as the client wrote them)
// and the tool's result come back in the next request.
TEST(ChatRequest, ToolCallsAndToolResultsRoundTrip) {
  ChatRequest request;
  std::optional<ApiError> error = ParseChatRequest(
      Turns(R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",)"
            R"("function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},)"
            R"({"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]},)"
            R"({"role":"tool","tool_call_id":"call_1","content":"18C"},)"
            R"({"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"noon"}]},)"
            R"({"role":"assistant","content":"Sunny.","tool_calls":[]})",
            absl::StrCat(R"("tools":[)", kTool, "]")),
      &request);
  ASSERT_FALSE(error.has_value()) << error->message;
  ASSERT_EQ(request.messages.size(), 5u);
  const Message& call = request.messages[1];
  EXPECT_EQ(call.role, "assistant");
  EXPECT_TRUE(call.parts.empty());
  ASSERT_EQ(call.tool_calls.size(), 2u);
  EXPECT_EQ(call.tool_calls[0].id, "call_1");
  EXPECT_EQ(call.tool_calls[0].name, "get_weather");
  EXPECT_EQ(call.tool_calls[0].arguments, R"({"city": "Paris"})");
  EXPECT_EQ(call.tool_calls[1].name, "now");
  EXPECT_EQ(request.messages[2].role, "tool");
  EXPECT_EQ(request.messages[2].tool_call_id, "call_1");
  EXPECT_EQ(request.messages[2].Content(), "18C");
  EXPECT_EQ(request.messages[3].tool_call_id, "call_2");
  EXPECT_EQ(request.messages[3].parts, (std::vector<std::string>{"noon"}));
  EXPECT_EQ(request.messages[4].Content(), "Sunny.");
  EXPECT_TRUE(request.messages[4].tool_calls.empty());
  EXPECT_TRUE(request.messages[0].tool_call_id.empty());
}

// JSON mode: on when the type is json_object and some message asks for JSON, in any case and in any
// message (OpenAI's rule); off for text and when absent.
TEST(ChatRequest, JsonObjectTurnsOnJsonMode) {
  ChatRequest request;
  ASSERT_FALSE(ParseChatRequest(R"({"model":"m","response_format":{"type":"json_object"},"messages":[)"
                                R"({"role":"system","content":"Reply in Json."},{"role":"user","content":"hi"}]})",
                                &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kJsonObject);
  ASSERT_FALSE(ParseChatRequest(R"({"model":"m","response_format":{"type":"json_object"},"messages":[)"
                                R"({"role":"user","content":[{"type":"text","text":"as JSON please"}]}]})",
                                &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kJsonObject);
  ASSERT_FALSE(ParseChatRequest(Body(R"("response_format":{"type":"text"})"), &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kText);
  ASSERT_FALSE(ParseChatRequest(Body(""), &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kText);
}

// Structured outputs: the schema travels as compact JSON (inference compiles it), without JSON
// mode's rule about the word 'json'; 'strict' and 'description' are taken either way.
TEST(ChatRequest, JsonSchemaCarriesTheSchema) {
  ChatRequest request;
  ASSERT_FALSE(ParseChatRequest(
      Body(R"("response_format":{"type":"json_schema","json_schema":{"name":"Person_1-a","strict":true,)"
           R"("description":"who","schema":{ "type" : "object", "properties": {"name": {"type": "string"}}}}})"),
      &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kJsonSchema);
  EXPECT_EQ(request.format.schema, R"({"properties":{"name":{"type":"string"}},"type":"object"})");
  const std::string big(kMaxJsonSchemaBytes, 'x');
  std::optional<ApiError> error = ParseChatRequest(
      Body(absl::StrCat(R"("response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"d":")", big,
                        R"("}}})")),
      &request);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "response_format.json_schema.schema");
}

// End-to-end encryption opens the content between parsing and JSON mode's look for "json", which
// must read the plaintext, not the ciphertext.
TEST(ChatRequest, OpenContentRunsBeforeTheChecksThatReadText) {
  const std::string body = R"({"model":"m","response_format":{"type":"json_object"},"messages":[)"
                           R"({"role":"user","content":"a1b2"},{"role":"user","content":[{"type":"text","text":"c3"}]}]})";
  std::string seen_model;
  std::vector<std::vector<std::string>> seen_parts;
  auto open = [&](ChatRequest* opened) -> std::optional<ApiError> {
    seen_model = opened->model;
    for (Message& message : opened->messages) {
      seen_parts.push_back(message.parts);
      for (std::string& part : message.parts) part = "answer in JSON";
    }
    return std::nullopt;
  };
  ChatRequest request;
  ASSERT_FALSE(ParseChatRequest(body, &request, open));
  EXPECT_EQ(seen_model, "m");
  EXPECT_EQ(seen_parts, (std::vector<std::vector<std::string>>{{"a1b2"}, {"c3"}}));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kJsonObject);
  EXPECT_EQ(request.messages[0].Content(), "answer in JSON");

  std::optional<ApiError> error = ParseChatRequest(body, &request, [](ChatRequest*) {
    return std::optional<ApiError>(ApiError{.status = 400, .type = "e2ee_decryption_failed", .message = "no",
                                            .param = "", .code = ""});
  });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, "e2ee_decryption_failed");
  // Unopened, "a1b2" and "c3" do not ask for JSON.
  error = ParseChatRequest(body, &request);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "messages");
}

// vLLM's guided_json, a schema or its JSON text, is structured outputs too; null guides are off.
TEST(ChatRequest, GuidedJsonIsAJsonSchema) {
  ChatRequest request;
  ASSERT_FALSE(ParseChatRequest(Body(R"("guided_json":{"type":"object"},"guided_regex":null)"), &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kJsonSchema);
  EXPECT_EQ(request.format.schema, R"({"type":"object"})");
  ASSERT_FALSE(ParseChatRequest(Body(R"("guided_json":"{\"type\": \"object\"}")"), &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kJsonSchema);
  EXPECT_EQ(request.format.schema, R"({"type":"object"})");
  CompletionRequest completion;
  ASSERT_FALSE(ParseCompletionRequest(R"({"model":"m","prompt":"x","guided_json":{"type":"object"}})", &completion));
  EXPECT_EQ(completion.format.kind, ResponseFormat::Kind::kJsonSchema);
}

// vLLM 0.10.2 on: structured_outputs.json (a schema or its text) or .json_object; the options it can
// honour (disable_fallback, disable_additional_properties: undeclared properties are never written)
// pass.
TEST(ChatRequest, VllmStructuredOutputsSetTheFormat) {
  ChatRequest request;
  ASSERT_FALSE(ParseChatRequest(
      Body(R"("structured_outputs":{"json":"{\"type\":\"object\"}","disable_additional_properties":true,)"
           R"("disable_fallback":true,"regex":null})"),
      &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kJsonSchema);
  EXPECT_EQ(request.format.schema, R"({"type":"object"})");
  ASSERT_FALSE(ParseChatRequest(Body(R"("structured_outputs":{"json_object":true})"), &request))
      << "no 'json' rule here: vLLM has none";
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kJsonObject);
  ASSERT_FALSE(ParseChatRequest(Body(R"("structured_outputs":null)"), &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kText);
}

// Completions take response_format too (as vLLM), without chat's rule about the word 'json'.
TEST(CompletionRequest, JsonObjectTurnsOnJsonMode) {
  CompletionRequest request;
  ASSERT_FALSE(ParseCompletionRequest(R"({"model":"m","prompt":"x","response_format":{"type":"json_object"}})",
                                      &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kJsonObject);
  ASSERT_FALSE(ParseCompletionRequest(R"({"model":"m","prompt":"x"})", &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kText);
  ASSERT_FALSE(ParseCompletionRequest(
      R"({"model":"m","prompt":"x","response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{}}}})",
      &request));
  EXPECT_EQ(request.format.kind, ResponseFormat::Kind::kJsonSchema);
  EXPECT_EQ(request.format.schema, "{}");
}

TEST(CompletionRequest, RefusesWhatItCannotHonour) {
  struct Case {
    const char* body;
    const char* param;
  };
  for (const Case& c : {Case{R"({"model":"m","prompt":"x","echo":1})", "echo"},
                        Case{R"({"model":"m","prompt":"x","suffix":"end"})", "suffix"},
                        Case{R"({"model":"m","prompt":"x","best_of":2})", "best_of"},
                        Case{R"({"model":"m","prompt":"x","n":2,"best_of":3})", "best_of"}}) {
    CompletionRequest request;
    std::optional<ApiError> error = ParseCompletionRequest(c.body, &request);
    ASSERT_TRUE(error.has_value()) << c.body;
    EXPECT_EQ(error->param, c.param) << c.body;
  }
  for (const char* ok : {R"({"model":"m","prompt":"x","echo":false,"suffix":"","best_of":1})",
                         R"({"model":"m","prompt":"x","n":2,"best_of":2,"suffix":null})"}) {
    CompletionRequest request;
    std::optional<ApiError> error = ParseCompletionRequest(ok, &request);
    EXPECT_FALSE(error.has_value()) << ok << ": " << error->message;
  }
}

TEST(CompletionRequest, ParsesEcho) {
  CompletionRequest request;
  ASSERT_FALSE(ParseCompletionRequest(R"({"model":"m","prompt":"x"})", &request));
  EXPECT_FALSE(request.echo);
  ASSERT_FALSE(ParseCompletionRequest(R"({"model":"m","prompt":"x","echo":true,"logprobs":2})", &request));
  EXPECT_TRUE(request.echo);
  EXPECT_TRUE(request.sampling.logprobs);
  ASSERT_FALSE(ParseCompletionRequest(R"({"model":"m","prompt":"x","echo":null})", &request));
  EXPECT_FALSE(request.echo);
}

TEST(CompletionRequest, ParsesPrompt) {
  CompletionRequest request;
  ASSERT_FALSE(ParseCompletionRequest(R"({"model":"m","prompt":"Once","max_tokens":5,"stream":true})", &request));
  EXPECT_EQ(request.prompts, std::vector<Prompt>{"Once"});
  EXPECT_TRUE(request.stream);
  EXPECT_EQ(request.sampling.max_tokens, 5u);

  std::optional<ApiError> error = ParseCompletionRequest(R"({"model":"m"})", &request);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "prompt");
}

// OpenAI's four forms: a string, strings, token ids, arrays of token ids. Arrays of strings and of
// arrays are batches, one prompt per element.
TEST(CompletionRequest, ParsesTheFourPromptForms) {
  using Ids = std::vector<int32_t>;
  struct Case {
    const char* prompt;
    std::vector<Prompt> want;
  };
  for (const Case& c : std::vector<Case>{
           {R"("")", {""}},
           {R"(["Once"])", {"Once"}},
           {R"(["a","b",""])", {"a", "b", ""}},
           {"[1,0,2147483647]", {Ids{1, 0, 2147483647}}},
           {"[[7]]", {Ids{7}}},
           {"[[1,2],[3]]", {Ids{1, 2}, Ids{3}}},
       }) {
    CompletionRequest request;
    std::optional<ApiError> error =
        ParseCompletionRequest(absl::StrCat(R"({"model":"m","prompt":)", c.prompt, "}"), &request);
    ASSERT_FALSE(error.has_value()) << c.prompt << ": " << error->message;
    EXPECT_EQ(request.prompts, c.want) << c.prompt;
  }
}

TEST(CompletionRequest, RefusesBadPrompts) {
  std::string many_ids = "[0";
  for (size_t i = 1; i <= kMaxPromptTokenIds; ++i) many_ids += ",0";
  many_ids += "]";
  std::string many_prompts = "[\"a\"";
  for (size_t i = 1; i <= kMaxPrompts; ++i) many_prompts += ",\"a\"";
  many_prompts += "]";
  const std::string forms =
      "'prompt' must be a string, an array of strings, an array of token ids or an array of arrays of token ids";
  struct Case {
    std::string prompt, message;
  };
  const std::vector<Case> cases = {
      {"[]", "'prompt' must not be empty"},
      {"[[]]", "'prompt' must not be empty"},
      {"[[1],[]]", "'prompt' must not be empty"},
      {"[-1]", "'prompt' token ids must be between 0 and 2147483647"},
      {"[[2147483648]]", "'prompt' token ids must be between 0 and 2147483647"},
      {"[18446744073709551615]", "'prompt' token ids must be between 0 and 2147483647"},
      {many_ids, absl::StrCat("'prompt' has more than ", kMaxPromptTokenIds, " token ids")},
      {many_prompts, absl::StrCat("'prompt' holds more than ", kMaxPrompts, " prompts")},
      {"[1.5]", forms},
      {R"([1,"a"])", forms},
      {R"(["a",[1]])", forms},
      {R"([[1,"a"]])", forms},
      {"[[[1]]]", forms},
      {"[true]", forms},
      {"[null]", forms},
      {"7", forms},
      {"{}", forms},
      {"null", "'prompt' is a required property"},  // null counts as absent
  };
  for (const Case& c : cases) {
    CompletionRequest request;
    std::optional<ApiError> error = ParseCompletionRequest(R"({"model":"m","prompt":)" + c.prompt + "}", &request);
    ASSERT_TRUE(error.has_value()) << c.prompt.substr(0, 40);
    EXPECT_EQ(error->param, "prompt");
    EXPECT_EQ(error->message, c.message) << c.prompt.substr(0, 40);
  }
}

TEST(CompletionRequest, LegacyLogprobsIsACount) {
  CompletionRequest request;
  ASSERT_FALSE(ParseCompletionRequest(R"({"model":"m","prompt":"x","logprobs":3,"n":2,"top_k":5})", &request));
  EXPECT_TRUE(request.sampling.logprobs);
  EXPECT_EQ(request.sampling.top_logprobs, 3);
  EXPECT_EQ(request.sampling.n, 2);
  EXPECT_EQ(request.sampling.top_k, 5);
  ASSERT_FALSE(ParseCompletionRequest(R"({"model":"m","prompt":"x","logprobs":0})", &request));
  EXPECT_TRUE(request.sampling.logprobs);
  EXPECT_EQ(request.sampling.top_logprobs, 0);
  for (const char* bad : {R"({"model":"m","prompt":"x","logprobs":true})", R"({"model":"m","prompt":"x","logprobs":21})"}) {
    std::optional<ApiError> error = ParseCompletionRequest(bad, &request);
    ASSERT_TRUE(error.has_value()) << bad;
    EXPECT_EQ(error->param, "logprobs");
    EXPECT_EQ(error->message, "'logprobs' must be an integer between 0 and 20");
  }
}

TEST(JsonNestingDepth, SkipsStrings) {
  EXPECT_EQ(JsonNestingDepth(R"({"a":[1,{"b":"[[[[\"]]"}]})"), 3);
  EXPECT_EQ(JsonNestingDepth("1"), 0);
}

}  // namespace
}  // namespace cai::openai
