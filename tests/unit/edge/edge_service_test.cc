#include "services/edge/edge_service.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <mutex>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/common/inference_protocol.h"
#include "lib/crypto/sha256.h"

namespace cai::edge {
namespace {

using Json = nlohmann::json;

// Inference that streams a fixed script: two choices, interleaved, with logprobs; the last
// message of each choice has its finish reason and the very last one the usage. With tools,
// choice 0 calls get_weather in two pieces and choice 1 answers in text.
class ScriptedInference final : public v1::Inference::Service {
 public:
  grpc::Status Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                        grpc::ServerWriter<v1::GenerateResponse>* writer) override {
    {
      std::lock_guard lock(mutex_);
      last_ = *request;
      prompts_.push_back(request->has_prompt_tokens() ? absl::StrJoin(request->prompt_tokens().ids(), ",")
                                                      : request->prompt());
      if (silent_) return grpc::Status::OK;  // a generation that ends before its first piece
      if (!failure_.ok()) return failure_;
    }
    if (request->prompt() == "unknown-token") {
      // Refused as inference's validation refuses it, but only once the batch's other call has
      // sent all its pieces: an edge that streamed before every prompt was accepted would be
      // answering 200 by then.
      const int turn = ++refusals_;
      while (scripts_done_.load() < turn && !context->IsCancelled()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "prompt token 99 is unknown");
    }
    context->AddInitialMetadata(kGenerateAcceptedKey, "1");
    writer->SendInitialMetadata();
    auto piece = [&](uint32_t index, const std::string& text, std::vector<std::string> tokens,
                     v1::FinishReason finish = v1::FINISH_REASON_UNSPECIFIED) {
      v1::GenerateResponse r;
      r.set_index(index);
      r.set_text(text);
      r.set_finish_reason(finish);
      for (const std::string& token : tokens) {
        v1::TokenLogprob* lp = r.add_logprobs();
        lp->set_token(static_cast<unsigned char>(token[0]) >= 0x80 ? "\xEF\xBF\xBD" : token);
        lp->set_bytes(token);
        lp->set_logprob(-0.5f);
        v1::TopLogprob* top = lp->add_top_logprobs();
        top->set_token("x");
        top->set_bytes("x");
        top->set_logprob(-0.25f);
      }
      return r;
    };
    auto call = [&](const std::string& name, const std::string& arguments,
                    v1::FinishReason finish = v1::FINISH_REASON_UNSPECIFIED) {
      v1::GenerateResponse r = piece(0, "", {arguments}, finish);
      r.mutable_tool_call()->set_name(name);
      r.mutable_tool_call()->set_arguments(arguments);
      return r;
    };
    std::vector<v1::GenerateResponse> script = {
        piece(0, "Hel", {"Hel"}), piece(1, "Bon", {"Bon"}), piece(0, "lo", {"lo"}),
        piece(1, "jour ", {"jour", " "}), piece(1, "é", {"\xC3", "\xA9"}, v1::FINISH_REASON_LENGTH),
        piece(0, "", {}, v1::FINISH_REASON_STOP)};
    if (request->tools_size() > 0) {
      script = {call("get_weather", R"({"city": )"), piece(1, "Sunny.", {"Sunny."}),
                call("", R"("Paris"})", v1::FINISH_REASON_TOOL_CALLS), piece(1, "", {}, v1::FINISH_REASON_STOP)};
    }
    if (request->echo()) {  // as inference echoes: the prompt's text and tokens, the first unscored
      for (uint32_t index : {1u, 0u}) {
        v1::GenerateResponse echo = piece(index, request->prompt(), {"<s>", request->prompt()});
        echo.mutable_logprobs(0)->clear_logprob();
        echo.mutable_logprobs(0)->clear_top_logprobs();
        script.insert(script.begin(), echo);
      }
    }
    script.back().mutable_usage()->set_prompt_tokens(4);
    script.back().mutable_usage()->set_completion_tokens(7);
    const uint32_t n = std::max<uint32_t>(1, request->sampling().n());
    for (const v1::GenerateResponse& r : script) {
      if (r.index() < n) writer->Write(r);
    }
    ++scripts_done_;
    return grpc::Status::OK;
  }

