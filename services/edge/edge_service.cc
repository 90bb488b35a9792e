#include "services/edge/edge_service.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <ctime>
#include <optional>
#include <variant>

#include <grpcpp/client_context.h>
#include <nlohmann/json.hpp>

#include "services/edge/openai/json_text.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "lib/common/ascii.h"
#include "lib/common/hex.h"
#include "lib/common/log.h"
#include "lib/common/random.h"
#include "lib/crypto/sha256.h"
#include "services/edge/attestation_report.h"
#include "services/edge/generation_streams.h"
#include "services/edge/openai/chat_request.h"
#include "services/edge/openai/query.h"

namespace cai::edge {
namespace {

using Json = nlohmann::ordered_json;
using openai::ApiError;

constexpr auto kGenerateTimeout = std::chrono::minutes(30);
constexpr auto kEvidenceTimeout = std::chrono::seconds(60);
constexpr auto kHealthTimeout = std::chrono::seconds(2);
constexpr size_t kMaxIdBytes = 128;

void SendJson(ResponseWriter& writer, int status, const Json& json) {
  writer.Send(status, "application/json", openai::JsonText(json));
}

ApiError NotFoundModel(const std::string& model) {
  return ApiError{.status = 404, .type = "invalid_request_error",
                  .message = absl::StrCat("The model `", model, "` does not exist."),
                  .param = "model", .code = "model_not_found"};
}

// A failed generation; a prompt too long for the context names the field that holds it, as OpenAI does.
ApiError InferenceError(const grpc::Status& status, openai::Api api) {
  if (status.error_code() != grpc::StatusCode::OUT_OF_RANGE) return BackendError(status, "inference");
  return ApiError{.status = 400, .type = "invalid_request_error", .message = status.error_message(),
                  .param = api == openai::Api::kChat ? "messages" : "prompt", .code = "context_length_exceeded"};
}

// Every response is signed before its last byte leaves, or it is not delivered as a whole one.
ApiError NotSigned() {
  return ApiError{.status = 503, .type = "service_unavailable",
                  .message = "The response could not be signed (the signer is unavailable), so it is withheld; "
                             "retry later.",
                  .param = "", .code = "signing_unavailable"};
}

ApiError NotSealed(const absl::Status& why) {
  LogError("E2EE: sealing a response failed: ", why.ToString());
  return ApiError{.status = 500, .type = "server_error",
                  .message = "The response could not be encrypted to X-Client-Pub-Key, so it is withheld.",
                  .param = "", .code = ""};
}

ApiError ChatIdNotFound() {
  return ApiError{.status = 404, .type = "not_found", .message = "Chat id not found or expired",
                  .param = "", .code = ""};
}

ApiError BadSigningAlgo() {
  return ApiError{.status = 400, .type = "invalid_request_error",
                  .message = "Invalid signing algorithm. Must be 'ecdsa' or 'ed25519'",
                  .param = "signing_algo", .code = "invalid_signing_algo"};
}

// As OpenAI: a call to the function tool_choice named ends in "stop", any other in "tool_calls".
openai::FinishReason ToFinish(v1::FinishReason reason, const v1::GenerateRequest& request) {
  switch (reason) {
    case v1::FINISH_REASON_STOP: return openai::FinishReason::kStop;
    case v1::FINISH_REASON_LENGTH: return openai::FinishReason::kLength;
    case v1::FINISH_REASON_TOOL_CALLS:
      return request.tool_choice() == v1::TOOL_CHOICE_NAMED ? openai::FinishReason::kStop
                                                            : openai::FinishReason::kToolCalls;
    default: return openai::FinishReason::kNone;
  }
}

// A tool call's id, as OpenAI's: "call_" and 24 letters and digits from the CSPRNG.
std::string NewToolCallId() { return "call_" + RandomAlnum(24); }

void FillSampling(const openai::Sampling& in, v1::SamplingParams* out) {
  if (in.temperature) out->set_temperature(static_cast<float>(*in.temperature));
  if (in.top_p) out->set_top_p(static_cast<float>(*in.top_p));
  if (in.seed) out->set_seed(*in.seed);
  out->set_max_tokens(in.max_tokens);
  for (const std::string& stop : in.stop) out->add_stop(stop);
  if (in.top_k) out->set_top_k(*in.top_k);
  if (in.min_p) out->set_min_p(static_cast<float>(*in.min_p));
  out->set_presence_penalty(static_cast<float>(in.presence_penalty));
  out->set_frequency_penalty(static_cast<float>(in.frequency_penalty));
  for (const auto& [id, bias] : in.logit_bias) (*out->mutable_logit_bias())[id] = static_cast<float>(bias);
  out->set_n(static_cast<uint32_t>(in.n));
  out->set_logprobs(in.logprobs);
  out->set_top_logprobs(static_cast<uint32_t>(in.top_logprobs));
}

void FillResponseFormat(const openai::ResponseFormat& format, v1::GenerateRequest& out) {
  switch (format.kind) {
    case openai::ResponseFormat::Kind::kText:
      break;
    case openai::ResponseFormat::Kind::kJsonObject:
      out.set_response_format(v1::RESPONSE_FORMAT_JSON_OBJECT);
      break;
    case openai::ResponseFormat::Kind::kJsonSchema:
      out.set_response_format(v1::RESPONSE_FORMAT_JSON_SCHEMA);
      out.set_json_schema(format.schema);
      break;
  }
}

void FillMessages(const std::vector<openai::Message>& messages, v1::ChatMessages* out) {
  for (const openai::Message& message : messages) {
    v1::ChatMessage* chat_message = out->add_messages();
    chat_message->set_role(message.role);
    chat_message->set_content(message.Content());
    for (const openai::ToolCall& call : message.tool_calls) {
      v1::ToolCall* tool_call = chat_message->add_tool_calls();
      tool_call->set_id(call.id);
      tool_call->set_name(call.name);
      tool_call->set_arguments(call.arguments);
    }
    chat_message->set_tool_call_id(message.tool_call_id);
  }
}

// The tools and tool_choice; a request without tools leaves both unset.
void FillTools(const openai::ChatRequest& chat, v1::GenerateRequest& out) {
  if (chat.tools.empty()) return;
  for (const openai::Tool& tool : chat.tools) {
    v1::Tool* out_tool = out.add_tools();
    out_tool->set_name(tool.name);
    if (tool.description) out_tool->set_description(*tool.description);
    out_tool->set_parameters(tool.parameters);
    out_tool->set_strict(tool.strict);
  }
  switch (chat.tool_choice) {
    case openai::ToolChoice::kNone: out.set_tool_choice(v1::TOOL_CHOICE_NONE); break;
    case openai::ToolChoice::kAuto: out.set_tool_choice(v1::TOOL_CHOICE_AUTO); break;
    case openai::ToolChoice::kRequired: out.set_tool_choice(v1::TOOL_CHOICE_REQUIRED); break;
    case openai::ToolChoice::kNamed:
      out.set_tool_choice(v1::TOOL_CHOICE_NAMED);
      out.set_tool_choice_name(chat.tool_choice_name);
      break;
  }
}

template <typename T>
void CopyToken(const T& in, openai::TopLogprob* out) {
  out->token = in.token();
  out->logprob = in.logprob();
  out->bytes = in.bytes();
}

// The logprobs a piece carries, appended to `out`.
void AppendLogprobs(const v1::GenerateResponse& piece, std::vector<openai::TokenLogprob>* out) {
  for (const v1::TokenLogprob& in : piece.logprobs()) {
    openai::TokenLogprob token;
    token.token = in.token();
    if (in.has_logprob()) token.logprob = in.logprob();
    token.bytes = in.bytes();
    for (const v1::TopLogprob& top : in.top_logprobs()) CopyToken(top, &token.top_logprobs.emplace_back());
    out->push_back(std::move(token));
  }
}

// A piece of a choice's tool call: the first makes the call (a fresh id, the name), and each adds
// the next piece of its arguments.
void AddToolCallPiece(const v1::ToolCallDelta& piece, std::optional<openai::ToolCall>* call) {
  if (!*call) *call = openai::ToolCall{.id = NewToolCallId(), .name = piece.name(), .arguments = ""};
  (*call)->arguments += piece.arguments();
}

// Each prompt's call carries its usage on its last piece; a batch's usage is their sum.
void AddUsage(const v1::GenerateResponse& piece, openai::Usage* usage) {
  if (!piece.has_usage()) return;
  usage->prompt_tokens += piece.usage().prompt_tokens();
  usage->completion_tokens += piece.usage().completion_tokens();
}

// Records the status a handler answered with, for the metrics.
class StatusRecorder : public ResponseWriter {
 public:
  explicit StatusRecorder(ResponseWriter& inner) : inner_(inner) {}
  bool Send(int status, std::string_view content_type, std::string_view body, const Headers& headers) override {
    status_ = status;
    return inner_.Send(status, content_type, body, headers);
  }
  bool BeginEventStream(const Headers& headers) override {
    status_ = 200;
    return inner_.BeginEventStream(headers);
  }
  bool WriteChunk(std::string_view data) override { return inner_.WriteChunk(data); }
  bool EndStream() override { return inner_.EndStream(); }
  std::unique_ptr<PeerWatch> WatchPeer(std::function<void()> on_close) override {
    return inner_.WatchPeer(std::move(on_close));
  }
  int status() const { return status_; }

