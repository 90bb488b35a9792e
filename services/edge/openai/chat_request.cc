#include "services/edge/openai/chat_request.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/common/ascii.h"

namespace cai::openai {
namespace {

using Json = nlohmann::json;

// The field, or nullptr when it is absent or null.
const Json* Field(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<ApiError> ParseObject(std::string_view body, Json* out) {
  if (JsonNestingDepth(body) > kMaxJsonDepth) {
    return InvalidRequest(absl::StrCat("JSON nesting deeper than ", kMaxJsonDepth));
  }
  *out = Json::parse(body, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) return InvalidRequest("We could not parse the JSON body of your request.");
  if (!out->is_object()) return InvalidRequest("The request body must be a JSON object.");
  return std::nullopt;
}

std::optional<ApiError> ParseModel(const Json& body, std::string* model) {
  const Json* value = Field(body, "model");
  if (value == nullptr) return InvalidRequest("'model' is a required property", "model");
  if (!value->is_string() || value->get_ref<const std::string&>().empty()) {
    return InvalidRequest("'model' must be a non-empty string", "model");
  }
  *model = value->get<std::string>();
  return std::nullopt;
}

std::optional<ApiError> ParseStream(const Json& body, bool* stream, bool* include_usage) {
  if (const Json* value = Field(body, "stream")) {
    if (!value->is_boolean()) return InvalidRequest("'stream' must be a boolean", "stream");
    *stream = value->get<bool>();
  }
  const Json* options = Field(body, "stream_options");
  if (options == nullptr) return std::nullopt;
  // Same rule and message as vLLM.
  if (!*stream) {
    return InvalidRequest("Stream options can only be defined when `stream=True`.", "stream_options");
  }
  if (!options->is_object()) return InvalidRequest("'stream_options' must be an object", "stream_options");
  if (const Json* usage = Field(*options, "include_usage")) {
    if (!usage->is_boolean()) {
      return InvalidRequest("'stream_options.include_usage' must be a boolean",
                            "stream_options.include_usage");
    }
    *include_usage = usage->get<bool>();
  }
  return std::nullopt;
}

// {"<token id>": bias}: decimal ids (checked against the vocabulary by inference), biases in
// [-100, 100], at most kMaxLogitBias entries.
std::optional<ApiError> ParseLogitBias(const Json& value, std::vector<std::pair<int32_t, double>>* out) {
  const std::string message = absl::StrCat("'logit_bias' must be an object of at most ", kMaxLogitBias,
                                           " token ids (as strings) mapped to numbers between -100 and 100");
  if (!value.is_object() || value.size() > kMaxLogitBias) return InvalidRequest(message, "logit_bias");
  for (const auto& [key, bias] : value.items()) {
    int64_t id = 0;
    bool digits = !key.empty() && key.size() <= 10;
    for (char c : key) {
      digits = digits && c >= '0' && c <= '9';
      if (digits) id = id * 10 + (c - '0');
    }
    if (!digits || id > INT32_MAX || !bias.is_number() || bias.get<double>() < -100 || bias.get<double>() > 100) {
      return InvalidRequest(message, "logit_bias");
    }
    out->emplace_back(static_cast<int32_t>(id), bias.get<double>());
  }
  return std::nullopt;
}

std::optional<ApiError> ParseSampling(const Json& body, Sampling* out) {
  if (const Json* value = Field(body, "temperature")) {
    if (!value->is_number() || value->get<double>() < 0 || value->get<double>() > 2) {
      return InvalidRequest("'temperature' must be a number between 0 and 2", "temperature");
    }
    out->temperature = value->get<double>();
  }
  if (const Json* value = Field(body, "top_p")) {
    if (!value->is_number() || value->get<double>() <= 0 || value->get<double>() > 1) {
      return InvalidRequest("'top_p' must be a number greater than 0 and at most 1", "top_p");
    }
    out->top_p = value->get<double>();
  }
  // max_completion_tokens replaces the deprecated max_tokens and wins when both are given.
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    const Json* value = Field(body, name);
    if (value == nullptr) continue;
    // A uint64 beyond int64 reads as negative and is rejected with the rest.
    bool ok = value->is_number_integer() && value->get<int64_t>() >= 1 &&
              value->get<int64_t>() <= kMaxCompletionTokens;
    if (!ok) {
      return InvalidRequest(
          absl::StrCat("'", name, "' must be an integer between 1 and ", kMaxCompletionTokens), name);
    }
    out->max_tokens = static_cast<uint32_t>(value->get<int64_t>());
  }
  if (const Json* value = Field(body, "seed")) {
    if (!value->is_number_integer()) return InvalidRequest("'seed' must be an integer", "seed");
    out->seed = value->is_number_unsigned() ? value->get<uint64_t>()
                                            : static_cast<uint64_t>(value->get<int64_t>());
  }
  if (const Json* value = Field(body, "stop")) {
    const std::string message = absl::StrCat("'stop' must be a non-empty string or an array of at most ",
                                             kMaxStopSequences, " non-empty strings of at most ",
                                             kMaxStopBytes, " bytes");
    std::vector<const Json*> items;
    if (value->is_string()) {
      items.push_back(value);
    } else if (value->is_array() && value->size() <= kMaxStopSequences) {
      for (const Json& item : *value) items.push_back(&item);
    } else {
      return InvalidRequest(message, "stop");
    }
    for (const Json* item : items) {
      if (!item->is_string()) return InvalidRequest(message, "stop");
      const std::string& text = item->get_ref<const std::string&>();
      if (text.empty() || text.size() > kMaxStopBytes) return InvalidRequest(message, "stop");
      out->stop.push_back(text);
    }
  }
  if (const Json* value = Field(body, "n")) {
    if (!value->is_number_integer() || value->get<int64_t>() < 1 || value->get<int64_t>() > kMaxChoices) {
      return InvalidRequest(absl::StrCat("'n' must be an integer between 1 and ", kMaxChoices), "n");
    }
    out->n = static_cast<int>(value->get<int64_t>());
  }
  for (auto [name, target] : {std::pair{"presence_penalty", &out->presence_penalty},
                              std::pair{"frequency_penalty", &out->frequency_penalty}}) {
    const Json* value = Field(body, name);
    if (value == nullptr) continue;
    if (!value->is_number() || value->get<double>() < -2 || value->get<double>() > 2) {
      return InvalidRequest(absl::StrCat("'", name, "' must be a number between -2 and 2"), name);
    }
    *target = value->get<double>();
  }
  if (const Json* value = Field(body, "top_k")) {  // vLLM: -1 and 0 both mean "off"
    if (!value->is_number_integer() || value->get<int64_t>() < -1 || value->get<int64_t>() > kMaxTopK) {
      return InvalidRequest(absl::StrCat("'top_k' must be an integer between -1 and ", kMaxTopK), "top_k");
    }
    out->top_k = static_cast<int32_t>(std::max<int64_t>(0, value->get<int64_t>()));
  }
  if (const Json* value = Field(body, "min_p")) {
    if (!value->is_number() || value->get<double>() < 0 || value->get<double>() > 1) {
      return InvalidRequest("'min_p' must be a number between 0 and 1", "min_p");
    }
    out->min_p = value->get<double>();
  }
  if (const Json* value = Field(body, "logit_bias")) {
    if (auto error = ParseLogitBias(*value, &out->logit_bias)) return error;
  }
  return std::nullopt;
}

// Chat: "logprobs" is a boolean and "top_logprobs" (0..20) needs it.
std::optional<ApiError> ParseChatLogprobs(const Json& body, Sampling* out) {
  if (const Json* value = Field(body, "logprobs")) {
    if (!value->is_boolean()) return InvalidRequest("'logprobs' must be a boolean", "logprobs");
    out->logprobs = value->get<bool>();
  }
  if (const Json* value = Field(body, "top_logprobs")) {
    if (!value->is_number_integer() || value->get<int64_t>() < 0 || value->get<int64_t>() > kMaxTopLogprobs) {
      return InvalidRequest(absl::StrCat("'top_logprobs' must be an integer between 0 and ", kMaxTopLogprobs),
                            "top_logprobs");
    }
    if (!out->logprobs) {  // vLLM's message
      return InvalidRequest("when using `top_logprobs`, `logprobs` must be set to true.", "top_logprobs");
    }
    out->top_logprobs = static_cast<int>(value->get<int64_t>());
  }
  return std::nullopt;
}

// Completions (legacy): "logprobs" is the number of alternatives, 0..20.
std::optional<ApiError> ParseCompletionLogprobs(const Json& body, Sampling* out) {
  const Json* value = Field(body, "logprobs");
  if (value == nullptr) return std::nullopt;
  if (!value->is_number_integer() || value->get<int64_t>() < 0 || value->get<int64_t>() > kMaxTopLogprobs) {
    return InvalidRequest(absl::StrCat("'logprobs' must be an integer between 0 and ", kMaxTopLogprobs), "logprobs");
  }
  out->logprobs = true;
  out->top_logprobs = static_cast<int>(value->get<int64_t>());
  return std::nullopt;
}

// content: a string, or an array of {"type":"text","text":...} parts.
std::optional<ApiError> ParseContent(const Json& message, const std::string& param, bool allow_null,
                                     Message* out) {
  const Json* content = Field(message, "content");
  if (content == nullptr) {
    if (allow_null) return std::nullopt;
    return InvalidRequest(absl::StrCat("'", param, "' is a required property"), param);
  }
  if (content->is_string()) {
    out->parts.push_back(content->get<std::string>());
    return std::nullopt;
  }
  if (!content->is_array()) {
    return InvalidRequest(absl::StrCat("'", param, "' must be a string or an array of text parts"), param);
  }
  out->content_is_array = true;
  for (size_t i = 0; i < content->size(); ++i) {
    const Json& part = (*content)[i];
    const std::string part_param = absl::StrCat(param, "[", i, "]");
    if (!part.is_object()) {
      return InvalidRequest(absl::StrCat("'", part_param, "' must be an object"), part_param);
    }
    const Json* type = Field(part, "type");
    if (type == nullptr || !type->is_string() || type->get_ref<const std::string&>() != "text") {
      return InvalidRequest(absl::StrCat("'", part_param, ".type' must be 'text': only text content is supported"),
                            part_param + ".type");
    }
    const Json* text = Field(part, "text");
    if (text == nullptr || !text->is_string()) {
      return InvalidRequest(absl::StrCat("'", part_param, ".text' must be a string"), part_param + ".text");
    }
    out->parts.push_back(text->get<std::string>());
  }
  return std::nullopt;
}

std::optional<ApiError> ParseMessages(const Json& body, std::vector<Message>* out) {
  const Json* messages = Field(body, "messages");
  if (messages == nullptr) return InvalidRequest("'messages' is a required property", "messages");
  if (!messages->is_array() || messages->empty()) {
    return InvalidRequest("'messages' must be a non-empty array", "messages");
  }
  if (messages->size() > kMaxMessages) {
    return InvalidRequest(absl::StrCat("'messages' must have at most ", kMaxMessages, " items"), "messages");
  }
  out->reserve(messages->size());
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& item = (*messages)[i];
    const std::string param = absl::StrCat("messages[", i, "]");
    if (!item.is_object()) return InvalidRequest(absl::StrCat("'", param, "' must be an object"), param);
    const Json* role = Field(item, "role");
    if (role == nullptr || !role->is_string()) {
      return InvalidRequest(absl::StrCat("'", param, ".role' must be a string"), param + ".role");
    }
    Message message{.role = role->get<std::string>(), .parts = {}, .content_is_array = false};
    // OpenAI's newer models take "developer" where older ones took "system": the same instructions,
    // and the role chat templates know.
    if (message.role == "developer") message.role = "system";
    if (message.role != "system" && message.role != "user" && message.role != "assistant") {
      return InvalidRequest(absl::StrCat("'", param, ".role' must be one of 'system', 'developer', 'user', "
                                         "'assistant' ('tool' and 'function' messages need tool calls, which are "
                                         "not supported)"),
                            param + ".role");
    }
    // An assistant turn may carry null content (OpenAI allows it next to tool_calls).
    if (auto error = ParseContent(item, param + ".content", message.role == "assistant", &message)) {
      return error;
    }
    out->push_back(std::move(message));
  }
  return std::nullopt;
}

// Features a client may ask for that this service cannot honour. Ignoring them would hand an agent
// plain text where it expects a tool call or JSON, so they are refused; their "off" values pass.
std::optional<ApiError> RefuseChatFeatures(const Json& body) {
  auto is_none = [](const Json* value) {
    return value != nullptr && value->is_string() && value->get_ref<const std::string&>() == "none";
  };
  const Json* tool_choice = Field(body, "tool_choice");
  // function_call is the deprecated tool_choice of the deprecated functions.
  const bool tools_off = is_none(tool_choice) || (tool_choice == nullptr && is_none(Field(body, "function_call")));
  for (const char* name : {"tools", "functions"}) {
    const Json* value = Field(body, name);
    if (value != nullptr && !(value->is_array() && value->empty()) && !tools_off) {
      return InvalidRequest(absl::StrCat("'", name, "' is not supported: this service does not make tool calls "
                                         "(send no tools, or tool_choice 'none')"),
                            name);
    }
  }
  if (tool_choice != nullptr && !(tool_choice->is_string() && (tool_choice->get_ref<const std::string&>() == "none" ||
                                                               tool_choice->get_ref<const std::string&>() == "auto"))) {
    return InvalidRequest("'tool_choice' must be 'none' or 'auto': this service does not make tool calls",
                          "tool_choice");
  }
  return std::nullopt;
}

// Structured outputs with `schema`, whose compact text goes to inference (at most kMaxJsonSchemaBytes).
std::optional<ApiError> TakeSchema(const Json& schema, const char* param, ResponseFormat* out) {
  out->schema = schema.dump();  // parsed from UTF-8, so this cannot throw
  if (out->schema.size() > kMaxJsonSchemaBytes) {
    return InvalidRequest(absl::StrCat("'", param, "' is longer than ", kMaxJsonSchemaBytes, " bytes as JSON"), param);
  }
  out->kind = ResponseFormat::Kind::kJsonSchema;
  return std::nullopt;
}

// {"type": "json_schema", "json_schema": {"name", "schema", "description"?, "strict"?}}, as OpenAI.
// The schema is enforced whatever 'strict' says.
std::optional<ApiError> ParseJsonSchemaFormat(const Json& format, ResponseFormat* out) {
  const Json* spec = Field(format, "json_schema");
  if (spec == nullptr || !spec->is_object()) {
    return InvalidRequest("'response_format' of type 'json_schema' needs a 'json_schema' object",
                          "response_format.json_schema");
  }
  const Json* name = Field(*spec, "name");
  const bool name_ok = name != nullptr && name->is_string() && !name->get_ref<const std::string&>().empty() &&
                       name->get_ref<const std::string&>().size() <= 64 && IsNameChars(name->get_ref<const std::string&>());
  if (!name_ok) {
    return InvalidRequest("'response_format.json_schema.name' must be 1 to 64 letters, digits, '_' or '-'",
                          "response_format.json_schema.name");
  }
  if (const Json* strict = Field(*spec, "strict"); strict != nullptr && !strict->is_boolean() && !strict->is_null()) {
    return InvalidRequest("'response_format.json_schema.strict' must be a boolean", "response_format.json_schema.strict");
  }
  if (const Json* description = Field(*spec, "description"); description != nullptr && !description->is_string()) {
    return InvalidRequest("'response_format.json_schema.description' must be a string",
                          "response_format.json_schema.description");
  }
  const Json* schema = Field(*spec, "schema");
  if (schema == nullptr || !schema->is_object()) {
    return InvalidRequest("'response_format.json_schema.schema' must be a JSON Schema object",
                          "response_format.json_schema.schema");
  }
  return TakeSchema(*schema, "response_format.json_schema.schema", out);
}

// A schema given as an object or as its JSON text (vLLM takes both), as `param`.
std::optional<ApiError> TakeSchemaOrText(const Json& value, const std::string& param, ResponseFormat* out) {
  Json schema = value;
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() > kMaxJsonSchemaBytes || JsonNestingDepth(text) > kMaxJsonDepth) {
      return InvalidRequest(absl::StrCat("'", param, "' is too long or nests too deep"), param);
    }
    schema = Json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  }
  if (!schema.is_object()) {
    return InvalidRequest(absl::StrCat("'", param, "' must be a JSON Schema object, or its JSON text"), param);
  }
  return TakeSchema(schema, param.c_str(), out);
}