  grpc::Status ListModels(grpc::ServerContext*, const v1::ListModelsRequest*,
                          v1::ListModelsResponse* response) override {
    for (const char* id : {"m", "other", "org/a+b"}) response->add_models()->set_id(id);
    return grpc::Status::OK;
  }

  v1::GenerateRequest last() {
    std::lock_guard lock(mutex_);
    return last_;
  }
  // Each call's prompt (token ids joined by commas), sorted: a batch's calls run at once.
  std::vector<std::string> prompts() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> sorted = prompts_;
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  }
  void set_silent(bool silent) {
    std::lock_guard lock(mutex_);
    silent_ = silent;
  }
  void set_failure(grpc::Status failure) {
    std::lock_guard lock(mutex_);
    failure_ = std::move(failure);
  }

 private:
  std::mutex mutex_;
  v1::GenerateRequest last_;
  std::vector<std::string> prompts_;
  std::atomic<int> refusals_{0};      // "unknown-token" calls so far
  std::atomic<int> scripts_done_{0};  // calls that wrote their whole script
  bool silent_ = false;
  grpc::Status failure_;
};

class RecordingSigner final : public v1::Signer::Service {
 public:
  grpc::Status SignChat(grpc::ServerContext*, const v1::SignChatRequest* request, v1::SignChatResponse*) override {
    std::lock_guard lock(mutex_);
    if (down_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "signer down");
    response_sha256_ = request->response_sha256();
    return grpc::Status::OK;
  }
  void set_down(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }
  std::string response_sha256() {
    std::lock_guard lock(mutex_);
    return response_sha256_;
  }
  // Every id has a signature, made for model "m".
  grpc::Status GetSignature(grpc::ServerContext*, const v1::GetSignatureRequest*,
                            v1::ChatSignature* signature) override {
    std::lock_guard lock(mutex_);
    ++lookups_;
    signature->set_model("m");
    signature->set_text("a:b");
    signature->set_signature(std::string(65, '\x01'));
    signature->set_signing_address("0xabc");
    return grpc::Status::OK;
  }
  int lookups() {
    std::lock_guard lock(mutex_);
    return lookups_;
  }

 private:
  std::mutex mutex_;
  std::string response_sha256_;
  int lookups_ = 0;
  bool down_ = false;
};

class CapturingWriter final : public ResponseWriter {
 public:
  bool Send(int status, std::string_view, std::string_view body, const Headers&) override {
    status_ = status;
    body_ = body;
    return true;
  }
  bool BeginEventStream(const Headers&) override {
    status_ = 200;
    return true;
  }
  bool WriteChunk(std::string_view data) override {
    body_ += data;
    return true;
  }
  bool EndStream() override { return true; }
  std::unique_ptr<PeerWatch> WatchPeer(std::function<void()>) override { return nullptr; }

  int status_ = 0;
  std::string body_;
};

class EdgeServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&inference_);
    builder.RegisterService(&signer_);
    server_ = builder.BuildAndStart();
    auto channel = server_->InProcessChannel(grpc::ChannelArguments());
    edge_ = std::make_unique<EdgeService>(Backends{channel, channel, channel}, ApiKeys(), "test");
  }
  void TearDown() override { server_->Shutdown(); }

  CapturingWriter Post(const std::string& path, const std::string& body) {
    CapturingWriter writer;
    edge_->Handle(HttpRequest{.method = "POST", .path = path, .query = "", .headers = {}, .body = body},
                  writer);
    return writer;
  }

  CapturingWriter Get(const std::string& path, const std::string& query) {
    CapturingWriter writer;
    edge_->Handle(HttpRequest{.method = "GET", .path = path, .query = query, .headers = {}, .body = ""},
                  writer);
    return writer;
  }

  ScriptedInference inference_;
  RecordingSigner signer_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<EdgeService> edge_;
};

std::string Hash(std::string_view bytes) {
  Sha256Digest digest = Sha256(bytes);
  return std::string(digest.begin(), digest.end());
}