 private:
  ResponseWriter& inner_;
  int status_ = 0;
};

enum class Route { kChat, kCompletions, kModels, kModel, kSignature, kAttestation, kHealth, kMetrics, kUnknown };

struct Match {
  Route route = Route::kUnknown;
  const char* name = "unknown";  // metrics label
  const char* method = "";
  std::string_view id;           // for signatures and models
};

Match MatchRoute(std::string_view path) {
  if (path == "/v1/chat/completions") return {Route::kChat, "/v1/chat/completions", "POST", {}};
  if (path == "/v1/completions") return {Route::kCompletions, "/v1/completions", "POST", {}};
  if (path == "/v1/models") return {Route::kModels, "/v1/models", "GET", {}};
  if (constexpr std::string_view kModel = "/v1/models/"; path.starts_with(kModel) && path.size() > kModel.size()) {
    return {Route::kModel, "/v1/models/{id}", "GET", path.substr(kModel.size())};
  }
  if (path == "/v1/attestation/report" || path == "/attestation/report") {
    return {Route::kAttestation, "/v1/attestation/report", "GET", {}};
  }
  for (std::string_view prefix : {"/v1/signature/", "/signature/"}) {
    if (path.starts_with(prefix) && path.size() > prefix.size()) {
      return {Route::kSignature, "/v1/signature/{id}", "GET", path.substr(prefix.size())};
    }
  }
  if (path == "/health") return {Route::kHealth, "/health", "GET", {}};
  if (path == "/metrics") return {Route::kMetrics, "/metrics", "GET", {}};
  return {};
}

// Load balancers and Prometheus probe without keys; everything else is the API.
bool NeedsAuth(Route route) { return route != Route::kHealth && route != Route::kMetrics; }

// Response ids are ours ("chatcmpl-" + hex); anything else cannot be one.
bool PlausibleId(std::string_view id) { return IsName(id, kMaxIdBytes); }

}  // namespace

void SendError(ResponseWriter& writer, const ApiError& error, const Headers& headers) {
  writer.Send(error.status, "application/json", openai::RenderError(error), headers);
}


EdgeService::EdgeService(Backends backends, ApiKeys api_keys, std::string version)
    : backends_(std::move(backends)),
      signer_(v1::Signer::NewStub(backends_.signer)),
      attestor_(v1::Attestor::NewStub(backends_.attestor)),
      inference_(v1::Inference::NewStub(backends_.inference)),
      api_keys_(std::move(api_keys)),
      version_(std::move(version)) {}

bool EdgeService::Authorized(const HttpRequest& request) const {
  const std::optional<std::string_view> key = ParseBearer(request.Header("Authorization"));
  return key && api_keys_.Accepts(*key);
}

void EdgeService::Handle(const HttpRequest& request, ResponseWriter& raw_writer) {
  const auto start = std::chrono::steady_clock::now();
  StatusRecorder writer(raw_writer);
  const Match match = MatchRoute(request.path);
  if (match.route == Route::kUnknown) {
    SendError(writer, ApiError{.status = 404, .type = "invalid_request_error",
                               .message = absl::StrCat("Invalid URL (", request.method, " ", request.path, ")"),
                               .param = "", .code = "unknown_url"});
  } else if (request.method != match.method) {
    SendError(writer,
              ApiError{.status = 405, .type = "invalid_request_error",
                       .message = absl::StrCat("Method ", request.method, " not allowed; use ", match.method),
                       .param = "", .code = "method_not_allowed"},
              {{"Allow", match.method}});
  } else if (NeedsAuth(match.route) && !api_keys_.empty() && !Authorized(request)) {
    SendError(writer, ApiError{.status = 401, .type = "authentication_error",
                               .message = "Invalid or missing API key (Authorization: Bearer <key>).",
                               .param = "", .code = "invalid_api_key"},
              {{"WWW-Authenticate", "Bearer"}});
  } else {
    switch (match.route) {
      case Route::kChat: Completion(openai::Api::kChat, request, writer); break;
      case Route::kCompletions: Completion(openai::Api::kText, request, writer); break;
      case Route::kModels: Models(std::nullopt, writer); break;
      case Route::kModel: Models(openai::PercentDecode(match.id, openai::PlusSign::kLiteral), writer); break;
      case Route::kSignature: Signature(match.id, request, writer); break;
      case Route::kAttestation: Attestation(request, writer); break;
      case Route::kHealth: Health(writer); break;
      case Route::kMetrics: writer.Send(200, "text/plain; version=0.0.4", metrics_.Render(), {}); break;
      case Route::kUnknown: break;
    }
  }
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  metrics_.RecordRequest(match.name, writer.status(), elapsed.count());
}

void EdgeService::Completion(openai::Api api, const HttpRequest& request, ResponseWriter& writer) {
  std::optional<E2eeHeaders> e2ee_headers;
  if (auto error = ParseE2eeHeaders(request, insecure_e2ee_v1_, &e2ee_headers)) return SendError(writer, *error);
  if (e2ee_headers && api != openai::Api::kChat) {
    // Answering in plaintext what the client meant to encrypt would be worse than refusing.
    return SendError(writer, E2eeError("e2ee_unsupported_endpoint",
                                       "End-to-end encryption is only supported on /v1/chat/completions"));
  }
  std::optional<E2eeSession> e2ee;
  if (e2ee_headers) {
    auto admitted = E2eeSession::Admit(*e2ee_headers, *signer_);
    if (auto* error = std::get_if<ApiError>(&admitted)) return SendError(writer, *error);
    e2ee.emplace(std::get<E2eeSession>(std::move(admitted)));
  }

  std::vector<v1::GenerateRequest> generates;  // one per prompt: a completions batch has several
  bool stream = false, include_usage = false;
  if (api == openai::Api::kChat) {
    openai::ChatRequest chat;
    openai::OpenContent open;
    if (e2ee) {
      open = [&e2ee](openai::ChatRequest* chat) { return e2ee->Open(chat); };
    }
    if (auto error = openai::ParseChatRequest(request.body, &chat, open)) return SendError(writer, *error);
    v1::GenerateRequest& generate = generates.emplace_back();
    generate.set_model(chat.model);
    FillMessages(chat.messages, generate.mutable_chat());
    FillSampling(chat.sampling, generate.mutable_sampling());
    FillResponseFormat(chat.format, generate);
    FillTools(chat, generate);
    stream = chat.stream;
    include_usage = chat.include_usage;
  } else {
    openai::CompletionRequest completion;
    if (auto error = openai::ParseCompletionRequest(request.body, &completion)) return SendError(writer, *error);
    for (const openai::Prompt& prompt : completion.prompts) {
      v1::GenerateRequest& generate = generates.emplace_back();
      generate.set_model(completion.model);
      if (const std::string* text = std::get_if<std::string>(&prompt)) {
        generate.set_prompt(*text);
      } else {
        const auto& ids = std::get<std::vector<int32_t>>(prompt);
        generate.mutable_prompt_tokens()->mutable_ids()->Assign(ids.begin(), ids.end());
      }
      FillSampling(completion.sampling, generate.mutable_sampling());
      FillResponseFormat(completion.format, generate);
      generate.set_echo(completion.echo);
    }
    stream = completion.stream;
    include_usage = completion.include_usage;
  }
  const openai::ResponseHeader header{
      .id = absl::StrCat(api == openai::Api::kChat ? "chatcmpl-" : "cmpl-", RandomHex(16)),
      .created = static_cast<int64_t>(std::time(nullptr)),
      .model = generates.front().model()};
  if (stream) {
    return Stream(api, header, include_usage, request.body, generates, e2ee ? &*e2ee : nullptr, writer);
  }

  GenerationStreams streams(*inference_, generates, std::chrono::system_clock::now() + kGenerateTimeout);
  auto watch = writer.WatchPeer([&streams] { streams.TryCancel(); });
  const bool logprobs = generates.front().sampling().logprobs();
  std::vector<openai::Choice> choices(streams.choice_count());
  for (size_t i = 0; i < choices.size(); ++i) {
    choices[i].index = static_cast<int>(i);
    if (logprobs) choices[i].logprobs.emplace();
  }
  openai::Usage usage;
  v1::GenerateResponse piece;
  const bool tool_calls = generates.front().tools_size() > 0;  // without tools no call can be made
  while (streams.Read(&piece)) {
    openai::Choice& choice = choices[piece.index()];  // GenerationStreams checked the index
    choice.text += piece.text();
    if (tool_calls && piece.has_tool_call()) AddToolCallPiece(piece.tool_call(), &choice.tool_call);
    if (logprobs) AppendLogprobs(piece, &choice.logprobs->tokens);
    if (piece.finish_reason() != v1::FINISH_REASON_UNSPECIFIED) {
      choice.finish = ToFinish(piece.finish_reason(), generates.front());
    }
    AddUsage(piece, &usage);
  }
  grpc::Status status = streams.Finish();
  watch.reset();
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return SendError(writer, NotFoundModel(header.model));
  if (!status.ok()) return SendError(writer, InferenceError(status, api));
  metrics_.AddCompletionTokens(usage.completion_tokens);

  if (e2ee) {
    for (size_t i = 0; i < choices.size(); ++i) {
      absl::StatusOr<std::string> sealed = e2ee->SealContent(choices[i].text, header.model, header.id, i);
      if (!sealed.ok()) return SendError(writer, NotSealed(sealed.status()));
      choices[i].text = *std::move(sealed);
    }
  }
  const std::string body = openai::RenderCompletion(api, header, choices, usage);
  if (!Sign(header.id, header.model, Sha256(request.body), Sha256(body))) return SendError(writer, NotSigned());
  writer.Send(200, "application/json", body, e2ee ? e2ee->response_headers() : Headers{});
}

void EdgeService::Stream(openai::Api api, const openai::ResponseHeader& header, bool include_usage,
                         const std::string& request_body, const std::vector<v1::GenerateRequest>& generates,
                         const E2eeSession* e2ee, ResponseWriter& writer) {
  GenerationStreams streams(*inference_, generates, std::chrono::system_clock::now() + kGenerateTimeout);
  std::atomic<bool> client_gone{false};
  auto watch = writer.WatchPeer([&] {
    client_gone = true;
    streams.TryCancel();
  });

  // Errors before the first piece (unknown model, bad sampling) still get a proper status code,
  // and a batch is answered 200 only once inference has accepted each of its prompts.
  grpc::Status accepted = streams.WaitUntilAccepted();
  v1::GenerateResponse piece;
  bool have_piece = accepted.ok() && streams.Read(&piece);
  if (!have_piece) {
    grpc::Status status = streams.Finish();
    if (client_gone) return;
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) return SendError(writer, NotFoundModel(header.model));
    if (!status.ok()) return SendError(writer, InferenceError(status, api));
  }
  if (!writer.BeginEventStream(e2ee ? e2ee->response_headers() : Headers{})) {
    streams.Finish();  // gives up the generation
    return;
  }
  metrics_.StreamStarted();
  Sha256Hasher hasher;  // covers exactly the bytes written, in order
  bool alive = true;
  auto emit = [&](const std::string& event) {
    hasher.Update(event);
    alive = alive && writer.WriteChunk(event);
  };
  // A content as the client reads it: with E2EE sealed, every chunk under the same associated data
  // (each holds one choice, at position 0). Nothing unsealed goes out: on failure the stream ends
  // in an error event, unsigned.
  const std::string chunk_aad = e2ee ? e2ee->ContentAad(header.model, header.id, 0) : "";
  std::optional<absl::Status> seal_failure;
  std::string sealed;
  auto content = [&](std::string_view text) -> std::string_view {
    if (e2ee == nullptr) return text;
    absl::StatusOr<std::string> sealing = e2ee->Seal(text, chunk_aad);
    if (!sealing.ok()) {
      seal_failure = sealing.status();
      return {};
    }
    sealed = *std::move(sealing);
    return sealed;
  };

