#include "services/edge/openai/chat_request.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_set.h"
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

// `text` parsed, or discarded when it is not JSON. nlohmann stops reading at a NUL byte, so a text
// with one (whatever follows it would pass unseen) is not JSON here; nesting is bounded first, as
// the parser recurses.
Json ParseJsonText(std::string_view text) {
  if (JsonNestingDepth(text) > kMaxJsonDepth || text.find('\0') != std::string_view::npos) {
    return Json(Json::value_t::discarded);
  }
  return Json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
}

std::optional<ApiError> ParseObject(std::string_view body, Json* out) {
  if (JsonNestingDepth(body) > kMaxJsonDepth) {
    return InvalidRequest(absl::StrCat("JSON nesting deeper than ", kMaxJsonDepth));
  }
  *out = ParseJsonText(body);
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

// `function`'s "name", a tool's name (`param` names the function object).
std::optional<ApiError> ParseFunctionName(const Json& function, const std::string& param, std::string* out) {
  const Json* name = Field(function, "name");
  if (name == nullptr || !name->is_string() || !IsName(name->get_ref<const std::string&>(), kMaxToolNameBytes)) {
    return InvalidRequest(absl::StrCat("'", param, ".name' must be 1 to ", kMaxToolNameBytes,
                                       " letters, digits, '_' or '-'"),
                          param + ".name");
  }
  *out = name->get<std::string>();
  return std::nullopt;
}

// `object`'s "type" is "function" (the one kind of tool and of tool call served).
std::optional<ApiError> CheckFunctionType(const Json& object, const std::string& param) {
  const Json* type = Field(object, "type");
  if (type == nullptr || !type->is_string() || type->get_ref<const std::string&>() != "function") {
    return InvalidRequest(absl::StrCat("'", param, ".type' must be 'function'"), param + ".type");
  }
  return std::nullopt;
}

// The JSON text of an object (a tool call's arguments).
bool IsObjectText(std::string_view text) { return ParseJsonText(text).is_object(); }

// One of an assistant message's tool_calls: {"id", "type": "function", "function": {"name",
// "arguments"}}, the arguments kept as the client wrote them.
std::optional<ApiError> ParseToolCall(const Json& call, const std::string& param, ToolCall* out) {
  if (!call.is_object()) return InvalidRequest(absl::StrCat("'", param, "' must be an object"), param);
  const Json* id = Field(call, "id");
  if (id == nullptr || !id->is_string() || id->get_ref<const std::string&>().size() > kMaxToolCallIdBytes) {
    return InvalidRequest(absl::StrCat("'", param, ".id' must be a string of at most ", kMaxToolCallIdBytes, " bytes"),
                          param + ".id");
  }
  if (auto error = CheckFunctionType(call, param)) return error;
  const Json* function = Field(call, "function");
  if (function == nullptr || !function->is_object()) {
    return InvalidRequest(absl::StrCat("'", param, ".function' must be an object"), param + ".function");
  }
  std::string name;
  if (auto error = ParseFunctionName(*function, param + ".function", &name)) return error;
  const Json* arguments = Field(*function, "arguments");
  if (arguments == nullptr || !arguments->is_string() || !IsObjectText(arguments->get_ref<const std::string&>())) {
    return InvalidRequest(absl::StrCat("'", param, ".function.arguments' must be the JSON text of an object"),
                          param + ".function.arguments");
  }
  *out = ToolCall{.id = id->get<std::string>(), .name = std::move(name), .arguments = arguments->get<std::string>()};
  return std::nullopt;
}

// An assistant message's tool_calls (`param` names the message): at most kMaxToolCalls.
std::optional<ApiError> ParseToolCalls(const Json& message, const std::string& param, std::vector<ToolCall>* out) {
  const Json* calls = Field(message, "tool_calls");
  if (calls == nullptr) return std::nullopt;
  const std::string calls_param = param + ".tool_calls";
  if (!calls->is_array() || calls->size() > kMaxToolCalls) {
    return InvalidRequest(
        absl::StrCat("'", calls_param, "' must be an array of at most ", kMaxToolCalls, " tool calls"), calls_param);
  }
  out->resize(calls->size());
  for (size_t j = 0; j < calls->size(); ++j) {
    if (auto error = ParseToolCall((*calls)[j], absl::StrCat(calls_param, "[", j, "]"), &(*out)[j])) return error;
  }
  return std::nullopt;
}

// A tool message's tool_call_id: the call whose result its content is.
std::optional<ApiError> ParseToolCallId(const Json& message, const std::string& param, std::string* out) {
  const std::string id_param = param + ".tool_call_id";
  const Json* id = Field(message, "tool_call_id");
  if (id == nullptr) return InvalidRequest(absl::StrCat("'", id_param, "' is a required property"), id_param);
  if (!id->is_string() || id->get_ref<const std::string&>().size() > kMaxToolCallIdBytes) {
    return InvalidRequest(absl::StrCat("'", id_param, "' must be a string of at most ", kMaxToolCallIdBytes, " bytes"),
                          id_param);
  }
  *out = id->get<std::string>();
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
    Message message;
    message.role = role->get<std::string>();
    // OpenAI's newer models take "developer" where older ones took "system": the same instructions,
    // and the role chat templates know.
    if (message.role == "developer") message.role = "system";
    if (message.role == "function") {
      return InvalidRequest(absl::StrCat("'", param, ".role' 'function' is deprecated and not supported: send "
                                         "the result as a 'tool' message"),
                            param + ".role");
    }
    if (message.role != "system" && message.role != "user" && message.role != "assistant" && message.role != "tool") {
      return InvalidRequest(absl::StrCat("'", param, ".role' must be one of 'system', 'developer', 'user', "
                                         "'assistant', 'tool'"),
                            param + ".role");
    }
    // An assistant turn may carry null content (OpenAI allows it next to tool_calls).
    if (auto error = ParseContent(item, param + ".content", message.role == "assistant", &message)) {
      return error;
    }
    if (message.role == "assistant") {
      if (auto error = ParseToolCalls(item, param, &message.tool_calls)) return error;
    }
    if (message.role == "tool") {
      if (auto error = ParseToolCallId(item, param, &message.tool_call_id)) return error;
    }
    out->push_back(std::move(message));
  }
  return std::nullopt;
}

