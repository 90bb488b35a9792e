#include "services/inference/engine/generator.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "services/inference/engine/backends/cpu/cpu_backend.h"
#include "services/inference/engine/checkpoint.h"
#include "services/inference/engine/json_prefix.h"
#include "services/inference/engine/loaded_model.h"
#include "services/inference/engine/scheduler.h"
#include "tests/unit/inference/greedy_drawing_backend.h"
#include "tests/unit/inference/scheduler_drain.h"
#include "tests/unit/inference/test_model.h"
#include "tools/demo_model/demo_model.h"

namespace cai::inference {
namespace {

// The demo model's tokenizer with a tiny random model (context 128) over its vocabulary.
class GeneratorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    ASSERT_TRUE(demo::WriteDemoModel(dir_->path(), {}).ok());
    absl::StatusOr<std::unique_ptr<LoadedModel>> loaded = LoadModelDir(dir_->path(), 2);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    demo_ = loaded->release();
    ModelConfig config = testing::TinyConfig();
    config.vocab_size = demo_->tokenizer->vocab_size();
    testing::WriteWeights(testing::RandomWeights(config, 9), dir_->path() + "/tiny.safetensors");
    std::filesystem::create_directories(dir_->path() + "/tiny");
    std::filesystem::rename(dir_->path() + "/tiny.safetensors", dir_->path() + "/tiny/model.safetensors");
    absl::StatusOr<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(dir_->path() + "/tiny");
    ASSERT_TRUE(ckpt.ok());
    absl::StatusOr<std::unique_ptr<TransformerModel>> model = TransformerModel::Load(config, **ckpt, 2);
    ASSERT_TRUE(model.ok()) << model.status();
    tiny_ = model->release();
  }
  static void TearDownTestSuite() {
    delete tiny_;
    delete demo_;
    delete dir_;
  }

  struct Output {
    absl::StatusOr<GenerationResult> result;
    std::string text;                 // choice 0
    std::vector<std::string> pieces;  // choice 0, non-empty ones
    std::vector<std::string> texts;   // by choice
    std::vector<std::vector<SampledToken>> tokens;  // by choice, with logprobs
    std::vector<int> finishes;        // deltas with a finish reason, by choice
    std::vector<int> order;           // choice index of each delta
  };

  static Output Run(const GenerationRequest& request, const TransformerModel* model = nullptr,
                    CancelCheck cancelled = [] { return false; }) {
    Output out;
    const size_t n = std::max(request.n, 1);  // room for choice 0 even when n is (wrongly) 0
    out.texts.resize(n);
    out.tokens.resize(n);
    out.finishes.resize(n);
    out.result = Generate(model ? *model : *tiny_, *demo_->tokenizer, request,
                          [&](const ChoiceDelta& delta) {
                            EXPECT_TRUE(!delta.text.empty() || delta.finish.has_value());
                            EXPECT_EQ(out.finishes.at(delta.index), 0) << "a delta after the finish";
                            out.order.push_back(delta.index);
                            out.texts[delta.index] += delta.text;
                            out.tokens[delta.index].insert(out.tokens[delta.index].end(), delta.tokens.begin(),
                                                           delta.tokens.end());
                            if (delta.finish) ++out.finishes[delta.index];
                            if (delta.index == 0 && !delta.text.empty()) out.pieces.emplace_back(delta.text);
                            return true;
                          },
                          cancelled);
    out.text = out.texts[0];
    return out;
  }

  static GenerationRequest Greedy(int max_tokens) {
    GenerationRequest r;
    r.prompt = demo_->tokenizer->Encode("The quick brown fox", false);
    r.sampling.temperature = 0;
    r.max_tokens = max_tokens;
    return r;
  }

  static testing::TempDir* dir_;
  static LoadedModel* demo_;
  static TransformerModel* tiny_;
};

testing::TempDir* GeneratorTest::dir_ = nullptr;
LoadedModel* GeneratorTest::demo_ = nullptr;
TransformerModel* GeneratorTest::tiny_ = nullptr;