// The JSON of each "data: ..." event but [DONE].
std::vector<Json> Events(const std::string& body) {
  std::vector<Json> out;
  size_t at = 0;
  while (at < body.size()) {
    size_t end = body.find("\n\n", at);
    std::string data = body.substr(at + 6, end - at - 6);
    if (data != "[DONE]") out.push_back(Json::parse(data));
    at = end + 2;
  }
  return out;
}

// A response is signed before its last byte leaves or it is not delivered as a whole: with the
// signer down, a client gets an error, never an unsigned body that looks complete.
TEST_F(EdgeServiceTest, AResponseThatCannotBeSignedIsWithheld) {
  signer_.set_down(true);
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  CapturingWriter whole = Post("/v1/chat/completions", body);
  EXPECT_EQ(whole.status_, 503);
  EXPECT_NE(whole.body_.find(R"("code":"signing_unavailable")"), std::string::npos) << whole.body_;
  EXPECT_EQ(whole.body_.find("Hello"), std::string::npos) << "the unsigned completion must not be sent";

  CapturingWriter streamed = Post("/v1/chat/completions", body.substr(0, body.size() - 1) + R"(,"stream":true})");
  EXPECT_EQ(streamed.body_.find("[DONE]"), std::string::npos) << streamed.body_;
  const std::vector<Json> events = Events(streamed.body_);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["error"]["code"], "signing_unavailable") << streamed.body_;

  signer_.set_down(false);
  EXPECT_EQ(Post("/v1/chat/completions", body).status_, 200);
}

// OpenAI's answer to a prompt the context cannot hold, which SDKs and agent frameworks match on.
TEST_F(EdgeServiceTest, APromptTooLongForTheContextIsContextLengthExceeded) {
  inference_.set_failure(grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "the prompt has 9000 tokens; ..."));
  struct Case {
    const char* path;
    std::string body;
    const char* param;
  };
  for (const Case& c : {Case{"/v1/chat/completions", R"({"model":"m","messages":[{"role":"user","content":"x"}]})",
                             "messages"},
                        Case{"/v1/completions", R"({"model":"m","prompt":"x"})", "prompt"},
                        Case{"/v1/completions", R"({"model":"m","prompt":"x","stream":true})", "prompt"}}) {
    CapturingWriter writer = Post(c.path, c.body);
    EXPECT_EQ(writer.status_, 400) << c.body;
    const Json error = Json::parse(writer.body_)["error"];
    EXPECT_EQ(error["code"], "context_length_exceeded") << writer.body_;
    EXPECT_EQ(error["param"], c.param) << writer.body_;
    EXPECT_EQ(error["type"], "invalid_request_error") << writer.body_;
    EXPECT_EQ(error["message"], "the prompt has 9000 tokens; ...") << writer.body_;
  }
}

TEST_F(EdgeServiceTest, OneModelIsRetrievedByItsId) {
  CapturingWriter found = Get("/v1/models/other", "");
  EXPECT_EQ(found.status_, 200);
  const Json model = Json::parse(found.body_);
  EXPECT_EQ(model["id"], "other");
  EXPECT_EQ(model["object"], "model");
  CapturingWriter missing = Get("/v1/models/nope", "");
  EXPECT_EQ(missing.status_, 404);
  EXPECT_EQ(Json::parse(missing.body_)["error"]["code"], "model_not_found");
  // SDKs percent-encode the id; in a path '+' is itself, not a space.
  EXPECT_EQ(Json::parse(Get("/v1/models/o%74her", "").body_)["id"], "other");
  CapturingWriter encoded = Get("/v1/models/org%2Fa+b", "");
  EXPECT_EQ(encoded.status_, 200) << encoded.body_;
  EXPECT_EQ(Json::parse(encoded.body_)["id"], "org/a+b");
}

TEST_F(EdgeServiceTest, RequestFieldsReachInference) {
  Post("/v1/chat/completions",
       R"({"model":"m","messages":[{"role":"user","content":"hi"}],"n":2,"logprobs":true,"top_logprobs":1,)"
       R"("top_k":5,"min_p":0.25,"presence_penalty":0.5,"frequency_penalty":-1,"logit_bias":{"42":-100}})");
  const v1::GenerateRequest last = inference_.last();
  const v1::SamplingParams& s = last.sampling();
  EXPECT_EQ(s.n(), 2u);
  EXPECT_TRUE(s.logprobs());
  EXPECT_EQ(s.top_logprobs(), 1u);
  EXPECT_EQ(s.top_k(), 5);
  EXPECT_EQ(s.min_p(), 0.25f);
  EXPECT_EQ(s.presence_penalty(), 0.5f);
  EXPECT_EQ(s.frequency_penalty(), -1.0f);
  ASSERT_EQ(s.logit_bias().count(42), 1u);
  EXPECT_EQ(s.logit_bias().at(42), -100.0f);
}

