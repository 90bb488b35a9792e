#include "services/inference/inference_service.h"
#include "services/inference/prompt_echo.h"

#include <chrono>
#include <functional>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lib/common/inference_protocol.h"
#include "services/inference/engine/json_prefix.h"
#include "services/inference/engine/json_schema_prefix.h"
#include "tests/unit/inference/forwarding_backend.h"
#include "tests/unit/inference/test_model.h"
#include "tools/demo_model/demo_model.h"

namespace cai::inference {
namespace {

// The service over the demo model, called through an in-process gRPC channel.
class InferenceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(demo::WriteDemoModel(dir_.path(), {.seed = 3, .num_hidden_layers = 2}).ok());
    absl::StatusOr<std::unique_ptr<LoadedModel>> model = LoadModelDir(dir_.path(), 2);
    ASSERT_TRUE(model.ok()) << model.status();
    Serve(*std::move(model));
  }
  void TearDown() override { server_->Shutdown(); }

  // (Re)starts the service and its in-process channel over `model`.
  void Serve(std::unique_ptr<LoadedModel> model, const SchedulerOptions& scheduler = {}) {
    if (server_) server_->Shutdown();
    server_.reset();
    service_ = std::make_unique<InferenceService>("demo", std::move(model), 2, scheduler);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = v1::Inference::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  // One user message to the demo model, with a seed and a token budget.
  static v1::GenerateRequest UserChat(const std::string& content, uint64_t seed, uint32_t max_tokens) {
    v1::GenerateRequest request;
    request.set_model("demo");
    v1::ChatMessage* m = request.mutable_chat()->add_messages();
    m->set_role("user");
    m->set_content(content);
    request.mutable_sampling()->set_seed(seed);
    request.mutable_sampling()->set_max_tokens(max_tokens);
    return request;
  }

  struct Stream {
    grpc::Status status;
    std::vector<v1::GenerateResponse> responses;
    std::string text;
  };
  Stream Generate(const v1::GenerateRequest& request) {
    grpc::ClientContext context;
    Stream out;
    std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader = stub_->Generate(&context, request);
    v1::GenerateResponse response;
    while (reader->Read(&response)) {
      out.text += response.text();
      out.responses.push_back(response);
    }
    out.status = reader->Finish();
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<InferenceService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Inference::Stub> stub_;
};

TEST_F(InferenceServiceTest, ListModels) {
  grpc::ClientContext context;
  v1::ListModelsResponse response;
  ASSERT_TRUE(stub_->ListModels(&context, {}, &response).ok());
  ASSERT_EQ(response.models_size(), 1);
  EXPECT_EQ(response.models(0).id(), "demo");
  EXPECT_EQ(response.models(0).context_length(), 2048u);
  EXPECT_EQ(response.models(0).architecture(), "LlamaForCausalLM");
  EXPECT_GT(response.models(0).created(), 0);
}

TEST_F(InferenceServiceTest, ChatStreamsTextThenFinishAndUsage) {
  v1::GenerateRequest request;
  request.set_model("demo");
  v1::ChatMessage* m = request.mutable_chat()->add_messages();
  m->set_role("user");
  m->set_content("Hello there");
  request.mutable_sampling()->set_temperature(0);
  request.mutable_sampling()->set_max_tokens(12);
  Stream a = Generate(request), b = Generate(request);
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  ASSERT_GE(a.responses.size(), 1u);
  const v1::GenerateResponse& last = a.responses.back();
  EXPECT_NE(last.finish_reason(), v1::FINISH_REASON_UNSPECIFIED);
  EXPECT_GT(last.usage().prompt_tokens(), 5u);
  EXPECT_LE(last.usage().completion_tokens(), 12u);
  if (last.finish_reason() == v1::FINISH_REASON_LENGTH) {
    EXPECT_EQ(last.usage().completion_tokens(), 12u);
  }
  for (size_t i = 0; i + 1 < a.responses.size(); ++i) {
    EXPECT_EQ(a.responses[i].finish_reason(), v1::FINISH_REASON_UNSPECIFIED);
    EXPECT_FALSE(a.responses[i].has_usage());
  }
  EXPECT_EQ(a.text, b.text);  // greedy
}

TEST_F(InferenceServiceTest, CompletionWithSeedIsReproducible) {
  v1::GenerateRequest request;
  request.set_model("demo");
  request.set_prompt("Verifiable computing");
  request.mutable_sampling()->set_seed(77);
  request.mutable_sampling()->set_max_tokens(8);
  Stream a = Generate(request), b = Generate(request);
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_EQ(a.text, b.text);
  // BOS + the prompt's tokens.
  EXPECT_GT(a.responses.back().usage().prompt_tokens(), 1u);
}

// Token ids are the prompt as they are: the ids the text would encode to give the same completion.
TEST_F(InferenceServiceTest, TokenIdPromptIsUsedAsItIs) {
  absl::StatusOr<std::unique_ptr<LoadedModel>> model = LoadModelDir(dir_.path(), 1);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<std::vector<int32_t>> ids = EncodeCompletion(**model, "Verifiable computing");
  ASSERT_TRUE(ids.ok()) << ids.status();
  v1::GenerateRequest request;
  request.set_model("demo");
  request.set_prompt("Verifiable computing");
  request.mutable_sampling()->set_seed(77);
  request.mutable_sampling()->set_max_tokens(8);
  Stream text = Generate(request);
  request.mutable_prompt_tokens()->mutable_ids()->Assign(ids->begin(), ids->end());
  Stream tokens = Generate(request);
  ASSERT_TRUE(tokens.status.ok()) << tokens.status.error_message();
  EXPECT_EQ(tokens.text, text.text);
  EXPECT_EQ(tokens.responses.back().usage().prompt_tokens(), ids->size());

  request.mutable_prompt_tokens()->add_ids(static_cast<int32_t>((*model)->config.vocab_size));
  Stream unknown = Generate(request);
  EXPECT_EQ(unknown.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(unknown.status.error_message().find("is unknown"), std::string::npos) << unknown.status.error_message();
  request.mutable_prompt_tokens()->clear_ids();
  EXPECT_EQ(Generate(request).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(InferenceServiceTest, ErrorsMapToStatusCodes) {
  v1::GenerateRequest request;
  request.set_model("other");
  request.set_prompt("hi");
  EXPECT_EQ(Generate(request).status.error_code(), grpc::StatusCode::NOT_FOUND);

  request.set_model("demo");
  request.clear_prompt();
  EXPECT_EQ(Generate(request).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::ChatMessage* m = request.mutable_chat()->add_messages();
  m->set_role("wizard");
  m->set_content("hi");
  Stream bad_role = Generate(request);
  EXPECT_EQ(bad_role.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(bad_role.status.error_message().empty());

  request.set_prompt("hi");
  request.mutable_sampling()->set_temperature(5);
  EXPECT_EQ(Generate(request).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

v1::GenerateRequest Completion(uint64_t seed, uint32_t n) {
  v1::GenerateRequest request;
  request.set_model("demo");
  request.set_prompt("Verifiable computing");
  request.mutable_sampling()->set_seed(seed);
  request.mutable_sampling()->set_temperature(1.0f);
  request.mutable_sampling()->set_max_tokens(10);
  request.mutable_sampling()->set_n(n);
  return request;
}

TEST_F(InferenceServiceTest, ChoicesCarryTheirIndexAndShareTheUsage) {
  v1::GenerateRequest request = Completion(91, 3);
  request.mutable_sampling()->set_logprobs(true);
  request.mutable_sampling()->set_top_logprobs(2);
  Stream stream = Generate(request);
  ASSERT_TRUE(stream.status.ok()) << stream.status.error_message();
  std::vector<std::string> texts(3);
  std::vector<int> finishes(3), logprobs(3);
  for (size_t i = 0; i < stream.responses.size(); ++i) {
    const v1::GenerateResponse& r = stream.responses[i];
    ASSERT_LT(r.index(), 3u);
    texts[r.index()] += r.text();
    logprobs[r.index()] += r.logprobs_size();
    finishes[r.index()] += r.finish_reason() != v1::FINISH_REASON_UNSPECIFIED;
    EXPECT_EQ(r.has_usage(), i + 1 == stream.responses.size());
    for (const v1::TokenLogprob& token : r.logprobs()) {
      EXPECT_LE(token.logprob(), 0.0f);
      EXPECT_FALSE(token.bytes().empty());
      ASSERT_EQ(token.top_logprobs_size(), 2);
      EXPECT_GE(token.top_logprobs(0).logprob(), token.top_logprobs(1).logprob());
    }
  }
  EXPECT_EQ(finishes, (std::vector<int>{1, 1, 1}));
  const v1::Usage& usage = stream.responses.back().usage();
  EXPECT_EQ(usage.completion_tokens(), 30u);  // 3 x max_tokens (the demo model never says EOS this soon)
  EXPECT_EQ(logprobs, (std::vector<int>{10, 10, 10}));
  // Choice i is what a single choice with seed + i gives; logprobs change nothing.
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(texts[i], Generate(Completion(91 + i, 1)).text) << i;
}

// Echo: each choice opens with the prompt's text and, with logprobs, its tokens (the first without a
// logprob), spread over several messages for a long prompt; then what the choice generates, as
// without echo.
TEST_F(InferenceServiceTest, EchoOpensEachChoiceWithThePromptAndItsScores) {
  std::string prompt;
  for (int i = 0; i < 120; ++i) absl::StrAppend(&prompt, "Verifiable computing ", i, ". ");
  absl::StatusOr<std::unique_ptr<LoadedModel>> model = LoadModelDir(dir_.path(), 1);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<std::vector<int32_t>> ids = EncodeCompletion(**model, prompt);
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_GT(ids->size(), PromptEcho::kTokensPerMessage);

  v1::GenerateRequest request = Completion(91, 2);
  request.set_prompt(prompt);
  request.mutable_sampling()->set_max_tokens(4);
  request.mutable_sampling()->set_logprobs(true);
  request.mutable_sampling()->set_top_logprobs(2);
  const Stream plain = Generate(request);
  request.set_echo(true);
  const Stream echoed = Generate(request);
  ASSERT_TRUE(echoed.status.ok()) << echoed.status.error_message();

  std::vector<std::string> texts(2), plain_texts(2);
  std::vector<std::vector<v1::TokenLogprob>> tokens(2);
  for (const v1::GenerateResponse& r : echoed.responses) {
    texts[r.index()] += r.text();
    tokens[r.index()].insert(tokens[r.index()].end(), r.logprobs().begin(), r.logprobs().end());
  }
  for (const v1::GenerateResponse& r : plain.responses) plain_texts[r.index()] += r.text();
  const size_t prompt_tokens = ids->size();
  for (int c = 0; c < 2; ++c) {
    EXPECT_EQ(texts[c], prompt + plain_texts[c]) << "choice " << c;
    ASSERT_EQ(tokens[c].size(), prompt_tokens + 4) << "choice " << c;
    EXPECT_FALSE(tokens[c][0].has_logprob());
    EXPECT_EQ(tokens[c][0].bytes(), (*model)->tokenizer->TokenBytes((*ids)[0]));
    EXPECT_TRUE(tokens[c][0].top_logprobs().empty());
    for (size_t i = 1; i < tokens[c].size(); ++i) {
      ASSERT_TRUE(tokens[c][i].has_logprob()) << i;
      EXPECT_LE(tokens[c][i].logprob(), 0.0f);
      EXPECT_EQ(tokens[c][i].top_logprobs_size(), 2) << i;
      if (i < prompt_tokens) {
        EXPECT_EQ(tokens[c][i].bytes(), (*model)->tokenizer->TokenBytes((*ids)[i])) << i;
      }
    }
  }
  // The echo spans messages: the first has the text, each at most kTokensPerMessage tokens.
  const v1::GenerateResponse& first = echoed.responses.front();
  EXPECT_EQ(first.text(), prompt);
  EXPECT_EQ(static_cast<size_t>(first.logprobs_size()), PromptEcho::kTokensPerMessage);
  EXPECT_EQ(echoed.responses.back().usage().prompt_tokens(), prompt_tokens);
  EXPECT_EQ(echoed.responses.back().usage().completion_tokens(), 8u);

  // A stop token generated is listed after the prompt's tokens (it prints nothing), so the last
  // entry is always the generated one; without echo it is not listed, as before.
  const int32_t stop = (*model)->stop_token_ids.at(0);
  request.mutable_sampling()->set_n(1);
  request.mutable_sampling()->mutable_logit_bias()->insert({stop, 100.0f});
  const Stream stopped = Generate(request);
  ASSERT_TRUE(stopped.status.ok()) << stopped.status.error_message();
  std::vector<v1::TokenLogprob> listed;
  for (const v1::GenerateResponse& r : stopped.responses) listed.insert(listed.end(), r.logprobs().begin(), r.logprobs().end());
  ASSERT_EQ(listed.size(), prompt_tokens + 1);
  EXPECT_EQ(listed.back().bytes(), (*model)->tokenizer->TokenBytes(stop));
  for (size_t i = 0; i < prompt_tokens; ++i) {  // the prompt is scored without the logit bias
    EXPECT_EQ(listed[i].SerializeAsString(), tokens[0][i].SerializeAsString()) << "prompt token " << i;
  }
  EXPECT_EQ(stopped.responses.back().finish_reason(), v1::FINISH_REASON_STOP);
  EXPECT_EQ(stopped.text, prompt);
  request.set_echo(false);
  int without_echo = 0;
  for (const v1::GenerateResponse& r : Generate(request).responses) without_echo += r.logprobs_size();
  EXPECT_EQ(without_echo, 0);
  request.set_echo(true);
  request.mutable_sampling()->clear_logit_bias();

  // Without logprobs only the text; token ids echo as their text, special tokens included.
  request.mutable_sampling()->set_logprobs(false);
  request.mutable_sampling()->set_top_logprobs(0);
  request.mutable_sampling()->set_n(1);
  request.mutable_prompt_tokens()->mutable_ids()->Assign(ids->begin(), ids->begin() + 5);
  const Stream by_ids = Generate(request);
  ASSERT_TRUE(by_ids.status.ok()) << by_ids.status.error_message();
  EXPECT_EQ(by_ids.responses.front().text(), (*model)->tokenizer->Decode(std::span(ids->data(), 5), false));
  request.set_echo(false);
  EXPECT_EQ(by_ids.text, by_ids.responses.front().text() + Generate(request).text);
  request.set_echo(true);
  EXPECT_EQ(by_ids.responses.front().logprobs_size(), 0);
  EXPECT_NE(by_ids.responses.front().text().find((*model)->tokenizer->TokenBytes((*ids)[0])), std::string::npos);

  EXPECT_EQ(Generate([&] {
              v1::GenerateRequest chat = UserChat("hi", 1, 2);
              chat.set_echo(true);
              return chat;
            }()).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Choice 1 forks from choice 0's prompt blocks and may generate while choice 0 still scores the
// prompt's tail (one position a step here): what it generates waits, so each choice still opens
// with the echo.
TEST_F(InferenceServiceTest, WhatAChoiceGeneratesBeforeTheEchoIsCompleteWaits) {
  absl::StatusOr<std::unique_ptr<LoadedModel>> model = LoadModelDir(dir_.path(), 2);
  ASSERT_TRUE(model.ok()) << model.status();
  std::string text;
  for (int i = 0; i < 20; ++i) absl::StrAppend(&text, "Verifiable computing ", i, ". ");
  absl::StatusOr<std::vector<int32_t>> ids = EncodeCompletion(**model, text);
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_GE(ids->size(), 47u);
  // 47 tokens: choice 1 forks at position 32, and choice 0 has 14 positions left to score, one a step.
  ids->resize(47);
  const std::string prompt = (*model)->tokenizer->Decode(*ids, false);
  Serve(*std::move(model), {.max_batch_tokens = 64, .max_running = 8, .max_scored_positions = 0});
  v1::GenerateRequest request = Completion(17, 2);
  request.mutable_prompt_tokens()->mutable_ids()->Assign(ids->begin(), ids->end());
  request.mutable_sampling()->set_max_tokens(12);
  request.mutable_sampling()->set_logprobs(true);
  const Stream plain = Generate(request);
  request.set_echo(true);
  const Stream echoed = Generate(request);
  ASSERT_TRUE(echoed.status.ok()) << echoed.status.error_message();

  std::vector<std::string> texts(2), plain_texts(2);
  std::vector<bool> opened(2, false);
  for (const v1::GenerateResponse& r : echoed.responses) {
    if (!opened[r.index()]) {
      EXPECT_EQ(r.text(), prompt) << "choice " << r.index() << " opens with the prompt";
    }
    opened[r.index()] = true;
    texts[r.index()] += r.text();
  }
  for (const v1::GenerateResponse& r : plain.responses) plain_texts[r.index()] += r.text();
  for (int c = 0; c < 2; ++c) EXPECT_EQ(texts[c], prompt + plain_texts[c]) << "choice " << c;
}

TEST_F(InferenceServiceTest, SamplingFieldsReachTheEngine) {
  // A logit bias of +100 on one token makes it the only choice, whatever the seed.
  v1::GenerateRequest request = Completion(5, 1);
  const int32_t x = static_cast<int32_t>(service_->BuildRequest(request)->prompt.back());
  (*request.mutable_sampling()->mutable_logit_bias())[x] = 100;
  request.mutable_sampling()->set_max_tokens(4);
  absl::StatusOr<GenerationRequest> built = service_->BuildRequest(request);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(built->sampling.logit_bias, (std::vector<std::pair<int32_t, float>>{{x, 100.0f}}));
  EXPECT_EQ(built->sampling.top_k, 0);
  EXPECT_EQ(built->n, 1);
  Stream biased = Generate(request);
  ASSERT_TRUE(biased.status.ok()) << biased.status.error_message();
  EXPECT_EQ(biased.responses.back().usage().completion_tokens(), 4u);

  request.mutable_sampling()->set_top_k(3);
  request.mutable_sampling()->set_min_p(0.1f);
  request.mutable_sampling()->set_presence_penalty(1.5f);
  request.mutable_sampling()->set_frequency_penalty(-0.5f);
  built = service_->BuildRequest(request);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(built->sampling.top_k, 3);
  EXPECT_EQ(built->sampling.min_p, 0.1f);
  EXPECT_EQ(built->sampling.presence_penalty, 1.5f);
  EXPECT_EQ(built->sampling.frequency_penalty, -0.5f);

  // Out of range: INVALID_ARGUMENT.
  for (auto mutate : std::vector<std::function<void(v1::SamplingParams*)>>{
           [](v1::SamplingParams* s) { (*s->mutable_logit_bias())[1 << 30] = 1; },
           [](v1::SamplingParams* s) { (*s->mutable_logit_bias())[1] = 101; },
           [](v1::SamplingParams* s) { s->set_n(9); },
           [](v1::SamplingParams* s) { s->set_top_logprobs(3); },
           [](v1::SamplingParams* s) { s->set_min_p(2); },
           [](v1::SamplingParams* s) { s->set_presence_penalty(-3); },
           [](v1::SamplingParams* s) { s->set_top_k(-2); }}) {
    v1::GenerateRequest bad = Completion(5, 1);
    mutate(bad.mutable_sampling());
    EXPECT_EQ(Generate(bad).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.DebugString();
  }
}

// response_format reaches the engine: JSON mode's text is a prefix of an object (the demo model's
// own text never is), and a value this service does not know is refused.
TEST_F(InferenceServiceTest, JsonObjectFormatReachesTheEngine) {
  v1::GenerateRequest request = UserChat("Reply in JSON", 4, 24);
  request.set_response_format(v1::RESPONSE_FORMAT_JSON_OBJECT);
  EXPECT_EQ(service_->BuildRequest(request)->format, OutputFormat::kJsonObject);
  Stream json = Generate(request);
  ASSERT_TRUE(json.status.ok()) << json.status.error_message();
  JsonPrefix prefix;
  EXPECT_TRUE(prefix.Feed(json.text)) << json.text;
  if (json.responses.back().finish_reason() == v1::FINISH_REASON_STOP) {
    EXPECT_TRUE(prefix.complete()) << json.text;
  }

  request.set_response_format(v1::RESPONSE_FORMAT_TEXT);
  Stream text = Generate(request);
  ASSERT_TRUE(text.status.ok());
  EXPECT_FALSE(JsonPrefix().Feed(text.text)) << text.text;

  request.set_response_format(static_cast<v1::ResponseFormat>(7));
  const grpc::Status unknown = Generate(request).status;
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(unknown.error_message(), "response_format 7 is unknown");
}

// A schema reaches the engine compiled, and the text is a prefix it admits; a schema the compiler
// refuses is INVALID_ARGUMENT with the compiler's words (the edge answers 400 with them).
TEST_F(InferenceServiceTest, JsonSchemaFormatReachesTheEngine) {
  v1::GenerateRequest request = UserChat("Describe a cat", 4, 24);
  request.set_response_format(v1::RESPONSE_FORMAT_JSON_SCHEMA);
  request.set_json_schema(R"({"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]})");
  absl::StatusOr<GenerationRequest> built = service_->BuildRequest(request);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->format, OutputFormat::kJsonSchema);
  ASSERT_NE(built->schema, nullptr);
  Stream json = Generate(request);
  ASSERT_TRUE(json.status.ok()) << json.status.error_message();
  JsonSchemaPrefix prefix(*built->schema);
  EXPECT_TRUE(prefix.Feed(json.text)) << json.text;
  if (json.responses.back().finish_reason() == v1::FINISH_REASON_STOP) {
    EXPECT_TRUE(prefix.complete()) << json.text;
  }

  request.set_json_schema(R"({"type":"object","properties":{"n":{"type":"integer","minimum":0}}})");
  const grpc::Status refused = Generate(request).status;
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message(),
            "json_schema at 'properties.n': 'minimum' is not supported (constrained decoding could not keep it)");
}

// Tools reach the engine compiled, and a named call streams back as its name, then its arguments'
// text (never as text), with "tool_calls" at the end; refusals are INVALID_ARGUMENT in words the
// edge can pass on.
TEST_F(InferenceServiceTest, ToolCallsStreamAsNameThenArguments) {
  v1::GenerateRequest request = UserChat("Weather in Paris?", 4, 200);
  const std::string parameters =
      R"({"type":"object","properties":{"city":{"enum":["Paris","Rome"]}},"required":["city"],)"
      R"("additionalProperties":false})";
  v1::Tool* tool = request.add_tools();
  tool->set_name("get_weather");
  tool->set_description("Weather now");
  tool->set_parameters(parameters);
  request.add_tools()->set_name("now");
  request.set_tool_choice(v1::TOOL_CHOICE_NAMED);
  request.set_tool_choice_name("get_weather");
  absl::StatusOr<GenerationRequest> built = service_->BuildRequest(request);
  ASSERT_TRUE(built.ok()) << built.status();
  ASSERT_NE(built->tools, nullptr);
  EXPECT_EQ(built->tool_choice, ToolChoice::kNamed);
  EXPECT_EQ(built->tools->tool(built->named_tool).name, "get_weather");
  // The model is shown the tools as given: name, description and parameters.
  absl::StatusOr<std::unique_ptr<LoadedModel>> model = LoadModelDir(dir_.path(), 1);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<std::vector<int32_t>> prompt =
      EncodeChat(**model, {{"user", "Weather in Paris?"}},
                 {{.name = "get_weather", .description = "Weather now", .parameters = parameters},
                  {.name = "now", .description = std::nullopt, .parameters = ""}});
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  EXPECT_EQ(built->prompt, *prompt);

  Stream call = Generate(request);
  ASSERT_TRUE(call.status.ok()) << call.status.error_message();
  EXPECT_EQ(call.text, "");
  ASSERT_TRUE(call.responses.front().has_tool_call());
  EXPECT_EQ(call.responses.front().tool_call().name(), "get_weather");
  std::string arguments;
  for (size_t i = 0; i < call.responses.size(); ++i) {
    if (i > 0) {
      EXPECT_EQ(call.responses[i].tool_call().name(), "") << "the name comes once";
    }
    arguments += call.responses[i].tool_call().arguments();
  }
  ASSERT_EQ(call.responses.back().finish_reason(), v1::FINISH_REASON_TOOL_CALLS) << arguments;
  const nlohmann::json parsed = nlohmann::json::parse(arguments);
  EXPECT_TRUE(parsed == nlohmann::json::parse(R"({"city":"Paris"})") ||
              parsed == nlohmann::json::parse(R"({"city":"Rome"})")) << arguments;

  struct Refusal {
    std::function<void(v1::GenerateRequest&)> change;
    const char* message;
  };
  const Refusal refusals[] = {
      {[](v1::GenerateRequest& r) { r.set_tool_choice_name("nope"); },
       "tool_choice names 'nope', which is not one of the tools"},
      {[](v1::GenerateRequest& r) { r.mutable_tools(1)->set_name("get_weather"); }, "tool 'get_weather' is defined twice"},
      {[](v1::GenerateRequest& r) {
         r.mutable_tools(0)->set_parameters(R"({"type":"object","properties":{"n":{"minimum":1}}})");
         r.mutable_tools(0)->set_strict(true);
       },
       "tool 'get_weather' parameters: json_schema at 'properties.n': 'minimum' is not supported (constrained "
       "decoding could not keep it)"},
      {[](v1::GenerateRequest& r) { r.clear_tools(); }, "tool_choice required or a named function needs tools"},
      {[](v1::GenerateRequest& r) { r.mutable_chat()->mutable_messages(0)->set_role("assistant"); },
       "with tools, the first message after any system message must be a user message (the template puts the tools "
       "in it)"},
  };
  for (const Refusal& refusal : refusals) {
    v1::GenerateRequest bad = request;
    refusal.change(bad);
    const grpc::Status status = Generate(bad).status;
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << refusal.message;
    EXPECT_EQ(status.error_message(), refusal.message);
  }
}

// A conversation that carries an earlier call and its result renders, and tool_choice none only
// shows the tools: the reply is text, even with a schema no call could keep.
TEST_F(InferenceServiceTest, EarlierCallsRenderAndNoneWritesText) {
  v1::GenerateRequest request = UserChat("Weather in Paris?", 4, 8);
  v1::ChatMessage* assistant = request.mutable_chat()->add_messages();
  assistant->set_role("assistant");
  v1::ToolCall* call = assistant->add_tool_calls();
  call->set_id("call_1");
  call->set_name("get_weather");
  call->set_arguments(R"({"city": "Paris"})");
  v1::ChatMessage* result = request.mutable_chat()->add_messages();
  result->set_role("tool");
  result->set_tool_call_id("call_1");
  result->set_content(R"({"temp_c": 18})");
  v1::Tool* tool = request.add_tools();
  tool->set_name("get_weather");
  tool->set_parameters(R"({"type":"object","allOf":[]})");
  request.set_tool_choice(v1::TOOL_CHOICE_NONE);
  absl::StatusOr<GenerationRequest> built = service_->BuildRequest(request);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->tool_choice, ToolChoice::kNone);
  Stream reply = Generate(request);
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  for (const v1::GenerateResponse& r : reply.responses) EXPECT_FALSE(r.has_tool_call());

  request.mutable_chat()->mutable_messages(1)->mutable_tool_calls(0)->set_arguments("[]");
  EXPECT_EQ(Generate(request).status.error_message(), "message 1: the tool call's arguments is not the JSON text of an object");
}

// Takes at least a millisecond a step, so a whole context (~2000 steps) lasts seconds, far longer
// than a cancellation takes to reach the engine even on a loaded machine.
class PacedBackend final : public testing::ForwardingBackend {
 public:
  explicit PacedBackend(std::unique_ptr<ForwardBackend> inner) : ForwardingBackend(*inner), owned_(std::move(inner)) {}
  absl::Status ForwardBatch(std::span<const BatchSequence> batch, std::span<float> logits) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return inner_.ForwardBatch(batch, logits);
  }

 private:
  std::unique_ptr<ForwardBackend> owned_;
};

TEST_F(InferenceServiceTest, ClientCancellationStopsTheStream) {
  absl::StatusOr<std::unique_ptr<LoadedModel>> model = LoadModelDir(dir_.path(), 2);
  ASSERT_TRUE(model.ok()) << model.status();
  (*model)->backend = std::make_unique<PacedBackend>(std::move((*model)->backend));
  Serve(*std::move(model));
  v1::GenerateRequest request;
  request.set_model("demo");
  request.set_prompt("Hello");
  request.mutable_sampling()->set_temperature(0);
  request.mutable_sampling()->set_max_tokens(0);  // up to the whole context
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader = stub_->Generate(&context, request);
  v1::GenerateResponse response;
  ASSERT_TRUE(reader->Read(&response));
  context.TryCancel();
  while (reader->Read(&response)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The server side must stop too: once the call has left the engine, far fewer steps ran than
  // the ~2000 the whole context would take (the client sees CANCELLED either way).
  for (int i = 0; i < 600 && service_->active_requests() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(service_->active_requests(), 0);
  EXPECT_LT(service_->engine_steps(), 500);
}

// A request is accepted (initial metadata) or refused before it waits for a generation slot, so
// a caller with several calls learns at once whether all are valid.
TEST_F(InferenceServiceTest, RequestsAreAcceptedOrRefusedBeforeTheyWaitForASlot) {
  absl::StatusOr<std::unique_ptr<LoadedModel>> model = LoadModelDir(dir_.path(), 2);
  ASSERT_TRUE(model.ok()) << model.status();
  const int64_t vocab = (*model)->config.vocab_size;
  (*model)->backend = std::make_unique<PacedBackend>(std::move((*model)->backend));
  Serve(*std::move(model));  // two slots
  v1::GenerateRequest long_request;
  long_request.set_model("demo");
  long_request.set_prompt("Hello");
  long_request.mutable_sampling()->set_max_tokens(0);  // seconds at a millisecond a step
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>>> readers;
  auto start = [&](const v1::GenerateRequest& request) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    readers.push_back(stub_->Generate(contexts.back().get(), request));
    return readers.back().get();
  };
  v1::GenerateResponse piece;
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(start(long_request)->Read(&piece));  // both slots busy

  grpc::ClientReader<v1::GenerateResponse>* waiting = start(long_request);
  waiting->WaitForInitialMetadata();
  EXPECT_EQ(contexts.back()->GetServerInitialMetadata().count(kGenerateAcceptedKey), 1u);

  v1::GenerateRequest unknown_token = long_request;
  unknown_token.mutable_prompt_tokens()->add_ids(static_cast<int32_t>(vocab));
  grpc::ClientReader<v1::GenerateResponse>* refused = start(unknown_token);
  EXPECT_FALSE(refused->Read(&piece));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(contexts.back()->GetServerInitialMetadata().count(kGenerateAcceptedKey), 0u);

  for (size_t i = 0; i < readers.size() - 1; ++i) {
    contexts[i]->TryCancel();
    while (readers[i]->Read(&piece)) {
    }
    readers[i]->Finish();
  }
}

}  // namespace
}  // namespace cai::inference