// tools[i].function.parameters as the client wrote it: its compact JSON text in the client's key
// order (a chat template shows the schema to the model as written, and nlohmann::json sorts keys),
// and whether it gives a key twice in one object (which the sorted parse would hide).
struct OrderedParameters {
  std::string text;  // "" where none was read
  bool repeats_a_key = false;
};

// Reads OrderedParameters for every tool of a body, in one SAX pass rather than as an ordered_json,
// whose objects look up each key linearly (quadratic on a hostile body). A member given twice
// outside the parameters keeps its last value, as the sorted parse does.
class ToolParametersText final : public nlohmann::json_sax<Json> {
 public:
  std::vector<OrderedParameters> tools;  // by tool index

  bool null() override { return Scalar([] { return "null"; }); }
  bool boolean(bool value) override { return Scalar([value] { return value ? "true" : "false"; }); }
  bool number_integer(number_integer_t value) override { return Scalar([value] { return Json(value).dump(); }); }
  bool number_unsigned(number_unsigned_t value) override { return Scalar([value] { return Json(value).dump(); }); }
  bool number_float(number_float_t value, const string_t&) override {
    return Scalar([value] { return Json(value).dump(); });
  }
  bool string(string_t& value) override { return Scalar([&value] { return Json(value).dump(); }); }
  bool binary(binary_t&) override { return false; }  // never in JSON text
  bool start_object(std::size_t) override { return Open('{', true); }
  bool end_object() override { return Close('}'); }
  bool start_array(std::size_t) override { return Open('[', false); }
  bool end_array() override { return Close(']'); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
  bool key(string_t& key) override {
    Level& level = levels_.back();
    if (capture_) {
      if (level.count > 0) Out() += ',';
      Out() += Json(key).dump() + ':';
      if (!level.keys.insert(key).second) tools[*capture_].repeats_a_key = true;
    }
    ++level.count;
    if (levels_.size() <= kParametersDepth) level.key = key;  // only AtParameters reads it
    if (levels_.size() == 1 && key == "tools") tools.clear();  // a later 'tools' replaces this one
    return true;
  }

 private:
  struct Level {
    bool object = false;
    std::string key;   // object, down to the parameters: the member being read
    size_t count = 0;  // members or elements begun
    absl::flat_hash_set<std::string> keys;  // an object inside the parameters: its keys so far
  };
  // body / tools / tools[i] / function: the levels above a parameters value.
  static constexpr size_t kParametersDepth = 4;

  std::string& Out() { return tools[*capture_].text; }
  // The value starting now is tools[i].function.parameters.
  bool AtParameters() const {
    return levels_.size() == kParametersDepth && levels_[0].object && levels_[0].key == "tools" && !levels_[1].object &&
           levels_[2].object && levels_[2].key == "function" && levels_[3].object && levels_[3].key == "parameters";
  }
  // Every value starts here: an array element's comma, and a capture's start.
  void BeginValue() {
    if (!levels_.empty() && !levels_.back().object) {
      if (capture_ && levels_.back().count > 0) Out() += ',';
      ++levels_.back().count;
    }
    if (capture_ || !AtParameters()) return;
    const size_t tool = levels_[1].count - 1;
    if (tools.size() <= tool) tools.resize(tool + 1);
    capture_ = tool;
    capture_depth_ = levels_.size();
    tools[tool] = OrderedParameters{};  // a later 'parameters' replaces this one
  }
  void EndValue() {
    if (capture_ && levels_.size() == capture_depth_) capture_.reset();
  }
  // `text` writes the value: called only inside parameters, so the rest of the body (messages,
  // megabytes maybe) is not written out again.
  template <typename Text>
  bool Scalar(const Text& text) {
    BeginValue();
    if (capture_) Out() += text();
    EndValue();
    return true;
  }
  bool Open(char bracket, bool object) {
    BeginValue();
    if (capture_) Out() += bracket;
    levels_.push_back(Level{.object = object, .key = "", .count = 0, .keys = {}});
    return true;
  }
  bool Close(char bracket) {
    levels_.pop_back();
    if (capture_) Out() += bracket;
    EndValue();
    return true;
  }

  std::vector<Level> levels_;
  std::optional<size_t> capture_;  // the tool whose parameters are being written
  size_t capture_depth_ = 0;
};

std::vector<OrderedParameters> OrderedToolParameters(std::string_view body) {
  ToolParametersText reader;
  Json::sax_parse(body, &reader);  // the body parsed already
  return std::move(reader.tools);
}

// tools[i]: {"type": "function", "function": {"name", "description"?, "parameters"?, "strict"?}};
// `ordered` is its parameters as the client wrote them.
std::optional<ApiError> ParseTool(const Json& item, const std::string& param, const OrderedParameters& ordered,
                                  std::vector<Tool>* out) {
  if (!item.is_object()) return InvalidRequest(absl::StrCat("'", param, "' must be an object"), param);
  if (auto error = CheckFunctionType(item, param)) return error;
  const Json* function = Field(item, "function");
  const std::string function_param = param + ".function";
  if (function == nullptr || !function->is_object()) {
    return InvalidRequest(absl::StrCat("'", function_param, "' must be an object"), function_param);
  }
  Tool tool;
  if (auto error = ParseFunctionName(*function, function_param, &tool.name)) return error;
  if (std::any_of(out->begin(), out->end(), [&](const Tool& other) { return other.name == tool.name; })) {
    return InvalidRequest(absl::StrCat("'", function_param, ".name' repeats '", tool.name,
                                       "': function names must be unique"),
                          function_param + ".name");
  }
  if (const Json* description = Field(*function, "description")) {
    if (!description->is_string()) {
      return InvalidRequest(absl::StrCat("'", function_param, ".description' must be a string"),
                            function_param + ".description");
    }
    tool.description = description->get<std::string>();
  }
  if (const Json* strict = Field(*function, "strict")) {
    if (!strict->is_boolean()) {
      return InvalidRequest(absl::StrCat("'", function_param, ".strict' must be a boolean"), function_param + ".strict");
    }
    tool.strict = strict->get<bool>();
  }
  if (const Json* parameters = Field(*function, "parameters")) {
    const std::string parameters_param = function_param + ".parameters";
    if (!parameters->is_object()) {
      return InvalidRequest(absl::StrCat("'", parameters_param, "' must be a JSON Schema object"), parameters_param);
    }
    // Without a repeated key the ordered text is the sorted one's keys reordered, as long; with one,
    // the sorted parse kept only the last value, and its length is measured.
    const size_t size = ordered.repeats_a_key ? parameters->dump().size() : ordered.text.size();
    if (size > kMaxJsonSchemaBytes) {
      return InvalidRequest(absl::StrCat("'", parameters_param, "' is longer than ", kMaxJsonSchemaBytes,
                                         " bytes as JSON"),
                            parameters_param);
    }
    if (ordered.repeats_a_key) {
      return InvalidRequest(absl::StrCat("'", parameters_param, "' gives some key twice in one object"),
                            parameters_param);
    }
    tool.parameters = ordered.text;
  }
  out->push_back(std::move(tool));
  return std::nullopt;
}

// tools: 1..kMaxTools functions, at most kMaxToolsBytes of JSON in all. `body` is the request's text,
// read again for the parameters' key order.
std::optional<ApiError> ParseTools(const Json& json, std::string_view body, std::vector<Tool>* out) {
  const Json* tools = Field(json, "tools");
  if (tools == nullptr) return std::nullopt;
  if (!tools->is_array() || tools->size() > kMaxTools) {
    return InvalidRequest(absl::StrCat("'tools' must be an array of at most ", kMaxTools, " tools"), "tools");
  }
  if (tools->empty()) {  // as OpenAI, rather than taking [] for "no tools"
    return InvalidRequest("'tools' must not be empty ([] is too short): send at least one tool, or no 'tools'",
                          "tools");
  }
  if (tools->dump().size() > kMaxToolsBytes) {
    return InvalidRequest(absl::StrCat("'tools' is longer than ", kMaxToolsBytes, " bytes as JSON"), "tools");
  }
  const std::vector<OrderedParameters> ordered = OrderedToolParameters(body);
  for (size_t i = 0; i < tools->size(); ++i) {
    static const OrderedParameters kNone;
    const OrderedParameters& parameters = i < ordered.size() ? ordered[i] : kNone;
    if (auto error = ParseTool((*tools)[i], absl::StrCat("tools[", i, "]"), parameters, out)) return error;
  }
  return std::nullopt;
}

// The name in {"type": "function", "function": {"name": ...}}, or nullptr for another shape.
const std::string* NamedFunction(const Json& choice) {
  const Json* type = choice.is_object() ? Field(choice, "type") : nullptr;
  if (type == nullptr || *type != "function") return nullptr;
  const Json* function = Field(choice, "function");
  const Json* name = function != nullptr && function->is_object() ? Field(*function, "name") : nullptr;
  return name != nullptr && name->is_string() ? &name->get_ref<const std::string&>() : nullptr;
}

// tool_choice: 'none', 'auto', 'required', or a named function among the tools. Absent: 'auto' with
// tools, else 'none'; 'auto' and 'none' also pass without tools.
std::optional<ApiError> ParseToolChoice(const Json& json, ChatRequest* out) {
  out->tool_choice = out->tools.empty() ? ToolChoice::kNone : ToolChoice::kAuto;
  const Json* choice = Field(json, "tool_choice");
  if (choice == nullptr) return std::nullopt;
  const std::string mode = choice->is_string() ? choice->get<std::string>() : "";
  const std::string* name = NamedFunction(*choice);
  if (mode == "none") {
    out->tool_choice = ToolChoice::kNone;
    return std::nullopt;
  }
  if (mode == "auto") return std::nullopt;
  if (mode != "required" && name == nullptr) {
    return InvalidRequest("'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", "
                          "\"function\": {\"name\": ...}}",
                          "tool_choice");
  }
  if (out->tools.empty()) {
    return InvalidRequest("'tool_choice' 'required' or a named function needs 'tools'", "tool_choice");
  }
  if (name == nullptr) {
    out->tool_choice = ToolChoice::kRequired;
    return std::nullopt;
  }
  if (std::none_of(out->tools.begin(), out->tools.end(), [&](const Tool& tool) { return tool.name == *name; })) {
    return InvalidRequest(absl::StrCat("'tool_choice.function.name' is '", name->substr(0, kMaxToolNameBytes),
                                       "', which is not a function in 'tools'"),
                          "tool_choice.function.name");
  }
  out->tool_choice = ToolChoice::kNamed;
  out->tool_choice_name = *name;
  return std::nullopt;
}

// The deprecated functions / function_call that tools / tool_choice replaced: only their "off"
// values pass (ignoring them would hand an agent text where it expects a call).
std::optional<ApiError> RefuseDeprecatedFunctions(const Json& json) {
  const Json* functions = Field(json, "functions");
  const Json* call = Field(json, "function_call");
  const std::string call_mode = call != nullptr && call->is_string() ? call->get<std::string>() : "";
  if (functions != nullptr && !(functions->is_array() && functions->empty()) && call_mode != "none") {
    return InvalidRequest("'functions' is deprecated and not supported: use 'tools'", "functions");
  }
  if (call != nullptr && call_mode != "none" && call_mode != "auto") {
    return InvalidRequest("'function_call' is deprecated and not supported: use 'tools' and 'tool_choice'",
                          "function_call");
  }
  return std::nullopt;
}

// tools, tool_choice, parallel_tool_calls, and the deprecated functions.
std::optional<ApiError> ParseToolFields(const Json& json, std::string_view body, ChatRequest* out) {
  if (auto error = ParseTools(json, body, &out->tools)) return error;
  if (auto error = ParseToolChoice(json, out)) return error;
  // Either value is honoured: a choice makes at most one call (Llama 3.1's template writes one).
  if (const Json* parallel = Field(json, "parallel_tool_calls"); parallel != nullptr && !parallel->is_boolean()) {
    return InvalidRequest("'parallel_tool_calls' must be a boolean", "parallel_tool_calls");
  }
  return RefuseDeprecatedFunctions(json);
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
  constexpr size_t kMaxSchemaNameBytes = 64;  // as OpenAI
  const Json* name = Field(*spec, "name");
  if (name == nullptr || !name->is_string() || !IsName(name->get_ref<const std::string&>(), kMaxSchemaNameBytes)) {
    return InvalidRequest(absl::StrCat("'response_format.json_schema.name' must be 1 to ", kMaxSchemaNameBytes,
                                       " letters, digits, '_' or '-'"),
                          "response_format.json_schema.name");
  }
  if (const Json* strict = Field(*spec, "strict"); strict != nullptr && !strict->is_boolean()) {
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
  Json parsed;  // the schema, when given as text
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() > kMaxJsonSchemaBytes || JsonNestingDepth(text) > kMaxJsonDepth) {
      return InvalidRequest(absl::StrCat("'", param, "' is too long or nests too deep"), param);
    }
    parsed = ParseJsonText(text);
  }
  const Json& schema = value.is_string() ? parsed : value;
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
    if (Field(body, name) != nullptr) {
      return InvalidRequest(absl::StrCat("'", name, "' is not supported: use 'structured_outputs.json', ",
                                         "'guided_json', or 'response_format' of type 'json_object' or 'json_schema'"),
                            name);
    }
  }
  const Json* guided = Field(body, "guided_json");
  const Json* structured = Field(body, "structured_outputs");
  const bool has_guided = guided != nullptr;
  const bool has_structured = structured != nullptr;
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
    if (Field(*structured, name) != nullptr) {
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
  const bool wants_json = json != nullptr;
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
    // Built in place: GCC 12 warns, wrongly, that a moved temporary variant may be uninitialized.
    out->emplace_back(std::in_place_type<std::string>, prompt->get<std::string>());
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
      out->emplace_back(std::in_place_type<std::string>, element.get<std::string>());
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
  if (auto error = ParseToolFields(json, body, out)) return error;
  if (auto error = ParseChatLogprobs(json, &out->sampling)) return error;
  if (open) {
    if (auto error = open(out)) return error;
  }
  // With tools too, a reply is a call or the answer the format asks for (inference follows both).
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
  if (const Json* echo = Field(json, "echo")) {
    if (!echo->is_boolean()) return InvalidRequest("'echo' must be a boolean", "echo");
    out->echo = echo->get<bool>();
  }
  if (auto error = ParseResponseFormat(json, nullptr, &out->format)) return error;
  return ParseCompletionLogprobs(json, &out->sampling);
}

}  // namespace cai::openai