// vLLM's structured outputs (extra_body), which set the format unless response_format did:
//  - `structured_outputs` (vLLM 0.10.2 on): exactly one of json (a schema or its JSON text) and
//    json_object (true) is taken; regex, choice, grammar and structural_tag are refused, as are
//    the options this service cannot honour (no whitespace at all, a whitespace pattern).
//  - `guided_json` (before vLLM 0.12): a schema or its JSON text. The other guides are refused.
// Refused rather than ignored, which would hand a client free text where it expects a constrained one.
std::optional<ApiError> ParseVllmStructuredOutputs(const Json& body, ResponseFormat* out) {
  for (const char* name : {"guided_regex", "guided_choice", "guided_grammar", "guided_whitespace_pattern",
                           "structural_tag"}) {
    if (const Json* guide = Field(body, name); guide != nullptr && !guide->is_null()) {
      return InvalidRequest(absl::StrCat("'", name, "' is not supported: use 'structured_outputs.json', ",
                                         "'guided_json', or 'response_format' of type 'json_object' or 'json_schema'"),
                            name);
    }
  }
  const Json* guided = Field(body, "guided_json");
  const Json* structured = Field(body, "structured_outputs");
  const bool has_guided = guided != nullptr && !guided->is_null();
  const bool has_structured = structured != nullptr && !structured->is_null();
  if (!has_guided && !has_structured) return std::nullopt;
  const char* given = has_guided ? "guided_json" : "structured_outputs";
  if (out->kind != ResponseFormat::Kind::kText || (has_guided && has_structured)) {
    return InvalidRequest("give one of 'response_format', 'structured_outputs' and 'guided_json'", given);
  }
  if (has_guided) return TakeSchemaOrText(*guided, "guided_json", out);

  if (!structured->is_object()) {
    return InvalidRequest("'structured_outputs' must be an object", "structured_outputs");
  }
  for (const char* name : {"regex", "choice", "grammar", "structural_tag", "whitespace_pattern"}) {
    if (const Json* value = Field(*structured, name); value != nullptr && !value->is_null()) {
      return InvalidRequest(absl::StrCat("'structured_outputs.", name, "' is not supported: use 'json' or ",
                                         "'json_object'"),
                            absl::StrCat("structured_outputs.", name));
    }
  }
  if (const Json* bare = Field(*structured, "disable_any_whitespace"); bare != nullptr && bare->is_boolean() && *bare) {
    return InvalidRequest("'structured_outputs.disable_any_whitespace' is not supported (whitespace is allowed "
                          "between tokens, at most 64 bytes in a row)",
                          "structured_outputs.disable_any_whitespace");
  }
  const Json* json = Field(*structured, "json");
  const Json* json_object = Field(*structured, "json_object");
  const bool wants_json = json != nullptr && !json->is_null();
  const bool wants_object = json_object != nullptr && json_object->is_boolean() && *json_object;
  if (wants_json == wants_object) {
    return InvalidRequest("'structured_outputs' must set exactly one of 'json' and 'json_object'",
                          "structured_outputs");
  }
  if (wants_json) return TakeSchemaOrText(*json, "structured_outputs.json", out);
  out->kind = ResponseFormat::Kind::kJsonObject;
  return std::nullopt;
}

