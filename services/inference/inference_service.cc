#include "services/inference/inference_service.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <utility>

#include "lib/common/grpc_status.h"
#include "lib/common/inference_protocol.h"
#include "lib/common/log.h"
#include "lib/common/status_macros.h"
#include "services/inference/logprob_proto.h"
#include "services/inference/prompt_echo.h"

namespace cai::inference {
namespace {

uint64_t RandomSeed() {
  std::random_device device;
  return (uint64_t{device()} << 32) | device();
}

v1::FinishReason ToProto(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return v1::FINISH_REASON_STOP;
    case FinishReason::kLength: return v1::FINISH_REASON_LENGTH;
    case FinishReason::kToolCalls: return v1::FINISH_REASON_TOOL_CALLS;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

v1::GenerateResponse ToProto(const Tokenizer& tokenizer, const ChoiceDelta& delta) {
  v1::GenerateResponse response;
  response.set_text(std::string(delta.text));
  response.set_index(static_cast<uint32_t>(delta.index));
  if (!delta.tool_name.empty() || !delta.tool_arguments.empty()) {
    response.mutable_tool_call()->set_name(std::string(delta.tool_name));
    response.mutable_tool_call()->set_arguments(std::string(delta.tool_arguments));
  }
  if (delta.finish) response.set_finish_reason(ToProto(*delta.finish));
  for (const SampledToken& token : delta.tokens) FillTokenLogprob(tokenizer, token, response.add_logprobs());
  return response;
}

// What an echo repeats: the prompt as sent, or the text of its token ids `prompt` (special tokens too).
std::string EchoText(const Tokenizer& tokenizer, const v1::GenerateRequest& request, std::span<const int32_t> prompt) {
  if (request.input_case() == v1::GenerateRequest::kPrompt) return request.prompt();
  return tokenizer.Decode(prompt, /*skip_special_tokens=*/false);
}

// The tools and tool_choice of `request`, compiled into `out`.
absl::Status TakeTools(const v1::GenerateRequest& request, GenerationRequest& out) {
  if (request.tools_size() == 0) {
    if (request.tool_choice() == v1::TOOL_CHOICE_AUTO || request.tool_choice() == v1::TOOL_CHOICE_NONE) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError("tool_choice required or a named function needs tools");
  }
  if (request.input_case() != v1::GenerateRequest::kChat) return absl::InvalidArgumentError("tools need chat messages");
  // With tool_choice none the tools are only shown to the model, so their schemas need not compile.
  if (request.tool_choice() == v1::TOOL_CHOICE_NONE) return absl::OkStatus();
  std::vector<ToolSet::Definition> definitions;
  for (const v1::Tool& tool : request.tools()) definitions.push_back({tool.name(), tool.parameters(), tool.strict()});
  CAI_ASSIGN_OR_RETURN(out.tools, ToolSet::Compile(definitions));
  switch (request.tool_choice()) {
    case v1::TOOL_CHOICE_AUTO: out.tool_choice = ToolChoice::kAuto; break;
    case v1::TOOL_CHOICE_REQUIRED: out.tool_choice = ToolChoice::kRequired; break;
    case v1::TOOL_CHOICE_NAMED:
      out.tool_choice = ToolChoice::kNamed;
      out.named_tool = out.tools->Find(request.tool_choice_name());
      if (out.named_tool == out.tools->size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("tool_choice names '", request.tool_choice_name().substr(0, ToolSet::kMaxNameBytes),
                         "', which is not one of the tools"));
      }
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("tool_choice ", request.tool_choice(), " is unknown"));
  }
  return absl::OkStatus();
}

}  // namespace

InferenceService::InferenceService(std::string model_id, std::unique_ptr<LoadedModel> model,
                                   int max_concurrent_sequences, const SchedulerOptions& scheduler,
                                   BatchEngine::BackendLost on_backend_lost)
    : model_id_(std::move(model_id)),
      model_(std::move(model)),
      created_(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count()),
      limiter_(max_concurrent_sequences),
      engine_(*model_->backend, *model_->tokenizer, scheduler, std::move(on_backend_lost)) {}