TEST_F(EdgeServiceTest, ChatStreamDeltasEqualTheNonStreamAnswer) {
  const std::string request =
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"n":2,"logprobs":true,"top_logprobs":1)";
  CapturingWriter whole = Post("/v1/chat/completions", request + "}");
  ASSERT_EQ(whole.status_, 200) << whole.body_;
  EXPECT_EQ(signer_.response_sha256(), Hash(whole.body_));
  Json body = Json::parse(whole.body_);
  ASSERT_EQ(body["choices"].size(), 2u);
  EXPECT_EQ(body["choices"][0]["message"]["content"], "Hello");
  EXPECT_EQ(body["choices"][1]["message"]["content"], "Bonjour é");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(body["choices"][1]["finish_reason"], "length");
  EXPECT_EQ(body["usage"]["completion_tokens"], 7);
  const Json& partial = body["choices"][1]["logprobs"]["content"][3];
  EXPECT_EQ(partial["token"], "\xEF\xBF\xBD");
  EXPECT_EQ(partial["bytes"], Json::array({0xC3}));
  EXPECT_EQ(partial["top_logprobs"][0]["token"], "x");

  CapturingWriter streamed = Post("/v1/chat/completions", request + R"(,"stream":true})");
  ASSERT_EQ(streamed.status_, 200);
  EXPECT_TRUE(streamed.body_.ends_with("data: [DONE]\n\n"));
  EXPECT_EQ(signer_.response_sha256(), Hash(streamed.body_));  // every byte, [DONE] included
  std::vector<std::string> texts(2);
  std::vector<Json> logprobs(2, Json::array()), finishes(2);
  std::vector<int> roles(2);
  for (const Json& event : Events(streamed.body_)) {
    ASSERT_EQ(event["choices"].size(), 1u);
    const Json& choice = event["choices"][0];
    size_t index = choice["index"];
    if (choice["delta"].contains("role")) ++roles[index];
    if (choice["delta"].contains("content")) texts[index] += choice["delta"]["content"];
    if (!choice["logprobs"].is_null()) {
      for (const Json& token : choice["logprobs"]["content"]) logprobs[index].push_back(token);
    }
    if (!choice["finish_reason"].is_null()) finishes[index] = choice["finish_reason"];
  }
  EXPECT_EQ(roles, (std::vector<int>{1, 1}));
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(texts[i], body["choices"][i]["message"]["content"]) << i;
    EXPECT_EQ(logprobs[i], body["choices"][i]["logprobs"]["content"]) << i;
    EXPECT_EQ(finishes[i], body["choices"][i]["finish_reason"]) << i;
  }
}

// A text completion stream put back together, per choice: its text, and each of the legacy
// logprobs' arrays concatenated.
struct StreamedChoice {
  std::string text;
  Json logprobs = Json{{"tokens", Json::array()}, {"token_logprobs", Json::array()},
                       {"top_logprobs", Json::array()}, {"text_offset", Json::array()}};
};
std::vector<StreamedChoice> StreamedTextChoices(const std::string& stream, size_t n) {
  std::vector<StreamedChoice> out(n);
  for (const Json& event : Events(stream)) {
    const Json& choice = event["choices"][0];
    StreamedChoice& into = out.at(choice["index"].get<size_t>());
    into.text += choice["text"];
    if (choice["logprobs"].is_null()) continue;
    for (auto& [field, values] : into.logprobs.items()) {
      for (const Json& value : choice["logprobs"][field]) values.push_back(value);
    }
  }
  return out;
}