TEST_F(GeneratorTest, MaxTokensAndDeterminism) {
  Output a = Run(Greedy(30)), b = Run(Greedy(30));
  ASSERT_TRUE(a.result.ok()) << a.result.status();
  EXPECT_EQ(a.result->finish_reasons[0], FinishReason::kLength);
  EXPECT_EQ(a.result->completion_tokens, 30);
  EXPECT_EQ(a.result->prompt_tokens, static_cast<int64_t>(Greedy(1).prompt.size()));
  EXPECT_FALSE(a.text.empty());
  EXPECT_EQ(a.text, b.text);

  GenerationRequest sampled = Greedy(30);
  sampled.sampling = {.temperature = 1.0f, .top_p = 0.9f, .seed = 123};
  Output s1 = Run(sampled), s2 = Run(sampled);
  sampled.sampling.seed = 124;
  Output s3 = Run(sampled);
  EXPECT_EQ(s1.text, s2.text);
  EXPECT_NE(s1.text, s3.text);
}

TEST_F(GeneratorTest, StopStringIsExcludedAndHeldBack) {
  Output full = Run(Greedy(40));
  ASSERT_TRUE(full.result.ok());
  ASSERT_GT(full.text.size(), 20u);
  // A stop string from the middle of the greedy output (ASCII-safe start), likely spanning tokens.
  size_t at = 10;
  while (at < full.text.size() && (static_cast<uint8_t>(full.text[at]) & 0xc0) == 0x80) ++at;
  std::string stop = full.text.substr(at, 4);
  GenerationRequest request = Greedy(40);
  request.stop = {stop};
  Output stopped = Run(request);
  ASSERT_TRUE(stopped.result.ok());
  EXPECT_EQ(stopped.result->finish_reasons[0], FinishReason::kStop);
  EXPECT_EQ(stopped.text, full.text.substr(0, full.text.find(stop)));
  for (const std::string& piece : stopped.pieces) EXPECT_FALSE(piece.empty());

  // A string that starts like the output but never completes is released at the end.
  request.stop = {full.text.substr(at, 3) + "\x01"};
  Output released = Run(request);
  ASSERT_TRUE(released.result.ok());
  EXPECT_EQ(released.result->finish_reasons[0], FinishReason::kLength);
  EXPECT_EQ(released.text, full.text);
}

TEST_F(GeneratorTest, StopTokenEndsWithStopAndIsNotPrinted) {
  GenerationRequest probe = Greedy(5);
  std::vector<int32_t> ids;
  // The 3rd greedy token: find it by generating 2 and 3 tokens and comparing with ids directly.
  KvCache cache = tiny_->NewCache();
  std::vector<float> logits(tiny_->config().vocab_size);
  ASSERT_TRUE(tiny_->Forward(probe.prompt, cache, logits).ok());
  for (int i = 0; i < 3; ++i) {
    int32_t id = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ids.push_back(id);
    ASSERT_TRUE(tiny_->Forward({&id, 1}, cache, logits).ok());
  }
  GenerationRequest request = Greedy(20);
  request.stop_token_ids = {ids[2]};
  Output out = Run(request);
  ASSERT_TRUE(out.result.ok());
  EXPECT_EQ(out.result->finish_reasons[0], FinishReason::kStop);
  int64_t first = std::find(ids.begin(), ids.end(), ids[2]) - ids.begin() + 1;
  EXPECT_EQ(out.result->completion_tokens, first);
  std::vector<int32_t> printed(ids.begin(), ids.begin() + first - 1);
  EXPECT_EQ(out.text, demo_->tokenizer->Decode(printed));
}

TEST_F(GeneratorTest, ZeroMaxTokensRunsToTheContext) {
  GenerationRequest request = Greedy(0);
  request.prompt.assign(120, request.prompt[0]);  // context is 128
  Output out = Run(request);
  ASSERT_TRUE(out.result.ok()) << out.result.status();
  EXPECT_EQ(out.result->finish_reasons[0], FinishReason::kLength);
  EXPECT_EQ(out.result->completion_tokens, 8);
}