grpc::Status InferenceService::ListModels(grpc::ServerContext*, const v1::ListModelsRequest*,
                                          v1::ListModelsResponse* response) {
  v1::ModelInfo* info = response->add_models();
  info->set_id(model_id_);
  info->set_created(created_);
  info->set_context_length(static_cast<uint32_t>(model_->backend->context_length()));
  info->set_architecture(model_->config.architecture);
  return grpc::Status::OK;
}

absl::StatusOr<GenerationRequest> InferenceService::BuildRequest(const v1::GenerateRequest& request) const {
  if (request.model() != model_id_) {
    return absl::NotFoundError(absl::StrCat("model '", request.model().substr(0, 128), "' is not served here"));
  }
  GenerationRequest out;
  absl::StatusOr<std::vector<int32_t>> prompt;
  switch (request.input_case()) {
    case v1::GenerateRequest::kChat: {
      std::vector<ChatMessage> messages;
      for (const v1::ChatMessage& m : request.chat().messages()) {
        ChatMessage message{.role = m.role(), .content = m.content()};
        for (const v1::ToolCall& call : m.tool_calls()) message.tool_calls.push_back({call.name(), call.arguments()});
        messages.push_back(std::move(message));
      }
      std::vector<ChatTool> tools;
      for (const v1::Tool& tool : request.tools()) {
        tools.push_back({.name = tool.name(),
                         .description = tool.has_description() ? std::optional(tool.description()) : std::nullopt,
                         .parameters = tool.parameters()});
      }
      prompt = EncodeChat(*model_, messages, tools);
      break;
    }
    case v1::GenerateRequest::kPrompt:
      prompt = EncodeCompletion(*model_, request.prompt());
      break;
    case v1::GenerateRequest::kPromptTokens:  // the engine checks each id against the vocabulary
      prompt = std::vector<int32_t>(request.prompt_tokens().ids().begin(), request.prompt_tokens().ids().end());
      break;
    default:
      return absl::InvalidArgumentError("the request has neither chat messages nor a prompt");
  }
  if (!prompt.ok()) return prompt.status();
  out.prompt = *std::move(prompt);

  // Unset sampling fields take the model's generation_config defaults, then OpenAI's.
  const GenerationConfig& defaults = model_->generation;
  const v1::SamplingParams& s = request.sampling();
  out.sampling.temperature = s.has_temperature() ? s.temperature()
                             : !defaults.do_sample ? 0.0f
                                                   : defaults.temperature.value_or(1.0f);
  out.sampling.top_p = s.has_top_p() ? s.top_p() : defaults.top_p.value_or(1.0f);
  out.sampling.top_k = s.has_top_k() ? s.top_k() : 0;
  out.sampling.min_p = s.has_min_p() ? s.min_p() : 0.0f;
  out.sampling.presence_penalty = s.presence_penalty();
  out.sampling.frequency_penalty = s.frequency_penalty();
  if (s.logit_bias_size() > static_cast<int>(kMaxLogitBias)) {
    return absl::InvalidArgumentError(absl::StrCat("logit_bias has more than ", kMaxLogitBias, " entries"));
  }
  out.sampling.logit_bias.assign(s.logit_bias().begin(), s.logit_bias().end());
  std::sort(out.sampling.logit_bias.begin(), out.sampling.logit_bias.end());  // map order is unspecified
  out.sampling.seed = s.has_seed() ? s.seed() : RandomSeed();
  out.max_tokens = s.max_tokens();
  out.n = s.n() == 0 ? 1 : static_cast<int>(std::min<uint32_t>(s.n(), kMaxChoices + 1));  // the engine rejects > max
  out.logprobs = s.logprobs();
  out.top_logprobs = static_cast<int>(std::min<uint32_t>(s.top_logprobs(), kMaxTopLogprobs + 1));
  out.stop.assign(s.stop().begin(), s.stop().end());
  out.stop_token_ids = model_->stop_token_ids;
  if (request.echo()) {
    if (request.input_case() == v1::GenerateRequest::kChat) return absl::InvalidArgumentError("echo is for completions");
    out.prompt_logprobs = out.logprobs;
  }
  switch (request.response_format()) {
    case v1::RESPONSE_FORMAT_TEXT:
      out.format = OutputFormat::kText;
      break;
    case v1::RESPONSE_FORMAT_JSON_OBJECT:
      out.format = OutputFormat::kJsonObject;
      break;
    case v1::RESPONSE_FORMAT_JSON_SCHEMA: {
      out.format = OutputFormat::kJsonSchema;
      CAI_ASSIGN_OR_RETURN(out.schema, JsonSchema::Parse(request.json_schema()));
      break;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("response_format ", request.response_format(), " is unknown"));
  }
  CAI_RETURN_IF_ERROR(TakeTools(request, out));
  return out;
}