  const size_t n = streams.choice_count();
  const bool logprobs = generates.front().sampling().logprobs();
  if (api == openai::Api::kChat) {
    for (size_t i = 0; i < n && !seal_failure; ++i) {
      const std::string_view empty = content("");
      if (!seal_failure) emit(openai::RoleEvent(header, include_usage, static_cast<int>(i), empty));
    }
  }
  std::vector<int64_t> text_offsets(n, 0);  // legacy completions logprobs count characters per choice
  openai::Usage usage;
  // The logprobs of `piece` when asked for; legacy completions count text offsets per choice.
  auto piece_logprobs = [&](size_t index) {
    std::optional<openai::Logprobs> out;
    if (!logprobs) return out;
    out.emplace();
    out->text_offset = text_offsets[index];
    AppendLogprobs(piece, &out->tokens);
    for (const openai::TokenLogprob& token : out->tokens) text_offsets[index] += openai::CountChars(token.token);
    return out;
  };
  const bool tool_calls = generates.front().tools_size() > 0;  // without tools no call can be made
  std::vector<bool> calling(n, false);  // each choice's tool call, once its first chunk went out
  while (alive && have_piece && !seal_failure) {
    const size_t index = piece.index();  // GenerationStreams checked it
    const int choice = static_cast<int>(index);
    // A piece of a call: its name, arguments, or the logprobs of a token that was only the call's syntax.
    const bool call = tool_calls && (piece.has_tool_call() || calling[index]);
    const bool starts_call = call && !calling[index];
    const bool has_delta = call ? starts_call || !piece.tool_call().arguments().empty() : !piece.text().empty();
    if (has_delta || piece.logprobs_size() > 0) {
      const std::optional<openai::Logprobs> tokens = piece_logprobs(index);
      const openai::Logprobs* tokens_or_null = tokens ? &*tokens : nullptr;
      if (starts_call) {
        calling[index] = true;
        const openai::ToolCall first{.id = NewToolCallId(), .name = piece.tool_call().name(),
                                     .arguments = piece.tool_call().arguments()};
        emit(openai::ToolCallStartEvent(header, first, include_usage, choice, tokens_or_null));
      } else if (call) {
        emit(openai::ToolCallArgumentsEvent(header, piece.tool_call().arguments(), include_usage, choice,
                                            tokens_or_null));
      } else {
        const std::string_view text = content(piece.text());
        if (seal_failure) break;
        emit(openai::ContentEvent(api, header, text, include_usage, choice, tokens_or_null));
      }
    }
    if (piece.finish_reason() != v1::FINISH_REASON_UNSPECIFIED) {
      emit(openai::FinishEvent(api, header, ToFinish(piece.finish_reason(), generates.front()), include_usage, choice));
    }
    AddUsage(piece, &usage);
    have_piece = alive && streams.Read(&piece);
  }
  // A failed write gives up the generation (Finish cancels what still runs).
  if (!alive || client_gone) metrics_.RecordClientDisconnect();
  grpc::Status status = streams.Finish();
  watch.reset();
  metrics_.AddCompletionTokens(usage.completion_tokens);
  if (seal_failure) {
    if (alive && !client_gone && writer.WriteChunk(openai::ErrorEvent(NotSealed(*seal_failure)))) writer.EndStream();
    metrics_.StreamEnded();
    return;
  }
  if (alive && !client_gone) {
    if (status.ok()) {
      if (include_usage) emit(openai::UsageEvent(api, header, usage));
    } else {
      emit(openai::ErrorEvent(InferenceError(status, api)));
    }
  }
  if (alive && !client_gone) {
    // [DONE] is known in advance: hash it, sign, and only then let the last bytes go. Unsigned,
    // the stream ends in an error event instead, so no client takes it for a whole response.
    hasher.Update(openai::kDoneEvent);
    const bool was_signed = Sign(header.id, header.model, Sha256(request_body), hasher.Finish());
    const std::string last = was_signed ? std::string(openai::kDoneEvent) : openai::ErrorEvent(NotSigned());
    if (writer.WriteChunk(last)) writer.EndStream();
  } else {
    LogInfo("client left stream ", header.id, " early; generation cancelled");
  }
  metrics_.StreamEnded();
}