TEST_F(GeneratorTest, RejectsPromptsThatFillTheContext) {
  GenerationRequest request = Greedy(1);
  request.prompt.assign(128, request.prompt[0]);
  Output out = Run(request);
  ASSERT_TRUE(absl::IsOutOfRange(out.result.status())) << "the edge answers context_length_exceeded for it";
  EXPECT_NE(out.result.status().message().find("128 tokens"), std::string::npos) << out.result.status();
  request.prompt.clear();
  EXPECT_TRUE(absl::IsInvalidArgument(Run(request).result.status()));
  request = Greedy(1);
  request.stop = {""};
  EXPECT_TRUE(absl::IsInvalidArgument(Run(request).result.status()));
  request.stop = std::vector<std::string>(kMaxStopStrings + 1, "x");
  EXPECT_TRUE(absl::IsInvalidArgument(Run(request).result.status()));
  request = Greedy(1);
  request.sampling.top_p = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(Run(request).result.status()));
}

TEST_F(GeneratorTest, CancellationIsPolledEveryToken) {
  int polls = 0;
  Output out = Run(Greedy(50), nullptr, [&] { return ++polls > 5; });
  EXPECT_TRUE(absl::IsCancelled(out.result.status())) << out.result.status();
  EXPECT_EQ(polls, 6);

  // A reader that goes away stops the generation too.
  int pieces = 0;
  absl::StatusOr<GenerationResult> gone = Generate(
      *tiny_, *demo_->tokenizer, Greedy(50), [&](const ChoiceDelta&) { return ++pieces < 2; }, [] { return false; });
  EXPECT_TRUE(absl::IsCancelled(gone.status()));
  EXPECT_EQ(pieces, 2);
}

// The demo model end to end: chat rendering, generation, determinism. Also prints a rough
// decode speed (not asserted).
TEST_F(GeneratorTest, DemoModelChatsDeterministically) {
  absl::StatusOr<std::vector<int32_t>> prompt = EncodeChat(*demo_, {{"system", "Be brief."}, {"user", "Hello!"}});
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  EXPECT_EQ((*prompt)[0], *demo_->bos_token_id);
  GenerationRequest request;
  request.prompt = *prompt;
  request.sampling = {.temperature = 0.6f, .top_p = 0.9f, .seed = 42};
  request.max_tokens = 64;
  request.stop_token_ids = demo_->stop_token_ids;
  Output a = Run(request, demo_->model.get());
  Output b = Run(request, demo_->model.get());
  ASSERT_TRUE(a.result.ok()) << a.result.status();
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.result->completion_tokens, b.result->completion_tokens);

  // Rough speed of the demo model for the report (printed, never asserted).
  request.stop_token_ids.clear();
  request.max_tokens = 256;
  auto start = std::chrono::steady_clock::now();
  Output speed = Run(request, demo_->model.get());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(speed.result.ok());
  std::cout << "demo model (" << demo_->model->num_threads() << " threads): " << speed.result->prompt_tokens
            << " prompt + " << speed.result->completion_tokens << " completion tokens in " << seconds << " s, "
            << speed.result->completion_tokens / seconds << " tokens/s\n";

  absl::StatusOr<std::vector<int32_t>> completion = EncodeCompletion(*demo_, "<|eot_id|>hi");
  ASSERT_TRUE(completion.ok());
  EXPECT_EQ((*completion)[0], *demo_->bos_token_id);
  // Special-token text in a raw prompt is ordinary text.
  EXPECT_EQ(std::count(completion->begin(), completion->end(), *demo_->tokenizer->TokenId("<|eot_id|>")), 0);
  EXPECT_FALSE(EncodeChat(*demo_, {{"wizard", "hi"}}).ok());
}

GenerationRequest Sampled(GenerationRequest request, uint64_t seed) {
  request.sampling = {.temperature = 1.0f, .top_p = 0.95f, .seed = seed};
  return request;
}

