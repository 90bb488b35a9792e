// Conformance with Hugging Face transformers: the tiny random-weight models in tests/golden/models
// (F32) must give the recorded logits within the recorded tolerance, and the recorded 32-token
// greedy continuation exactly, through the same prefill and KV-cache decode calls the service
// makes. See tests/golden/README.md for what each model exercises.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include <gtest/gtest.h>

#include "services/inference/engine/backends/cpu/transformer_model.h"
#include "services/inference/engine/checkpoint.h"
#include "services/inference/engine/safetensors_writer.h"
#include "tests/golden/golden_model.h"
#include "tests/unit/inference/test_model.h"

namespace cai::inference {
namespace {

using golden::Golden;
using golden::kModelNames;
using golden::kModels;
using golden::MaxAbsDiff;
using golden::PositionLogits;
using golden::ReadConfig;
using golden::ReadGolden;

std::unique_ptr<TransformerModel> LoadModel(const ModelConfig& config, const std::string& dir, int threads = 2) {
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(dir);
  EXPECT_TRUE(checkpoint.ok()) << checkpoint.status();
  if (!checkpoint.ok()) return nullptr;
  absl::StatusOr<std::unique_ptr<TransformerModel>> model =
      TransformerModel::Load(config, std::shared_ptr<const Checkpoint>(*std::move(checkpoint)), threads);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *std::move(model) : nullptr;
}


int32_t Argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// The logits after tokens[0..position], from a fresh cache.
std::vector<float> LogitsAt(const TransformerModel& model, std::span<const int32_t> tokens, int64_t position) {
  KvCache cache = model.NewCache();
  std::vector<float> logits(model.config().vocab_size);
  absl::Status status = model.Forward(tokens.first(position + 1), cache, logits);
  EXPECT_TRUE(status.ok()) << status;
  return logits;
}

class GoldenModelTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    golden_ = ReadGolden(GetParam());
    config_ = ReadConfig(GetParam());
    model_ = LoadModel(config_, (kModels / GetParam()).string());
    ASSERT_NE(model_, nullptr);
    ASSERT_FALSE(golden_.prompt_logits.empty());
    ASSERT_EQ(golden_.greedy.size(), 32u);
    ASSERT_GT(golden_.tolerance, 0);
  }

  Golden golden_;
  ModelConfig config_;
  std::unique_ptr<TransformerModel> model_;
};

TEST_P(GoldenModelTest, PromptLogitsFromPrefill) {
  for (const PositionLogits& row : golden_.prompt_logits) {
    EXPECT_LE(MaxAbsDiff(LogitsAt(*model_, golden_.prompt, row.position), row.values), golden_.tolerance)
        << "position " << row.position;
  }
}

// The same positions reached by consecutive prefills into one cache, so later chunks attend to
// keys an earlier call wrote (and, past the window, no longer see them).
TEST_P(GoldenModelTest, PromptLogitsFromSplitPrefill) {
  KvCache cache = model_->NewCache();
  std::vector<float> logits(config_.vocab_size);
  for (const PositionLogits& row : golden_.prompt_logits) {
    std::span<const int32_t> part = std::span(golden_.prompt).subspan(cache.length, row.position + 1 - cache.length);
    ASSERT_TRUE(model_->Forward(part, cache, logits).ok());
    EXPECT_LE(MaxAbsDiff(logits, row.values), golden_.tolerance) << "position " << row.position;
  }
}

// Prefill, then one token at a time through the KV cache, as the service decodes.
TEST_P(GoldenModelTest, GreedyDecodeMatchesExactly) {
  KvCache cache = model_->NewCache();
  std::vector<float> logits(config_.vocab_size);
  ASSERT_TRUE(model_->Forward(golden_.prompt, cache, logits).ok());
  ASSERT_EQ(golden_.sequence_logits.size(), 1u);
  const PositionLogits& last = golden_.sequence_logits[0];
  std::vector<int32_t> generated;
  for (size_t step = 0; step < golden_.greedy.size(); ++step) {
    int32_t token = Argmax(logits);
    generated.push_back(token);
    ASSERT_EQ(token, golden_.greedy[step]) << "step " << step;
    if (step + 1 == golden_.greedy.size()) break;
    ASSERT_TRUE(model_->Forward({&token, 1}, cache, logits).ok());
    if (cache.length - 1 == last.position) {
      EXPECT_LE(MaxAbsDiff(logits, last.values), golden_.tolerance) << "decode step " << step + 1;
    }
  }
  EXPECT_EQ(generated, golden_.greedy);
  EXPECT_EQ(cache.length - 1, last.position);
}

// prompt + greedy[:-1] in one prefill (several 64-token chunks for some models).
TEST_P(GoldenModelTest, SequenceLogitsFromOnePrefill) {
  std::vector<int32_t> sequence = golden_.prompt;
  sequence.insert(sequence.end(), golden_.greedy.begin(), golden_.greedy.end() - 1);
  for (const PositionLogits& row : golden_.sequence_logits) {
    ASSERT_LT(row.position, static_cast<int64_t>(sequence.size()));
    EXPECT_LE(MaxAbsDiff(LogitsAt(*model_, sequence, row.position), row.values), golden_.tolerance);
  }
}

// The result does not depend on the thread count.
TEST_P(GoldenModelTest, SameLogitsWithOneThread) {
  std::unique_ptr<TransformerModel> single = LoadModel(config_, (kModels / GetParam()).string(), 1);
  ASSERT_NE(single, nullptr);
  int64_t last = golden_.prompt_logits.back().position;
  EXPECT_EQ(LogitsAt(*single, golden_.prompt, last), LogitsAt(*model_, golden_.prompt, last));
}