bool EdgeService::Sign(const std::string& id, const std::string& model, const Sha256Digest& request_sha256,
                       const Sha256Digest& response_sha256) {
  v1::SignChatRequest request;
  request.set_id(id);
  request.set_model(model);
  request.set_request_sha256(request_sha256.data(), request_sha256.size());
  request.set_response_sha256(response_sha256.data(), response_sha256.size());
  v1::SignChatResponse response;
  grpc::ClientContext context;
  SetDeadline(context, kRpcTimeout);
  grpc::Status status = signer_->SignChat(&context, request, &response);
  metrics_.RecordSignature(status.ok());
  if (!status.ok()) {
    LogError("signing ", id, " failed: code ", static_cast<int>(status.error_code()), " ", status.error_message());
  }
  return status.ok();
}

std::optional<ApiError> EdgeService::ListServedModels(v1::ListModelsResponse* models) {
  grpc::ClientContext context;
  SetDeadline(context, kRpcTimeout);
  grpc::Status status = inference_->ListModels(&context, v1::ListModelsRequest(), models);
  if (!status.ok()) return BackendError(status, "inference");
  return std::nullopt;
}

std::optional<ApiError> EdgeService::CheckModelServed(std::string_view model, v1::ModelInfo* info) {
  v1::ListModelsResponse models;
  if (auto error = ListServedModels(&models)) return error;
  for (const v1::ModelInfo& served : models.models()) {
    if (served.id() != model) continue;
    if (info != nullptr) *info = served;
    return std::nullopt;
  }
  return NotFoundModel(std::string(model));
}