TEST_F(GeneratorTest, ChoicesDifferAndEachEqualsASingleRunWithItsSeed) {
  GenerationRequest request = Sampled(Greedy(20), 500);
  request.n = 3;
  Output many = Run(request), again = Run(request);
  ASSERT_TRUE(many.result.ok()) << many.result.status();
  EXPECT_EQ(many.texts, again.texts);  // reproducible
  EXPECT_EQ(many.result->completion_tokens, 60);
  EXPECT_EQ(many.result->finish_reasons, std::vector<FinishReason>(3, FinishReason::kLength));
  EXPECT_EQ(many.finishes, (std::vector<int>{1, 1, 1}));
  EXPECT_TRUE(many.texts[0] != many.texts[1] || many.texts[1] != many.texts[2]);
  // Choice i is exactly what n = 1 gives with seed + i, although the choices ran interleaved.
  for (int i = 0; i < 3; ++i) {
    Output single = Run(Sampled(Greedy(20), 500 + i));
    ASSERT_TRUE(single.result.ok());
    EXPECT_EQ(many.texts[i], single.text) << "choice " << i;
  }
  // Interleaved: choice 1 speaks before choice 0 is done.
  auto first_of_1 = std::find(many.order.begin(), many.order.end(), 1);
  auto last_of_0 = std::find(many.order.rbegin(), many.order.rend(), 0);
  EXPECT_LT(first_of_1 - many.order.begin(), many.order.rend() - last_of_0 - 1);
}

TEST_F(GeneratorTest, ChoicesStopIndependently) {
  Output full = Run(Sampled(Greedy(30), 77));
  ASSERT_TRUE(full.result.ok());
  ASSERT_GT(full.text.size(), 12u);
  size_t at = 6;
  while (at < full.text.size() && (static_cast<uint8_t>(full.text[at]) & 0xc0) == 0x80) ++at;
  GenerationRequest request = Sampled(Greedy(30), 77);
  request.n = 2;
  request.stop = {full.text.substr(at, 3)};
  Output out = Run(request);
  ASSERT_TRUE(out.result.ok());
  EXPECT_EQ(out.result->finish_reasons[0], FinishReason::kStop);
  EXPECT_EQ(out.texts[0], full.text.substr(0, full.text.find(request.stop[0])));
  Output second = Run(Sampled(Greedy(30), 78));
  size_t cut = second.text.find(request.stop[0]);
  EXPECT_EQ(out.texts[1], second.text.substr(0, cut));
  EXPECT_EQ(out.result->finish_reasons[1], cut == std::string::npos ? FinishReason::kLength : FinishReason::kStop);
}

TEST_F(GeneratorTest, LogprobsCoverEveryPrintedToken) {
  GenerationRequest request = Greedy(16);
  request.logprobs = true;
  request.top_logprobs = 3;
  Output out = Run(request);
  ASSERT_TRUE(out.result.ok()) << out.result.status();
  ASSERT_EQ(out.tokens[0].size(), 16u);
  std::vector<int32_t> ids;
  for (const SampledToken& token : out.tokens[0]) {
    if (!demo_->tokenizer->IsSpecial(token.id)) ids.push_back(token.id);  // reported, but print nothing
    ASSERT_EQ(token.top.size(), 3u);
    EXPECT_EQ(token.top[0].id, token.id);  // greedy picks the most likely
    EXPECT_EQ(token.top[0].logprob, token.logprob);
    EXPECT_LE(token.logprob, 0.0f);
    EXPECT_GE(token.top[0].logprob, token.top[1].logprob);
    EXPECT_GE(token.top[1].logprob, token.top[2].logprob);
  }
  // The tokens are the ones sampled: their decoding is the text.
  EXPECT_EQ(demo_->tokenizer->Decode(ids), out.text);
  // Logprobs do not change what is sampled.
  EXPECT_EQ(out.text, Run(Greedy(16)).text);
}