// response_format: 'text', 'json_object' (JSON mode) or 'json_schema' (structured outputs). The
// schema is only checked for shape here; inference compiles it and refuses, naming the keyword,
// what it cannot enforce. Chat passes its `messages`, one of which must ask for JSON in JSON mode
// (OpenAI's rule); completions (vLLM's extension) pass none.
std::optional<ApiError> ParseOpenAiResponseFormat(const Json& body, const std::vector<Message>* messages,
                                                  ResponseFormat* out) {
  *out = ResponseFormat{};
  const Json* format = Field(body, "response_format");
  if (format == nullptr) return std::nullopt;
  const Json* type = format->is_object() ? Field(*format, "type") : nullptr;
  if (type == nullptr || !type->is_string()) {
    return InvalidRequest("'response_format' must be an object with a 'type'", "response_format");
  }
  const std::string& name = type->get_ref<const std::string&>();
  if (name == "text") return std::nullopt;
  if (name == "json_schema") return ParseJsonSchemaFormat(*format, out);
  if (name != "json_object") {
    return InvalidRequest(absl::StrCat("'response_format' of type '", name.substr(0, 64),
                                       "' is not supported: use 'text', 'json_object' or 'json_schema'"),
                          "response_format.type");
  }
  // As OpenAI: JSON mode without asking for JSON lets the model fill its budget with whitespace.
  const bool asks = messages == nullptr || std::any_of(messages->begin(), messages->end(), [](const Message& m) {
                      return absl::StrContains(absl::AsciiStrToLower(m.Content()), "json");
                    });
  if (!asks) {
    return InvalidRequest("'messages' must contain the word 'json' in some form, to use 'response_format' of "
                          "type 'json_object'",
                          "messages");
  }
  out->kind = ResponseFormat::Kind::kJsonObject;
  return std::nullopt;
}