// Every choice of a streamed text completion says what the whole answer's does.
void ExpectStreamEqualsWhole(const std::string& stream, const Json& whole) {
  const std::vector<StreamedChoice> streamed = StreamedTextChoices(stream, whole["choices"].size());
  for (size_t i = 0; i < streamed.size(); ++i) {
    EXPECT_EQ(streamed[i].text, whole["choices"][i]["text"]) << i;
    EXPECT_EQ(streamed[i].logprobs, whole["choices"][i]["logprobs"]) << i;
  }
}

TEST_F(EdgeServiceTest, TextCompletionLegacyLogprobsAgreeAcrossModes) {
  const std::string request = R"({"model":"m","prompt":"p","n":2,"logprobs":1)";
  CapturingWriter whole = Post("/v1/completions", request + "}");
  ASSERT_EQ(whole.status_, 200) << whole.body_;
  Json body = Json::parse(whole.body_);
  EXPECT_EQ(body["choices"][1]["text"], "Bonjour é");
  EXPECT_EQ(body["choices"][1]["logprobs"]["tokens"].size(), 5u);
  EXPECT_EQ(body["choices"][1]["logprobs"]["text_offset"], Json::array({0, 3, 7, 8, 9}));

  ExpectStreamEqualsWhole(Post("/v1/completions", request + R"(,"stream":true})").body_, body);
}

// Echo reaches inference, and its prompt opens each choice: the first token with null for its
// logprob and its alternatives, offsets counted through it, the stream saying the same.
TEST_F(EdgeServiceTest, AnEchoedPromptOpensEachChoiceWithANullFirstLogprob) {
  const std::string request = R"({"model":"m","prompt":"p","n":2,"logprobs":1,"echo":true)";
  CapturingWriter whole = Post("/v1/completions", request + "}");
  ASSERT_EQ(whole.status_, 200) << whole.body_;
  EXPECT_TRUE(inference_.last().echo());
  Json body = Json::parse(whole.body_);
  EXPECT_EQ(body["choices"][0]["text"], "pHello");
  const Json& logprobs = body["choices"][1]["logprobs"];
  EXPECT_EQ(body["choices"][1]["text"], "pBonjour é");
  ASSERT_EQ(logprobs["tokens"].size(), 7u);  // the prompt's two, then the choice's five
  EXPECT_EQ(logprobs["tokens"][0], "<s>");
  EXPECT_EQ(logprobs["tokens"][1], "p");
  EXPECT_EQ(logprobs["tokens"][2], "Bon");
  EXPECT_EQ(logprobs["token_logprobs"][0], nullptr);
  EXPECT_EQ(logprobs["top_logprobs"][0], nullptr);
  EXPECT_EQ(logprobs["token_logprobs"][1], -0.5);
  EXPECT_EQ(logprobs["text_offset"], Json::array({0, 3, 4, 7, 11, 12, 13}));

  ExpectStreamEqualsWhole(Post("/v1/completions", request + R"(,"stream":true})").body_, body);
  ASSERT_EQ(Post("/v1/completions", R"({"model":"m","prompt":"p"})").status_, 200);
  EXPECT_FALSE(inference_.last().echo());
}