TEST_F(GeneratorTest, RejectsBadChoiceAndLogprobCounts) {
  GenerationRequest request = Greedy(2);
  request.n = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(Run(request).result.status()));
  request.n = kMaxChoices + 1;
  EXPECT_TRUE(absl::IsInvalidArgument(Run(request).result.status()));
  request = Greedy(2);
  request.top_logprobs = 2;  // without logprobs
  EXPECT_TRUE(absl::IsInvalidArgument(Run(request).result.status()));
  request.logprobs = true;
  request.top_logprobs = kMaxTopLogprobs + 1;
  EXPECT_TRUE(absl::IsInvalidArgument(Run(request).result.status()));
  request = Greedy(2);
  request.sampling.logit_bias = {{tiny_->config().vocab_size, 1.0f}};
  EXPECT_TRUE(absl::IsInvalidArgument(Run(request).result.status()));
}

// JSON mode through the scheduler on the demo model (random weights: its text is no JSON of its
// own): each of the n choices, streamed in pieces, is a prefix of one object, and whole when it
// stopped. Without a stop token the request is refused, since such a choice could never end.
TEST_F(GeneratorTest, JsonModeChoicesArePrefixesOfAnObject) {
  absl::StatusOr<std::vector<int32_t>> prompt = EncodeChat(*demo_, {{"user", "Answer in JSON."}});
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  GenerationRequest request;
  request.prompt = *prompt;
  request.sampling = {.temperature = 1.0f, .seed = 5};
  request.max_tokens = 48;
  request.n = 4;
  request.stop_token_ids = demo_->stop_token_ids;
  request.format = OutputFormat::kJsonObject;
  Output out = Run(request, demo_->model.get());
  ASSERT_TRUE(out.result.ok()) << out.result.status();
  for (int i = 0; i < request.n; ++i) {
    JsonPrefix json;
    EXPECT_TRUE(json.Feed(out.texts[i])) << "choice " << i << ": " << out.texts[i];
    EXPECT_TRUE(out.texts[i].find('{') != std::string::npos) << out.texts[i];
    if (out.result->finish_reasons[i] == FinishReason::kStop) {
      EXPECT_TRUE(json.complete()) << out.texts[i];
    }
  }
  request.format = OutputFormat::kText;
  Output text = Run(request, demo_->model.get());
  ASSERT_TRUE(text.result.ok());
  EXPECT_NE(text.texts, out.texts) << "the mask changed nothing";

  request.format = OutputFormat::kJsonObject;
  request.stop_token_ids.clear();
  absl::Status refused = Run(request, demo_->model.get()).result.status();
  EXPECT_TRUE(absl::IsInvalidArgument(refused)) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "stop token")) << refused;

  // A schema goes with kJsonSchema, and that format needs one.
  request.stop_token_ids = demo_->stop_token_ids;
  request.format = OutputFormat::kJsonSchema;
  refused = Run(request, demo_->model.get()).result.status();
  EXPECT_TRUE(absl::IsInvalidArgument(refused)) << refused;
  request.schema = *JsonSchema::Parse(R"({"type":"object"})");
  EXPECT_TRUE(Run(request, demo_->model.get()).result.ok());
  request.format = OutputFormat::kText;
  refused = Run(request, demo_->model.get()).result.status();
  EXPECT_TRUE(absl::StrContains(refused.message(), "json_schema")) << refused;
}

// In the same steps, a JSON choice comes back to the host for its draw from the masked logits
// while a plain one is drawn by the backend: what CudaSchedulerTest.JsonChoicesShareStepsWithDeviceDraws
// checks on a GPU (where both routes give the CPU's text), shown here by which draws the backend made.
TEST_F(GeneratorTest, JsonChoicesDrawOnTheHostWhilePlainOnesDrawOnTheDevice) {
  absl::StatusOr<std::vector<int32_t>> prompt = EncodeChat(*demo_, {{"user", "Answer in JSON."}});
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  CpuBackend cpu(*demo_->model, 64 * demo_->model->kv_block_bytes());
  testing::GreedyDrawingBackend backend(cpu);
  Scheduler scheduler(backend, demo_->tokenizer.get(), {});
  GenerationRequest plain = testing::GreedyRequest(*prompt, 16);
  plain.logprobs = false;  // nothing keeps it on the host
  plain.sampling.seed = 1;
  plain.stop_token_ids = demo_->stop_token_ids;
  GenerationRequest json = plain;
  json.sampling.seed = 2;
  json.format = OutputFormat::kJsonObject;
  const uint64_t plain_id = *scheduler.Add(plain), json_id = *scheduler.Add(json);
  std::map<uint64_t, testing::Drained> out = testing::DrainScheduler(scheduler, {plain_id, json_id});
  EXPECT_FALSE(backend.Drawn(1).empty()) << "the plain choice was drawn by the backend";
  EXPECT_TRUE(backend.Drawn(2).empty()) << "the JSON choice was drawn on the host";
  JsonPrefix prefix;
  EXPECT_TRUE(prefix.Feed(out[json_id].text)) << out[json_id].text;
  EXPECT_NE(out[json_id].text, out[plain_id].text);
}