// What the text must be: response_format, or vLLM's structured outputs.
std::optional<ApiError> ParseResponseFormat(const Json& body, const std::vector<Message>* messages,
                                            ResponseFormat* out) {
  if (auto error = ParseOpenAiResponseFormat(body, messages, out)) return error;
  return ParseVllmStructuredOutputs(body, out);
}

std::optional<ApiError> RefuseCompletionFeatures(const Json& body, int n) {
  if (const Json* echo = Field(body, "echo"); echo != nullptr && !(echo->is_boolean() && !echo->get<bool>())) {
    return InvalidRequest("'echo' is not supported (only false)", "echo");
  }
  if (const Json* suffix = Field(body, "suffix");
      suffix != nullptr && !(suffix->is_string() && suffix->get_ref<const std::string&>().empty())) {
    return InvalidRequest("'suffix' is not supported (insertion needs a fill-in-the-middle model)", "suffix");
  }
  // best_of == n draws exactly the n choices returned, so it is honoured; more would need ranking.
  if (const Json* best_of = Field(body, "best_of");
      best_of != nullptr && !(best_of->is_number_integer() && best_of->get<int64_t>() == n)) {
    return InvalidRequest(absl::StrCat("'best_of' is not supported beyond n (", n, ")"), "best_of");
  }
  return std::nullopt;
}

