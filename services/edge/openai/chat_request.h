#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "lib/common/inference_protocol.h"
#include "services/edge/openai/api_error.h"

namespace cai::openai {

inline constexpr size_t kMaxMessages = 1024;
inline constexpr size_t kMaxStopSequences = 4;
inline constexpr size_t kMaxStopBytes = 256;
inline constexpr int64_t kMaxCompletionTokens = 131072;
inline constexpr int kMaxJsonDepth = 64;
inline constexpr int kMaxChoices = 8;
inline constexpr int kMaxTopLogprobs = 20;
inline constexpr size_t kMaxLogitBias = 300;
inline constexpr int64_t kMaxTopK = 1 << 20;
// Above any context we serve (Llama 3.1: 131072); the inference service checks the real one.
inline constexpr size_t kMaxPromptTokenIds = 1 << 18;
inline constexpr size_t kMaxPrompts = 16;  // in one completions batch
inline constexpr size_t kMaxJsonSchemaBytes = 65536;  // response_format.json_schema.schema, as compact JSON
// kMaxTools and kMaxToolNameBytes: lib/common/inference_protocol.h (inference checks them too).
inline constexpr size_t kMaxToolsBytes = 256 * 1024;   // all of 'tools', as compact JSON
inline constexpr size_t kMaxToolCalls = 128;           // in one assistant message
inline constexpr size_t kMaxToolCallIdBytes = 256;

// A call an assistant message made (the client sends it back in later turns), or one a choice makes.
struct ToolCall {
  std::string id;         // "call_..."
  std::string name;
  std::string arguments;  // JSON text of an object
};

struct Message {
  std::string role;  // system | user | assistant | tool
  // The content as sent: one string (parts has one element), an array of text parts (one element
  // each, kept apart because end-to-end encryption seals each part on its own), or null (none).
  std::vector<std::string> parts;
  bool content_is_array = false;
  std::vector<ToolCall> tool_calls;  // assistant
  std::string tool_call_id;          // tool: the call whose result the content is

  std::string Content() const;  // the parts concatenated: what the model reads
};

// A function the model may call (tools[i].function).
struct Tool {
  std::string name;  // 1..kMaxToolNameBytes of [A-Za-z0-9_-], unique in the request
  std::optional<std::string> description;
  std::string parameters;  // JSON Schema as compact JSON text in the client's key order; "": none
  bool strict = false;     // calls keep every keyword of parameters, not only its shape
};

// tool_choice. Without tools it is kNone.
enum class ToolChoice { kNone, kAuto, kRequired, kNamed };

// The sampling fields shared by chat and text completions. Unset optionals mean "model default".
struct Sampling {
  std::optional<double> temperature;  // [0, 2]
  std::optional<double> top_p;        // (0, 1]
  std::optional<uint64_t> seed;       // negative seeds wrap, as a bit pattern
  uint32_t max_tokens = 0;            // 0: up to the context length
  std::vector<std::string> stop;
  std::optional<int32_t> top_k;       // vLLM extra (extra_body); 0 (or -1 on the wire): off
  std::optional<double> min_p;        // vLLM extra (extra_body), [0, 1]
  double presence_penalty = 0;        // [-2, 2]
  double frequency_penalty = 0;       // [-2, 2]
  std::vector<std::pair<int32_t, double>> logit_bias;  // token id -> [-100, 100]; ids checked by inference
  int n = 1;                          // choices, 1..kMaxChoices
  bool logprobs = false;              // chat: "logprobs": true; completions: "logprobs": <int>
  int top_logprobs = 0;               // 0..kMaxTopLogprobs
};

// response_format: what the generated text must be.
struct ResponseFormat {
  enum class Kind { kText, kJsonObject, kJsonSchema };
  Kind kind = Kind::kText;
  std::string schema;  // kJsonSchema: json_schema.schema as compact JSON text (inference compiles it)
};

struct ChatRequest {
  std::string model;
  std::vector<Message> messages;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  Sampling sampling;
  ResponseFormat format;
  std::vector<Tool> tools;
  ToolChoice tool_choice = ToolChoice::kNone;  // "auto" when tools are given and it is not
  std::string tool_choice_name;                // kNamed: one of tools[].name
};

// A completion prompt: text (tokenized by the model, after its BOS) or token ids, used as they are.
using Prompt = std::variant<std::string, std::vector<int32_t>>;

struct CompletionRequest {
  std::string model;
  std::vector<Prompt> prompts;  // 1..kMaxPrompts: a batch has several
  bool stream = false;
  bool include_usage = false;
  Sampling sampling;
  ResponseFormat format;  // vLLM's extension
  // Each choice's text begins with its prompt; with logprobs, so do its tokens, the first with a
  // null logprob (inference's GenerateRequest.echo).
  bool echo = false;
};

struct ChatRequest;
// Runs once every field but response_format has been parsed and checked, and before the checks
// that read the messages' text (JSON mode's "json"): end-to-end encryption replaces each part
// with its plaintext here. Returns the error to send.
using OpenContent = std::function<std::optional<ApiError>(ChatRequest* request)>;

// Parse and validate a /v1/chat/completions (or /v1/completions) body. On success fill `out` and
// return nullopt; otherwise return the 400 error to send, naming the offending parameter.
// Unknown fields are ignored, and null counts as absent for optional fields.
std::optional<ApiError> ParseChatRequest(std::string_view body, ChatRequest* out, const OpenContent& open = nullptr);
std::optional<ApiError> ParseCompletionRequest(std::string_view body, CompletionRequest* out);

// Deepest nesting of arrays/objects in `json` (strings skipped); bounds the parser's work.
int JsonNestingDepth(std::string_view json);

}  // namespace cai::openai