TEST_F(GeneratorTest, JsonModeNeedsATokenizer) {
  CpuBackend backend(*tiny_, 4 * tiny_->kv_block_bytes());
  Scheduler scheduler(backend, nullptr, {});
  GenerationRequest request = Greedy(4);
  request.stop_token_ids = {0};
  request.format = OutputFormat::kJsonObject;
  EXPECT_TRUE(absl::IsInvalidArgument(scheduler.Add(request).status()));
  request.format = OutputFormat::kText;
  EXPECT_TRUE(scheduler.Add(request).ok());
}

TEST(DemoModel, SameSeedSameFiles) {
  testing::TempDir a, b, c;
  ASSERT_TRUE(demo::WriteDemoModel(a.path(), {.seed = 5}).ok());
  ASSERT_TRUE(demo::WriteDemoModel(b.path(), {.seed = 5}).ok());
  ASSERT_TRUE(demo::WriteDemoModel(c.path(), {.seed = 6}).ok());
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  for (const char* file : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                           "model.safetensors"}) {
    EXPECT_EQ(read(a.path() + "/" + file), read(b.path() + "/" + file)) << file;
  }
  EXPECT_NE(read(a.path() + "/model.safetensors"), read(c.path() + "/model.safetensors"));
  absl::StatusOr<std::unique_ptr<LoadedModel>> loaded = LoadModelDir(a.path(), 1);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->config.num_key_value_heads, 2);
  EXPECT_TRUE((*loaded)->config.rope_scaling.has_value());
  EXPECT_TRUE((*loaded)->chat_template.ok());
  EXPECT_EQ((*loaded)->stop_token_ids.size(), 2u);  // <|end_of_text|>, <|eot_id|>
}

// A special token the tokenizer cannot produce, or a stop id past the vocabulary, would let every
// answer run to max_tokens: the model directory is refused instead, naming the file and the key.
TEST(DemoModel, SpecialTokensTheModelCannotProduceAreRefused) {
  struct Case {
    const char* file;
    const char* contents;
    const char* why;
  };
  const Case cases[] = {
      {"tokenizer_config.json", R"({"eos_token": "<|not-a-token|>"})", "eos_token \"<|not-a-token|>\" is not a token"},
      {"tokenizer_config.json", R"({"bos_token": {"content": "<|nor-this|>"}})", "bos_token \"<|nor-this|>\""},
      {"tokenizer_config.json", R"({"eos_token": 7})", "'eos_token' must be a string"},
      {"generation_config.json", R"({"eos_token_id": [1, 99999999]})", "eos_token_id 99999999 is not below"},
  };
  for (const Case& c : cases) {
    testing::TempDir dir;
    ASSERT_TRUE(demo::WriteDemoModel(dir.path(), {.seed = 5}).ok());
    std::ofstream(dir.path() + "/" + c.file, std::ios::trunc) << c.contents;
    absl::StatusOr<std::unique_ptr<LoadedModel>> loaded = LoadModelDir(dir.path(), 1);
    ASSERT_TRUE(absl::IsInvalidArgument(loaded.status())) << c.file << " " << c.contents << ": " << loaded.status();
    EXPECT_NE(loaded.status().message().find(c.file), std::string_view::npos) << loaded.status();
    EXPECT_NE(loaded.status().message().find(c.why), std::string_view::npos) << loaded.status();
  }
}

}  // namespace
}  // namespace cai::inference