// A completions batch: each prompt's n choices in turn, usage summed, text offsets counted per
// choice, and the stream says the same as the whole answer.
TEST_F(EdgeServiceTest, ACompletionsBatchAnswersEachPromptInTurn) {
  const std::string request = R"({"model":"m","prompt":["p","q"],"n":2,"logprobs":1)";
  CapturingWriter whole = Post("/v1/completions", request + "}");
  ASSERT_EQ(whole.status_, 200) << whole.body_;
  Json body = Json::parse(whole.body_);
  ASSERT_EQ(body["choices"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(body["choices"][i]["index"], i);
    EXPECT_EQ(body["choices"][i]["text"], i % 2 == 0 ? "Hello" : "Bonjour é");
    EXPECT_EQ(body["choices"][i]["logprobs"]["text_offset"].front(), 0);
  }
  EXPECT_EQ(body["usage"]["prompt_tokens"], 8);
  EXPECT_EQ(body["usage"]["completion_tokens"], 14);
  EXPECT_EQ(inference_.prompts(), (std::vector<std::string>{"p", "q"}));

  CapturingWriter streamed = Post("/v1/completions", request + R"(,"stream":true,"stream_options":{"include_usage":true}})");
  std::vector<std::string> texts(4);
  Json usage;
  for (const Json& event : Events(streamed.body_)) {
    if (!event["usage"].is_null()) usage = event["usage"];
    if (event["choices"].empty()) continue;
    texts.at(event["choices"][0]["index"].get<size_t>()) += event["choices"][0]["text"];
  }
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(texts[i], body["choices"][i]["text"]) << i;
  EXPECT_EQ(usage, body["usage"]);
}

// A batch with one prompt that inference refuses is refused whole, streamed or not, and the
// message names the prompt; token-id prompts reach inference as ids.
TEST_F(EdgeServiceTest, ABatchWithARefusedPromptIsRefusedBeforeItStreams) {
  for (const char* stream : {"false", "true"}) {
    CapturingWriter writer = Post(
        "/v1/completions", absl::StrCat(R"({"model":"m","prompt":["p","unknown-token"],"stream":)", stream, "}"));
    EXPECT_EQ(writer.status_, 400) << writer.body_;
    EXPECT_EQ(Json::parse(writer.body_)["error"]["message"], "prompt 1: prompt token 99 is unknown") << stream;
  }
  CapturingWriter ids = Post("/v1/completions", R"({"model":"m","prompt":[[5,17],[42]],"stream":true})");
  EXPECT_EQ(ids.status_, 200) << ids.body_;
  std::vector<std::string> prompts = inference_.prompts();
  EXPECT_EQ(std::count(prompts.begin(), prompts.end(), "5,17"), 1);
  EXPECT_EQ(std::count(prompts.begin(), prompts.end(), "42"), 1);
}

TEST_F(EdgeServiceTest, WithoutLogprobsTheFieldIsNull) {
  CapturingWriter whole = Post("/v1/chat/completions", R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(whole.status_, 200);
  Json body = Json::parse(whole.body_);
  ASSERT_EQ(body["choices"].size(), 1u);
  EXPECT_EQ(body["choices"][0]["message"]["content"], "Hello");
  EXPECT_TRUE(body["choices"][0]["logprobs"].is_null());
}

TEST_F(EdgeServiceTest, SignaturesAreLookedUpOnlyForPlausibleIdsOfTheNamedModel) {
  EXPECT_EQ(Get("/v1/signature/chatcmpl-abc_1", "").status_, 200);
  EXPECT_EQ(Get("/v1/signature/chatcmpl-abc_1", "model=m").status_, 200);
  EXPECT_EQ(signer_.lookups(), 2);
  EXPECT_EQ(Get("/v1/signature/chatcmpl-abc_1", "model=other").status_, 404);  // served, not its signature
  EXPECT_EQ(Get("/v1/signature/chatcmpl-abc_1", "model=unknown").status_, 404);
  EXPECT_EQ(signer_.lookups(), 3);  // an unknown model is refused before the signer is asked
  for (const std::string& id : {std::string(129, 'a'), std::string("a.b"), std::string("a/b"), std::string("é")}) {
    EXPECT_EQ(Get("/v1/signature/" + id, "").status_, 404) << id;
  }
  EXPECT_EQ(signer_.lookups(), 3);  // implausible ids never reach the signer
}

// A conversation with a tool turn, two choices, get_weather among the tools; closed by the caller.
const std::string kToolRequest =
    R"({"model":"m","n":2,"messages":[{"role":"user","content":"Weather in Paris?"},)"
    R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function",)"
    R"("function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},)"
    R"({"role":"tool","tool_call_id":"call_0","content":"21C"}],)"
    R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now","strict":true,)"
    R"("parameters":{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"string"}}}}}])";
constexpr char kNamed[] = R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}})";

// OpenAI's form: "call_" and 24 letters and digits.
bool IsCallId(const Json& id) {
  if (!id.is_string()) return false;
  const std::string text = id;
  return text.size() == 29 && text.starts_with("call_") &&
         std::all_of(text.begin() + 5, text.end(), [](char c) { return absl::ascii_isalnum(c); });
}