// Token ids, a non-empty array of integers in [0, 2^31), appended as one prompt.
std::optional<ApiError> AppendTokenIds(const Json& value, std::vector<Prompt>* out) {
  if (value.empty()) return InvalidRequest("'prompt' must not be empty", "prompt");
  if (value.size() > kMaxPromptTokenIds) {
    return InvalidRequest(absl::StrCat("'prompt' has more than ", kMaxPromptTokenIds, " token ids"), "prompt");
  }
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (const Json& id : value) {
    // nlohmann keeps non-negative integers as unsigned, so a negative one is signed.
    if (!id.is_number_unsigned() || id.get<uint64_t>() > INT32_MAX) {
      return InvalidRequest("'prompt' token ids must be between 0 and 2147483647", "prompt");
    }
    ids.push_back(static_cast<int32_t>(id.get<uint64_t>()));
  }
  out->push_back(std::move(ids));
  return std::nullopt;
}

// OpenAI's four forms: a string, an array of strings, an array of token ids, an array of arrays
// of token ids. The arrays of strings and of arrays are batches, one prompt per element.
std::optional<ApiError> ParsePrompts(const Json& json, std::vector<Prompt>* out) {
  const Json* prompt = Field(json, "prompt");
  if (prompt == nullptr) return InvalidRequest("'prompt' is a required property", "prompt");
  out->clear();
  if (prompt->is_string()) {
    out->push_back(prompt->get<std::string>());
    return std::nullopt;
  }
  auto all_of = [](const Json& array, auto is) {
    return array.is_array() && std::all_of(array.begin(), array.end(), is);
  };
  auto is_id = [](const Json& e) { return e.is_number_integer(); };
  const bool token_ids = all_of(*prompt, is_id);
  const bool strings = all_of(*prompt, [](const Json& e) { return e.is_string(); });
  const bool id_arrays = all_of(*prompt, [&](const Json& e) { return all_of(e, is_id); });
  if (!token_ids && !strings && !id_arrays) {
    return InvalidRequest("'prompt' must be a string, an array of strings, an array of token ids or an array of "
                          "arrays of token ids",
                          "prompt");
  }
  if (prompt->empty()) return InvalidRequest("'prompt' must not be empty", "prompt");
  if (token_ids) return AppendTokenIds(*prompt, out);
  if (prompt->size() > kMaxPrompts) {
    return InvalidRequest(absl::StrCat("'prompt' holds more than ", kMaxPrompts, " prompts"), "prompt");
  }
  for (const Json& element : *prompt) {
    if (strings) {
      out->push_back(element.get<std::string>());
    } else if (auto error = AppendTokenIds(element, out)) {
      return error;
    }
  }
  return std::nullopt;
}

}  // namespace