void EdgeService::Models(std::optional<std::string_view> id, ResponseWriter& writer) {
  auto model_object = [](const v1::ModelInfo& info) {
    return Json{{"id", info.id()},
                {"object", "model"},
                {"created", info.created()},
                {"owned_by", "cai"},
                {"max_model_len", info.context_length()}};
  };
  if (id) {
    v1::ModelInfo info;
    if (auto error = CheckModelServed(*id, &info)) return SendError(writer, *error);
    return SendJson(writer, 200, model_object(info));
  }
  v1::ListModelsResponse models;
  if (auto error = ListServedModels(&models)) return SendError(writer, *error);
  Json list;
  list["object"] = "list";
  list["data"] = Json::array();
  for (const v1::ModelInfo& info : models.models()) list["data"].push_back(model_object(info));
  SendJson(writer, 200, list);
}

void EdgeService::Signature(std::string_view id, const HttpRequest& request, ResponseWriter& writer) {
  const auto query = openai::ParseQuery(request.query);
  auto param = [&query](std::string_view name) { return openai::QueryValue(query, name); };
  absl::StatusOr<SigningAlgo> algo = ParseSigningAlgo(param("signing_algo"));
  if (!algo.ok()) return SendError(writer, BadSigningAlgo());
  if (!PlausibleId(id)) return SendError(writer, ChatIdNotFound());
  const std::string model = param("model");
  if (!model.empty()) {
    if (auto error = CheckModelServed(model)) return SendError(writer, *error);
  }

  v1::GetSignatureRequest get;
  get.set_id(std::string(id));
  get.set_algo(*algo == SigningAlgo::kEcdsa ? v1::SIGNING_ALGO_ECDSA : v1::SIGNING_ALGO_ED25519);
  v1::ChatSignature signature;
  grpc::ClientContext context;
  SetDeadline(context, kRpcTimeout);
  grpc::Status status = signer_->GetSignature(&context, get, &signature);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return SendError(writer, ChatIdNotFound());
  if (!status.ok()) return SendError(writer, BackendError(status, "signer"));
  if (!model.empty() && signature.model() != model) return SendError(writer, ChatIdNotFound());

  Json body;
  body["text"] = signature.text();
  body["signature"] = (*algo == SigningAlgo::kEcdsa ? "0x" : "") + HexEncode(signature.signature());
  body["signing_address"] = signature.signing_address();
  body["signing_algo"] = SigningAlgoName(*algo);
  SendJson(writer, 200, body);
}