// response_format reaches inference as the format and, for a schema, its compact text; so does
// vLLM's guided_json on /v1/completions.
TEST_F(EdgeServiceTest, ResponseFormatsReachInference) {
  ASSERT_EQ(Post("/v1/chat/completions",
                 R"({"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema",)"
                 R"("json_schema":{"name":"a","schema":{"type":"object"}}}})")
                .status_,
            200);
  EXPECT_EQ(inference_.last().response_format(), v1::RESPONSE_FORMAT_JSON_SCHEMA);
  EXPECT_EQ(inference_.last().json_schema(), R"({"type":"object"})");
  ASSERT_EQ(Post("/v1/chat/completions",
                 R"({"model":"m","messages":[{"role":"user","content":"json"}],"response_format":{"type":"json_object"}})")
                .status_,
            200);
  EXPECT_EQ(inference_.last().response_format(), v1::RESPONSE_FORMAT_JSON_OBJECT);
  EXPECT_EQ(inference_.last().json_schema(), "");
  ASSERT_EQ(Post("/v1/completions", R"({"model":"m","prompt":"x","guided_json":"{\"type\": \"object\"}"})").status_, 200);
  EXPECT_EQ(inference_.last().response_format(), v1::RESPONSE_FORMAT_JSON_SCHEMA);
  EXPECT_EQ(inference_.last().json_schema(), R"({"type":"object"})");
}

TEST_F(EdgeServiceTest, ToolsAndToolTurnsReachInference) {
  ASSERT_EQ(Post("/v1/chat/completions", kToolRequest + "}").status_, 200);
  v1::GenerateRequest last = inference_.last();
  ASSERT_EQ(last.tools_size(), 1);
  EXPECT_EQ(last.tools(0).name(), "get_weather");
  EXPECT_EQ(last.tools(0).description(), "Weather now");
  EXPECT_EQ(last.tools(0).parameters(),
            R"({"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"string"}}})");
  EXPECT_TRUE(last.tools(0).strict());
  EXPECT_EQ(last.tool_choice(), v1::TOOL_CHOICE_AUTO);
  ASSERT_EQ(last.chat().messages_size(), 3);
  const v1::ChatMessage& turn = last.chat().messages(1);
  ASSERT_EQ(turn.tool_calls_size(), 1);
  EXPECT_EQ(turn.tool_calls(0).id(), "call_0");
  EXPECT_EQ(turn.tool_calls(0).name(), "get_weather");
  EXPECT_EQ(turn.tool_calls(0).arguments(), R"({"city":"Rome"})");
  const v1::ChatMessage& result = last.chat().messages(2);
  EXPECT_EQ(result.role(), "tool");
  EXPECT_EQ(result.tool_call_id(), "call_0");
  EXPECT_EQ(result.content(), "21C");

  ASSERT_EQ(Post("/v1/chat/completions", kToolRequest + kNamed + "}").status_, 200);
  last = inference_.last();
  EXPECT_EQ(last.tool_choice(), v1::TOOL_CHOICE_NAMED);
  EXPECT_EQ(last.tool_choice_name(), "get_weather");
  ASSERT_EQ(Post("/v1/chat/completions", kToolRequest + R"(,"tool_choice":"none"})").status_, 200);
  EXPECT_EQ(inference_.last().tool_choice(), v1::TOOL_CHOICE_NONE);
  EXPECT_EQ(inference_.last().tools_size(), 1);  // still shown to the model

  ASSERT_EQ(Post("/v1/chat/completions", R"({"model":"m","messages":[{"role":"user","content":"hi"}]})").status_, 200);
  EXPECT_EQ(inference_.last().tools_size(), 0);
  EXPECT_EQ(inference_.last().tool_choice(), v1::TOOL_CHOICE_AUTO);  // unset
}