grpc::Status InferenceService::Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                                        grpc::ServerWriter<v1::GenerateResponse>* writer) {
  absl::StatusOr<GenerationRequest> generation = BuildRequest(*request);
  if (!generation.ok()) return ToGrpcStatus(generation.status());
  // Checked before the wait for a slot, so the caller learns at once (the engine checks again).
  absl::Status valid = ValidateGenerationRequest(*generation, model_->backend->context_length(),
                                                 static_cast<int32_t>(model_->config.vocab_size));
  if (!valid.ok()) return ToGrpcStatus(valid);
  context->AddInitialMetadata(kGenerateAcceptedKey, "1");
  writer->SendInitialMetadata();

  auto cancelled = [context] { return context->IsCancelled(); };
  if (!limiter_.Acquire(cancelled)) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while queued");
  auto start = std::chrono::steady_clock::now();
  // A choice's finishing message is held until the next message, so the very last one (always a
  // finishing message) can also carry the usage; text goes out at once.
  std::optional<v1::GenerateResponse> held;
  auto send = [&](v1::GenerateResponse response) {
    if (held && !writer->Write(*held)) return false;
    held.reset();
    if (response.finish_reason() != v1::FINISH_REASON_UNSPECIFIED) {
      held = std::move(response);
      return true;
    }
    return writer->Write(response);
  };
  // With echo, every choice opens with the prompt; what the choices generate before the prompt's
  // last score arrives waits.
  std::optional<PromptEcho> echo;
  if (request->echo()) {
    echo.emplace(*model_->tokenizer, generation->prompt, EchoText(*model_->tokenizer, *request, generation->prompt),
                 generation->prompt_logprobs);
  }
  std::vector<v1::GenerateResponse> after_echo;
  int64_t deltas_sent = 0;
  absl::StatusOr<GenerationResult> result = engine_.Generate(
      *generation,
      [&](const ChoiceDelta& delta) {
        ++deltas_sent;
        if (!echo) return send(ToProto(*model_->tokenizer, delta));
        if (delta.prompt_tokens.empty()) {
          after_echo.push_back(ToProto(*model_->tokenizer, delta));
        } else {
          echo->AddScores(delta.prompt_tokens);
        }
        if (!echo->complete()) return true;
        for (size_t part = 0; part < echo->parts(); ++part) {
          v1::GenerateResponse message = echo->Message(part);  // made once, sent to every choice
          for (int i = 0; i < generation->n; ++i) {
            message.set_index(static_cast<uint32_t>(i));
            if (!send(message)) return false;
          }
        }
        echo.reset();
        for (v1::GenerateResponse& message : std::exchange(after_echo, {})) {
          if (!send(std::move(message))) return false;
        }
        return true;
      },
      cancelled);
  limiter_.Release();
  if (!result.ok()) {
    if (absl::IsCancelled(result.status())) {
      // The caller went away (client hang-up or deadline): the generation stopped here.
      LogInfo("generation cancelled after ", deltas_sent, " deltas of max_tokens=", generation->max_tokens);
    } else {
      LogWarning("generate failed: ", result.status().ToString());
    }
    return ToGrpcStatus(result.status());
  }

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  LogInfo("generated prompt_tokens=", result->prompt_tokens, " completion_tokens=", result->completion_tokens,
          " n=", generation->n, " seconds=", seconds);
  // Every choice ends with a delta, which sends the echo first: so there is a last message, held.
  if (echo || !held) return grpc::Status(grpc::StatusCode::INTERNAL, "the generation ended before its prompt was echoed");
  v1::GenerateResponse& last = *held;
  last.mutable_usage()->set_prompt_tokens(static_cast<uint32_t>(result->prompt_tokens));
  last.mutable_usage()->set_completion_tokens(static_cast<uint32_t>(result->completion_tokens));
  if (!writer->Write(last)) return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  return grpc::Status::OK;
}

}  // namespace cai::inference