int JsonNestingDepth(std::string_view json) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

std::string Message::Content() const {
  std::string text;
  for (const std::string& part : parts) text += part;
  return text;
}

std::optional<ApiError> ParseChatRequest(std::string_view body, ChatRequest* out, const OpenContent& open) {
  Json json;
  if (auto error = ParseObject(body, &json)) return error;
  *out = ChatRequest{};
  if (auto error = ParseModel(json, &out->model)) return error;
  if (auto error = ParseMessages(json, &out->messages)) return error;
  if (auto error = ParseStream(json, &out->stream, &out->include_usage)) return error;
  if (auto error = ParseSampling(json, &out->sampling)) return error;
  if (auto error = RefuseChatFeatures(json)) return error;
  if (auto error = ParseChatLogprobs(json, &out->sampling)) return error;
  if (open) {
    if (auto error = open(out)) return error;
  }
  return ParseResponseFormat(json, &out->messages, &out->format);
}

std::optional<ApiError> ParseCompletionRequest(std::string_view body, CompletionRequest* out) {
  Json json;
  if (auto error = ParseObject(body, &json)) return error;
  *out = CompletionRequest{};
  if (auto error = ParseModel(json, &out->model)) return error;
  if (auto error = ParsePrompts(json, &out->prompts)) return error;
  if (auto error = ParseStream(json, &out->stream, &out->include_usage)) return error;
  if (auto error = ParseSampling(json, &out->sampling)) return error;
  if (auto error = RefuseCompletionFeatures(json, out->sampling.n)) return error;
  if (auto error = ParseResponseFormat(json, nullptr, &out->format)) return error;
  return ParseCompletionLogprobs(json, &out->sampling);
}

}  // namespace cai::openai