// The call inference streams becomes OpenAI's tool_calls: whole, a message with content null and
// finish_reason "tool_calls"; streamed, a chunk with the id and name, then the arguments piece by
// piece, each with its logprobs. Both are signed as sent, and each response has its own call id.
TEST_F(EdgeServiceTest, AToolCallIsAnsweredAsOpenAiToolCallsWholeAndStreamed) {
  const std::string request = kToolRequest + R"(,"logprobs":true)";
  CapturingWriter whole = Post("/v1/chat/completions", request + "}");
  ASSERT_EQ(whole.status_, 200) << whole.body_;
  EXPECT_EQ(signer_.response_sha256(), Hash(whole.body_));
  EXPECT_NE(whole.body_.find(R"("message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_)"),
            std::string::npos)
      << whole.body_;
  const Json body = Json::parse(whole.body_);
  const Json& message = body["choices"][0]["message"];
  ASSERT_EQ(message["tool_calls"].size(), 1u) << whole.body_;
  const Json whole_id = message["tool_calls"][0]["id"];
  EXPECT_TRUE(IsCallId(whole_id)) << whole_id;
  EXPECT_EQ(message, Json::parse(absl::StrCat(R"({"role":"assistant","content":null,"tool_calls":[{"id":)",
                                              whole_id.dump(), R"(,"type":"function","function":)",
                                              R"({"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]})")));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(body["choices"][0]["logprobs"]["content"].size(), 2u);
  EXPECT_EQ(body["choices"][1]["message"], Json::parse(R"({"role":"assistant","content":"Sunny."})"));
  EXPECT_EQ(body["choices"][1]["finish_reason"], "stop");

  CapturingWriter streamed = Post("/v1/chat/completions", request + R"(,"stream":true})");
  ASSERT_EQ(streamed.status_, 200);
  EXPECT_EQ(signer_.response_sha256(), Hash(streamed.body_));
  std::vector<Json> deltas, logprobs;
  Json finish;
  std::string text;
  for (const Json& event : Events(streamed.body_)) {
    const Json& choice = event["choices"][0];
    if (choice["index"] == 1) {
      if (choice["delta"].contains("content")) text += choice["delta"]["content"];
      continue;
    }
    if (choice["delta"].contains("tool_calls")) {
      deltas.push_back(choice["delta"]);
      logprobs.push_back(choice["logprobs"]["content"]);
    }
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  ASSERT_EQ(deltas.size(), 2u) << streamed.body_;
  const Json stream_id = deltas[0]["tool_calls"][0]["id"];
  EXPECT_TRUE(IsCallId(stream_id)) << stream_id;
  EXPECT_NE(stream_id, whole_id);
  EXPECT_EQ(deltas[0], Json::parse(absl::StrCat(R"({"tool_calls":[{"index":0,"id":)", stream_id.dump(),
                                                R"(,"type":"function","function":{"name":"get_weather",)",
                                                R"("arguments":"{\"city\": "}}]})")));
  EXPECT_EQ(deltas[1], Json::parse(R"({"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]})"));
  EXPECT_EQ(Json::array({logprobs[0][0], logprobs[1][0]}), body["choices"][0]["logprobs"]["content"]);
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(text, "Sunny.");
}

// As OpenAI: a call to the function tool_choice named finishes with "stop".
TEST_F(EdgeServiceTest, ACallToTheNamedFunctionFinishesWithStop) {
  CapturingWriter whole = Post("/v1/chat/completions", kToolRequest + kNamed + "}");
  ASSERT_EQ(whole.status_, 200) << whole.body_;
  const Json body = Json::parse(whole.body_);
  EXPECT_EQ(body["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");

  CapturingWriter streamed = Post("/v1/chat/completions", kToolRequest + kNamed + R"(,"stream":true})");
  ASSERT_EQ(streamed.status_, 200);
  std::vector<Json> finishes;
  for (const Json& event : Events(streamed.body_)) {
    if (!event["choices"][0]["finish_reason"].is_null()) finishes.push_back(event["choices"][0]["finish_reason"]);
  }
  EXPECT_EQ(finishes, (std::vector<Json>{"stop", "stop"}));
}

TEST_F(EdgeServiceTest, AStreamWithNoPiecesStillEndsAndIsSigned) {
  // The reader was finished to look at the status before the first piece; the stream must not
  // finish it a second time (gRPC allows one Finish per call).
  inference_.set_silent(true);
  CapturingWriter writer =
      Post("/v1/chat/completions", R"({"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(writer.status_, 200);
  EXPECT_TRUE(writer.body_.ends_with("data: [DONE]\n\n")) << writer.body_;
  EXPECT_EQ(signer_.response_sha256(), Hash(writer.body_));
}

}  // namespace
}  // namespace cai::edge