void EdgeService::Attestation(const HttpRequest& request, ResponseWriter& writer) {
  const auto query = openai::ParseQuery(request.query);
  auto param = [&query](std::string_view name) { return openai::QueryValue(query, name); };
  absl::StatusOr<SigningAlgo> algo = ParseSigningAlgo(param("signing_algo"));
  if (!algo.ok()) return SendError(writer, BadSigningAlgo());

  std::vector<uint8_t> nonce(32);
  if (query.contains("nonce")) {
    const std::string hex = param("nonce");
    absl::StatusOr<std::vector<uint8_t>> decoded = HexDecodeExact(hex, 32);
    if (hex.size() != 64 || !decoded.ok()) {
      return SendError(writer, openai::InvalidRequest("'nonce' must be exactly 64 hex digits (32 bytes)", "nonce"));
    }
    nonce = *decoded;
  } else {
    nonce = *HexDecodeExact(RandomHex(32), 32);
  }
  const std::string model = param("model");
  if (!model.empty()) {
    if (auto error = CheckModelServed(model)) return SendError(writer, *error);
  }

  v1::PublicKeys keys;
  {
    grpc::ClientContext context;
    SetDeadline(context, kRpcTimeout);
    grpc::Status status = signer_->GetPublicKeys(&context, v1::GetPublicKeysRequest(), &keys);
    if (!status.ok()) return SendError(writer, BackendError(status, "signer"));
  }
  absl::StatusOr<std::vector<uint8_t>> key_id = KeyId(keys, *algo);
  absl::StatusOr<std::array<uint8_t, 64>> report_data =
      key_id.ok() ? BuildReportData(*key_id, nonce) : absl::StatusOr<std::array<uint8_t, 64>>(key_id.status());
  if (!report_data.ok()) {
    LogError("bad public keys from the signer: ", report_data.status().ToString());
    return SendError(writer, BackendError(grpc::Status(grpc::StatusCode::INTERNAL, ""), "signer"));
  }

  v1::GetEvidenceRequest get;
  get.set_report_data(report_data->data(), report_data->size());
  get.set_gpu_nonce(nonce.data(), nonce.size());
  v1::Evidence evidence;
  grpc::ClientContext context;
  SetDeadline(context, kEvidenceTimeout);
  grpc::Status status = attestor_->GetEvidence(&context, get, &evidence);
  if (!status.ok()) return SendError(writer, BackendError(status, "attestor"));

  writer.Send(200, "application/json",
              RenderAttestationReport(ReportInputs{.algo = *algo, .keys = &keys, .nonce = nonce,
                                                   .evidence = &evidence, .model = model,
                                                   .edge_version = version_}));
}

void EdgeService::Health(ResponseWriter& writer) {
  Json backends;
  bool healthy = true;
  for (const auto& [name, channel] : {std::pair{"signer", backends_.signer},
                                      std::pair{"attestor", backends_.attestor},
                                      std::pair{"inference", backends_.inference}}) {
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    SetDeadline(context, kHealthTimeout);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
    bool ok = status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    backends[name] = ok ? "ok" : "unavailable";
    healthy = healthy && ok;
  }
  Json body;
  body["status"] = healthy ? "ok" : "unavailable";
  body["backends"] = backends;
  SendJson(writer, healthy ? 200 : 503, body);
}

}  // namespace cai::edge