// The checkpoint rounded to BF16 and stored as BF16 gives exactly the logits of the same rounded
// values stored as F32: the BF16 storage path changes memory, never arithmetic.
TEST_P(GoldenModelTest, Bf16StorageEqualsF32OfRoundedWeights) {
  const SafetensorsWriter as_bf16 = golden::RoundedToBf16(GetParam(), DType::kBF16);
  const SafetensorsWriter as_f32 = golden::RoundedToBf16(GetParam(), DType::kF32);
  testing::TempDir bf16_dir, f32_dir;
  ASSERT_TRUE(as_bf16.WriteFile(bf16_dir.path() + "/model.safetensors").ok());
  ASSERT_TRUE(as_f32.WriteFile(f32_dir.path() + "/model.safetensors").ok());
  std::unique_ptr<TransformerModel> bf16 = LoadModel(config_, bf16_dir.path());
  std::unique_ptr<TransformerModel> f32 = LoadModel(config_, f32_dir.path());
  ASSERT_NE(bf16, nullptr);
  ASSERT_NE(f32, nullptr);
  EXPECT_EQ(bf16->decode_weight_bytes() * 2, f32->decode_weight_bytes());
  std::vector<int32_t> sequence = golden_.prompt;
  sequence.insert(sequence.end(), golden_.greedy.begin(), golden_.greedy.begin() + 8);
  for (int64_t position : {int64_t{0}, int64_t(golden_.prompt.size()) - 1, int64_t(sequence.size()) - 1}) {
    EXPECT_EQ(LogitsAt(*bf16, sequence, position), LogitsAt(*f32, sequence, position)) << position;
  }
  // Decode (one token, BF16 rows read directly) equals prefill (rows widened once).
  KvCache cache = bf16->NewCache();
  std::vector<float> logits(config_.vocab_size);
  ASSERT_TRUE(bf16->Forward(std::span(sequence).first(sequence.size() - 1), cache, logits).ok());
  ASSERT_TRUE(bf16->Forward(std::span(sequence).last(1), cache, logits).ok());
  EXPECT_EQ(logits, LogitsAt(*bf16, sequence, int64_t(sequence.size()) - 1));
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenModelTest, ::testing::Values("llama3", "gemma2", "phi3"),
                         [](const auto& info) { return info.param; });

// The error measure of the golden tests must not let a NaN through (std::max(x, NaN) is x).
TEST(GoldenModels, MaxAbsDiffIsNanOnceAnyDifferenceIs) {
  using V = std::vector<float>;
  const float nan = std::nanf("");
  EXPECT_EQ(MaxAbsDiff(V{1, 2, 3}, V{1, 2.5f, 3}), 0.5);
  EXPECT_TRUE(std::isnan(MaxAbsDiff(V{nan, 2, 3}, V{1, 2, 3})));
  EXPECT_TRUE(std::isnan(MaxAbsDiff(V{1, 2, nan}, V{1, 9, 3})));
  EXPECT_TRUE(std::isnan(MaxAbsDiff(V{nan, nan}, V{nan, nan})));
  EXPECT_FALSE(MaxAbsDiff(V{nan}, V{1}) <= 1e-3);  // what the tests assert
}

TEST(GoldenModels, EveryFixtureIsTested) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(kModels)) found.push_back(entry.path().filename());
  std::sort(found.begin(), found.end());
  std::vector<std::string> tested(std::begin(kModelNames), std::end(kModelNames));
  std::sort(tested.begin(), tested.end());
  EXPECT_EQ(found, tested);
}

// Each family feature is visible in the fixtures: turning it off moves the logits far past the
// tolerance, so the conformance tests above would catch a kernel that ignored it.
TEST(GoldenModels, EachFeatureMatters) {
  struct Case {
    std::string model;
    const char* what;
    std::function<void(ModelConfig&)> mutate;
  };
  std::vector<Case> cases = {
      {"gemma2", "attention softcap", [](ModelConfig& c) { c.attn_logit_softcapping = 0; }},
      {"gemma2", "final softcap", [](ModelConfig& c) { c.final_logit_softcapping = 0; }},
      {"gemma2", "query_pre_attn_scalar", [](ModelConfig& c) { c.query_pre_attn_scalar = c.head_dim; }},
      {"gemma2", "sliding window", [](ModelConfig& c) { c.sliding_window.reset(); }},
      {"gemma2", "window on every layer", [](ModelConfig& c) { c.sliding_layers.assign(c.num_hidden_layers, true); }},
      {"gemma2", "window one wider", [](ModelConfig& c) { *c.sliding_window += 1; }},
      {"gemma2", "silu", [](ModelConfig& c) { c.activation = Activation::kSilu; }},
      {"phi3", "sliding window", [](ModelConfig& c) { c.sliding_window.reset(); }},
      {"phi3", "window one narrower", [](ModelConfig& c) { *c.sliding_window -= 1; }},
      {"llama3", "llama3 rope scaling", [](ModelConfig& c) { c.rope_scaling.reset(); }},
  };
  for (const Case& c : cases) {
    Golden golden = ReadGolden(c.model);
    ModelConfig config = ReadConfig(c.model);
    c.mutate(config);
    std::unique_ptr<TransformerModel> model = LoadModel(config, (kModels / c.model).string());
    ASSERT_NE(model, nullptr);
    const PositionLogits& row = golden.prompt_logits.back();
    EXPECT_GT(MaxAbsDiff(LogitsAt(*model, golden.prompt, row.position), row.values), 100 * golden.tolerance)
        << c.model << ": " << c.what;
  }
}

}  // namespace
}  // namespace cai::inference
